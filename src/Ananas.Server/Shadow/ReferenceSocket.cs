using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver.Conductor;

namespace Ananas.Server.Shadow;

/// <summary>One question as the client asked it: DO and CD are asked of the reference as they came.</summary>
public readonly record struct MirroredQuestion(Question Question, bool DnssecOk, bool CheckingDisabled);

/// <summary>
/// Asks the reference resolver a batch of questions over one UDP socket, on the calling thread: every query is sent,
/// then the answers are read as they come until all are in or the timeout has passed. No task, no thread-pool hop
/// per question: live shadow mode runs this on its tap's thread, so a batch costs a few context switches in all
/// instead of several per question. Random IDs, and a connected socket on a random port (the kernel passes
/// datagrams from the reference alone), replaced after <see cref="UsesPerSocket"/> questions and after any batch
/// that left a question unanswered, so a late answer never meets the next batch.
/// </summary>
public sealed class ReferenceSocket(IPEndPoint reference, TimeSpan timeout) : IDisposable
{
    public const int UsesPerSocket = 10_000;

    private readonly byte[] _buffer = new byte[ushort.MaxValue];
    private readonly Dictionary<ushort, int> _byId = [];
    private byte[] _random = new byte[128];
    private Socket? _socket;
    private int _uses;

    /// <summary>Sockets opened so far (for tests).</summary>
    public int Opened { get; private set; }

    /// <summary>
    /// Sets <c>answers[i]</c> to the reference's reply to <c>questions[i]</c>, or null when none came in time (or the
    /// reference refused the connection). A truncated reply is returned as it is: the caller asks again over TCP.
    /// </summary>
    public void AskAll(ReadOnlySpan<MirroredQuestion> questions, Span<DnsMessage?> answers)
    {
        answers[..questions.Length].Clear();
        _byId.Clear();
        var socket = Current();
        bool refused = false;
        // The batch's IDs in one call to the generator (one per question cost a tenth of the mirror's CPU).
        if (_random.Length < 2 * questions.Length) _random = new byte[2 * questions.Length];
        RandomNumberGenerator.Fill(_random.AsSpan(0, 2 * questions.Length));
        for (int i = 0; i < questions.Length && !refused; i++)
        {
            ushort id = BinaryPrimitives.ReadUInt16LittleEndian(_random.AsSpan(2 * i));
            while (_byId.ContainsKey(id)) id = (ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue + 1);
            var (question, dnssecOk, cd) = questions[i];
            var query = DnsMessage.CreateQuery(id, question.Name, question.Type, question.Class, recursionDesired: true, dnssecOk: dnssecOk);
            if (cd) query.Set(HeaderFlags.CD);
            int length = query.WriteTo(_buffer);
            socket.Send(_buffer.AsSpan(0, length), SocketFlags.None, out var error);
            _uses++;
            if (error == SocketError.Success) _byId[id] = i;
            // An ICMP port unreachable for an earlier query is reported once, here or on a read: nothing listens there.
            refused = error == SocketError.ConnectionRefused;
        }
        if (!refused) Collect(socket, questions, answers);
        if (refused || _byId.Count > 0 || _uses >= UsesPerSocket) Close();
    }

    private void Collect(Socket socket, ReadOnlySpan<MirroredQuestion> questions, Span<DnsMessage?> answers)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (_byId.Count > 0)
        {
            int n = socket.Receive(_buffer, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                long left = deadline - Stopwatch.GetTimestamp();
                if (left <= 0) return;
                socket.Poll((int)Math.Min(int.MaxValue, left * 1_000_000 / Stopwatch.Frequency) + 1, SelectMode.SelectRead);
                continue;
            }
            if (error == SocketError.ConnectionRefused) return; // nothing listens there: no answer will come
            if (error != SocketError.Success || n < DnsHeader.Size) continue;
            if (!_byId.TryGetValue(BinaryPrimitives.ReadUInt16BigEndian(_buffer), out int i)) continue;
            if (Answers(_buffer.AsSpan(0, n), questions[i].Question) is not { } reply) continue; // not its answer: keep waiting
            answers[i] = reply;
            _byId.Remove(reply.Id);
        }
    }

    /// <summary>The reply when it is a response to <paramref name="question"/>; null for anything else.</summary>
    private static DnsMessage? Answers(ReadOnlySpan<byte> wire, Question question)
    {
        try
        {
            var reply = DnsMessage.Parse(wire);
            return reply.IsResponse && reply.Questions.Count == 1 && reply.Question.Type == question.Type
                && reply.Question.Class == question.Class && reply.Question.Name.Equals(question.Name) ? reply : null;
        }
        catch (DnsFormatException)
        {
            return null;
        }
    }

    private Socket Current()
    {
        if (_socket is { } socket) return socket;
        socket = UpstreamUdpSocket.Open(reference);
        socket.Blocking = false; // read until empty, then poll with what is left of the timeout
        _socket = socket;
        _uses = 0;
        Opened++;
        return socket;
    }

    private void Close()
    {
        _socket?.Dispose();
        _socket = null;
    }

    public void Dispose() => Close();
}

using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Authoritative.Tests;

/// <summary>
/// Asks a server many questions over UDP or TCP (one connection per worker, opened again after a failure), a few
/// at a time, each with a bounded wait and one retry.
/// </summary>
internal static class DnsExchange
{
    private const int Workers = 16;

    public static async Task<DnsMessage?[]> AskAllAsync(IPEndPoint server, IReadOnlyList<(string Name, RRType Type, bool Exists)> questions, bool tcp)
    {
        var answers = new DnsMessage?[questions.Count];
        int next = -1;
        var workers = Enumerable.Range(0, Workers).Select(async _ =>
        {
            using var udp = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            udp.Connect(server);
            Socket? stream = null;
            var buffer = new byte[65537];
            int k;
            while ((k = Interlocked.Increment(ref next)) < questions.Count)
            {
                var query = DnsMessage.CreateQuery((ushort)(k & 0xFFFF), DnsName.Parse(questions[k].Name), questions[k].Type, recursionDesired: false);
                var wire = query.ToArray();
                for (int attempt = 0; attempt < 2 && answers[k] is null; attempt++)
                {
                    if (!tcp)
                    {
                        answers[k] = await AskUdpAsync(udp, wire, buffer, query.Id);
                        continue;
                    }
                    stream ??= new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                    answers[k] = await AskTcpAsync(stream, server, wire, buffer);
                    if (answers[k] is null)
                    {
                        stream.Dispose();
                        stream = null;
                    }
                }
            }
            stream?.Dispose();
        });
        await Task.WhenAll(workers);
        return answers;
    }

    private static async Task<DnsMessage?> AskUdpAsync(Socket socket, byte[] query, byte[] buffer, ushort id)
    {
        await socket.SendAsync(query, SocketFlags.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n >= 2 && BinaryPrimitives.ReadUInt16BigEndian(buffer) == id) return DnsMessage.Parse(buffer.AsSpan(0, n));
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static async Task<DnsMessage?> AskTcpAsync(Socket socket, IPEndPoint server, byte[] query, byte[] buffer)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            if (!socket.Connected) await socket.ConnectAsync(server, timeout.Token);
            var framed = new byte[query.Length + 2];
            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
            query.CopyTo(framed, 2);
            await socket.SendAsync(framed, SocketFlags.None, timeout.Token);
            if (!await ReadExactlyAsync(socket, buffer.AsMemory(0, 2), timeout.Token)) return null;
            int length = BinaryPrimitives.ReadUInt16BigEndian(buffer);
            if (!await ReadExactlyAsync(socket, buffer.AsMemory(0, length), timeout.Token)) return null;
            return DnsMessage.Parse(buffer.AsSpan(0, length));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            return null;
        }
    }

    /// <summary>Fills <paramref name="destination"/> from a stream socket; false when the peer closed first.</summary>
    internal static async Task<bool> ReadExactlyAsync(Socket socket, Memory<byte> destination, CancellationToken cancellationToken)
    {
        int read = 0;
        while (read < destination.Length)
        {
            int n = await socket.ReceiveAsync(destination[read..], SocketFlags.None, cancellationToken);
            if (n == 0) return false;
            read += n;
        }
        return true;
    }
}

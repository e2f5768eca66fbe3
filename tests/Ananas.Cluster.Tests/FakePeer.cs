using System.Net;
using System.Net.Sockets;
using Ananas.Cluster.Protocol;

namespace Ananas.Cluster.Tests;

/// <summary>
/// A peer that completes the handshake and then misbehaves in a chosen way: <see cref="Mode.Silent"/> reads and
/// answers nothing (a paused or hung process); <see cref="Mode.AcknowledgeOnly"/> answers pings and acknowledges
/// every question as being resolved, but never answers one (an owner with a slow upstream); <see cref="Mode.ServFail"/>
/// answers every question SERVFAIL at once (an owner whose upstream is unreachable from where it stands);
/// <see cref="Mode.Bogus"/> answers SERVFAIL with EDE 6, DNSSEC Bogus (a validation verdict on the data).
/// </summary>
public sealed class FakePeer : IAsyncDisposable
{
    public enum Mode { Silent, AcknowledgeOnly, ServFail, Bogus }

    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private readonly Mode _mode;
    private readonly string _id;
    private readonly byte[] _secret;
    private int _queries;

    public FakePeer(string id, Mode mode, byte[]? secret = null, IPEndPoint? address = null)
    {
        _id = id;
        _mode = mode;
        _secret = secret ?? TestNode.Secret;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(address ?? new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(8);
        Address = (IPEndPoint)_listener.LocalEndPoint!;
        _accept = Task.Run(AcceptAsync);
    }

    public IPEndPoint Address { get; }

    public int Queries => Volatile.Read(ref _queries);

    /// <summary>While set, everything received is ignored (a process stopped with SIGSTOP).</summary>
    public bool Paused { get; set; }

    private async Task AcceptAsync()
    {
        var open = new List<PeerChannel>();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var socket = await _listener.AcceptAsync(_stop.Token);
                var (outcome, channel, _) = PeerHandshake.Accept(new NetworkStream(socket, true), _secret, _id, 1024, TimeSpan.FromSeconds(2));
                if (outcome != HandshakeOutcome.Accepted) continue;
                open.Add(channel!);
                new Thread(() => Serve(channel!)) { IsBackground = true }.Start();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        foreach (var channel in open) await channel.DisposeAsync();
    }

    private void Serve(PeerChannel channel)
    {
        while (channel.Read(Timeout.InfiniteTimeSpan) is { } message)
        {
            if (message.Type == PeerMessageType.Query) Interlocked.Increment(ref _queries);
            if (_mode == Mode.AcknowledgeOnly && !Paused)
            {
                if (message.Type == PeerMessageType.Ping) channel.TrySend(PeerMessageType.Pong, PeerMessageFlags.None, message.Body);
                if (message.Type == PeerMessageType.Query) channel.TrySend(PeerMessageType.Working, PeerMessageFlags.None, message.Body.Slice(17, 2));
            }
            if (_mode == Mode.Bogus && message.Type == PeerMessageType.Query)
            {
                var reply = Ananas.Dns.Messages.DnsMessage.Parse(message.Body[17..]).CreateResponse(Ananas.Dns.Rcode.ServFail);
                reply.Edns!.Options.Add(new Ananas.Dns.Messages.ExtendedErrorOption(Ananas.Dns.EdeCode.DnssecBogus, "test"));
                channel.TrySend(PeerMessageType.Answer, PeerMessageFlags.None, reply.ToArray());
            }
            if (_mode == Mode.ServFail && message.Type == PeerMessageType.Query)
            {
                var reply = message.Body[17..].ToArray();
                reply[2] |= 0x80; // QR
                reply[3] = (byte)((reply[3] & 0xF0) | 0x80 | 2); // RA, SERVFAIL
                channel.TrySend(PeerMessageType.Answer, PeerMessageFlags.None, reply);
            }
            message.Return();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accept;
    }
}

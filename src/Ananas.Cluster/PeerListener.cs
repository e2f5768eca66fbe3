using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ananas.Cluster.Protocol;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using Microsoft.Extensions.Logging;

namespace Ananas.Cluster;

/// <summary>
/// Takes peers' forwarded questions on <c>cluster.listen</c>: each connection is authenticated
/// (<see cref="PeerHandshake"/>; a wrong secret is refused and counted), then every question becomes a
/// <see cref="Frame"/> marked <see cref="Frame.FromPeer"/> (never forwarded again) with the original client's
/// address, and goes through the pipeline like a client's: answered from the cache on this thread, or resolved.
/// A question that must be resolved is acknowledged at once (<c>Working</c>), so the forwarder waits past its
/// budget only for an owner that is alive. Bounded: connections, questions in flight per connection, message size.
/// </summary>
internal sealed class PeerListener : IAsyncDisposable
{
    private readonly ClusterOptions _options;
    private readonly QueryPipeline _pipeline;
    private readonly ClusterMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<Socket> _connections = [];
    private Task? _accept;
    private int _open;

    public PeerListener(IPEndPoint address, ClusterOptions options, QueryPipeline pipeline, ClusterMetrics metrics, ILogger logger)
    {
        _options = options;
        _pipeline = pipeline;
        _metrics = metrics;
        _logger = logger;
        _socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            _socket.Bind(address);
            _socket.Listen(64);
        }
        catch (SocketException e)
        {
            _socket.Dispose();
            throw new Server.Listeners.ListenerBindException($"cluster.listen: cannot listen on {address}: {e.Message}", e);
        }
        Address = (IPEndPoint)_socket.LocalEndPoint!;
    }

    public IPEndPoint Address { get; }

    public void Start() => _accept = Task.Run(AcceptLoopAsync);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                if (_stop.IsCancellationRequested) return;
                continue;
            }
            if (Interlocked.Increment(ref _open) > _options.MaxConnections)
            {
                Interlocked.Decrement(ref _open);
                client.Dispose();
                continue;
            }
            client.NoDelay = true;
            lock (_connections) _connections.Add(client);
            new Thread(() => Serve(client)) { IsBackground = true, Name = "ananas-peer-in" }.Start();
        }
    }

    /// <summary>One peer's connection, on a thread of its own: the handshake, then its questions until it ends.</summary>
    private void Serve(Socket socket)
    {
        var remote = (IPEndPoint)socket.RemoteEndPoint!;
        var stream = new NetworkStream(socket, ownsSocket: true);
        PeerChannel? channel = null;
        try
        {
            var (outcome, opened, peerId) = PeerHandshake.Accept(stream, _options.Secret, _options.NodeId, _options.MaxInFlightPerPeer + 64, TimeSpan.FromSeconds(2));
            if (outcome != HandshakeOutcome.Accepted)
            {
                if (outcome == HandshakeOutcome.WrongSecret)
                {
                    Interlocked.Increment(ref _metrics.RefusedPeers);
                    _logger.LogWarning(ClusterEvents.PeerRefused, "refused a cluster connection from {Remote} (calling itself {Peer}): it does not hold the cluster secret", remote, peerId);
                }
                return;
            }
            channel = opened!;
            if (!_stop.IsCancellationRequested) ReadQuestions(channel, remote);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "serving cluster peer {Remote} failed", remote);
        }
        finally
        {
            if (channel is not null) channel.Dispose();
            else stream.Dispose();
            lock (_connections) _connections.Remove(socket);
            Interlocked.Decrement(ref _open);
        }
    }

    /// <summary>
    /// Reads the peer's questions and pings until the connection ends. A question is answered here, on this thread,
    /// when it is a cache hit: the answer is written back from here too, so a forwarded hit wakes only this thread.
    /// </summary>
    private void ReadQuestions(PeerChannel channel, IPEndPoint remote)
    {
        var sink = new PeerReplySink(channel, _metrics);
        var frame = Frame.CreateReusable(new byte[ushort.MaxValue], Transport.Tcp, sink, remote);
        frame.FromPeer = true;
        while (channel.Read(Timeout.InfiniteTimeSpan) is { } message)
        {
            try
            {
                switch (message.Type)
                {
                    case PeerMessageType.Ping when message.Body.Length == 8:
                        channel.TrySend(PeerMessageType.Pong, PeerMessageFlags.None, message.Body);
                        break;
                    case PeerMessageType.Query:
                        Take(channel, sink, frame, message);
                        break;
                }
            }
            finally
            {
                message.Return();
            }
        }
    }

    /// <summary>One forwarded question into the pipeline (a reused frame: the pipeline copies it if it must keep it).</summary>
    private void Take(PeerChannel channel, PeerReplySink sink, Frame frame, PeerMessage message)
    {
        var body = message.Body;
        if (body.Length < 17 + 12 || !TryReadClient(body[..17], out var client))
        {
            Interlocked.Increment(ref _metrics.PeerQueriesRefused);
            return;
        }
        var query = body[17..];
        if (sink.Outstanding >= _options.MaxInFlightPerPeer)
        {
            Interlocked.Increment(ref _metrics.PeerQueriesRefused);
            channel.TrySend(PeerMessageType.Unanswered, PeerMessageFlags.None, query[..2]);
            return;
        }
        query.CopyTo(frame.Buffer);
        frame.Length = query.Length;
        frame.Address = client;
        frame.ArrivalTimestamp = Stopwatch.GetTimestamp();
        sink.Begin();
        _pipeline.Handle(frame);
        if (!sink.EndInline()) channel.TrySend(PeerMessageType.Working, PeerMessageFlags.None, query[..2]);
    }

    /// <summary>The client address as the forwarder wrote it: family (4 or 6) and 16 octets.</summary>
    internal static bool TryReadClient(ReadOnlySpan<byte> bytes, out ClientAddress client)
    {
        client = default;
        if (bytes[0] == 4) client = new ClientAddress(0, BinaryPrimitives.ReadUInt32BigEndian(bytes[13..]), true, 0);
        else if (bytes[0] == 6) client = new ClientAddress(BinaryPrimitives.ReadUInt64BigEndian(bytes[1..]), BinaryPrimitives.ReadUInt64BigEndian(bytes[9..]), false, 0);
        else return false;
        return true;
    }

    internal static void WriteClient(ClientAddress client, Span<byte> bytes)
    {
        bytes[0] = client.IsIPv4 ? (byte)4 : (byte)6;
        BinaryPrimitives.WriteUInt64BigEndian(bytes[1..], client.IsIPv4 ? 0 : client.High);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[9..], client.IsIPv4 ? (uint)client.Low : client.Low);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        if (_accept is not null) await _accept.ConfigureAwait(false);
        // Shutting a connection down wakes its thread's read (its thread then closes it).
        lock (_connections)
        {
            foreach (var socket in _connections)
            {
                try
                {
                    socket.Shutdown(SocketShutdown.Both);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            }
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (Volatile.Read(ref _open) > 0 && DateTime.UtcNow < deadline) await Task.Delay(5).ConfigureAwait(false);
    }

    /// <summary>Sends the pipeline's replies back over the peer's connection (the DNS ID says which question).</summary>
    private sealed class PeerReplySink(PeerChannel channel, ClusterMetrics metrics) : IReplySink
    {
        private int _outstanding;
        private int _handlingThread = -1;
        private volatile bool _inline;

        public int Outstanding => Volatile.Read(ref _outstanding);

        public void Begin()
        {
            Interlocked.Increment(ref _outstanding);
            _inline = false;
            _handlingThread = Environment.CurrentManagedThreadId;
        }

        /// <summary>Whether the question was answered (or dropped) before <see cref="QueryPipeline.Handle"/> returned.</summary>
        public bool EndInline()
        {
            _handlingThread = -1;
            return _inline;
        }

        public int MaxReplySize(int clientUdpPayload) => ushort.MaxValue;

        public void Send(Frame frame, ReadOnlySpan<byte> reply)
        {
            Done();
            Interlocked.Increment(ref metrics.ServedForPeers);
            channel.TrySend(PeerMessageType.Answer, PeerMessageFlags.None, reply);
        }

        public void Drop(Frame frame)
        {
            Done();
            Interlocked.Increment(ref metrics.PeerQueriesRefused);
            if (frame.Length >= 2) channel.TrySend(PeerMessageType.Unanswered, PeerMessageFlags.None, frame.Message[..2]);
        }

        private void Done()
        {
            Interlocked.Decrement(ref _outstanding);
            if (_handlingThread == Environment.CurrentManagedThreadId) _inline = true;
        }

        public CancellationToken ClientGone => channel.Closed;
    }
}

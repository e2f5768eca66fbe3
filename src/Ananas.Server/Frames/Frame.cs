using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Ananas.Server.Frames;

/// <summary>
/// One query as it arrived, whatever the transport: the message bytes, who sent it (address, group), how and
/// when, and where the answer goes. Everything after the listener (pipeline, scheduler, phases, metrics) sees
/// only frames; only the <see cref="Sink"/> knows the transport's framing.
/// <para>
/// A datagram listener keeps one frame per receive loop and refills it for every packet (nothing allocated
/// per packet). A frame that must outlive the receive call (a cache miss) is <see cref="Detach"/>ed: copied
/// into a pooled buffer owned by the copy, returned to the pool on <see cref="Dispose"/>.
/// </para>
/// </summary>
public sealed class Frame : IDisposable
{
    private byte[] _buffer;
    private bool _pooled;
    private IPEndPoint? _endPoint;

    private Frame(byte[] buffer, bool pooled, Transport transport, IReplySink sink)
    {
        _buffer = buffer;
        _pooled = pooled;
        Transport = transport;
        Sink = sink;
    }

    /// <summary>A reusable frame for a receive loop, with a buffer of <paramref name="capacity"/> octets it owns.</summary>
    public static Frame CreateReusable(int capacity, Transport transport, IReplySink sink, AddressFamily family) =>
        new(GC.AllocateUninitializedArray<byte>(capacity, pinned: true), pooled: false, transport, sink)
        {
            Peer = new SocketAddress(family, family == AddressFamily.InterNetworkV6 ? 28 : 16),
        };

    /// <summary>
    /// A reusable frame for a stream connection (messages are read one at a time into <paramref name="buffer"/>,
    /// which the connection owns).
    /// </summary>
    public static Frame CreateReusable(byte[] buffer, Transport transport, IReplySink sink, IPEndPoint client) =>
        new(buffer, pooled: false, transport, sink)
        {
            _endPoint = client,
            Address = ClientAddress.From(client),
        };

    /// <summary>A frame holding a copy of <paramref name="message"/> in a pooled buffer (stream transports, tests).</summary>
    public static Frame Rent(ReadOnlySpan<byte> message, Transport transport, IReplySink sink, IPEndPoint client, ClientGroup group)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(message.Length, 1));
        message.CopyTo(buffer);
        return new Frame(buffer, pooled: true, transport, sink)
        {
            Length = message.Length,
            _endPoint = client,
            Address = ClientAddress.From(client),
            Group = group,
            ArrivalTimestamp = Stopwatch.GetTimestamp(),
        };
    }

    /// <summary>The whole receive buffer (listeners fill it, then set <see cref="Length"/>).</summary>
    public byte[] Buffer => _buffer;

    public int Length { get; set; }

    /// <summary>The DNS message as received (no length prefix).</summary>
    public ReadOnlySpan<byte> Message => _buffer.AsSpan(0, Length);

    public ReadOnlyMemory<byte> MessageMemory => _buffer.AsMemory(0, Length);

    /// <summary>The client's socket address, for datagram replies (null for stream transports).</summary>
    public SocketAddress? Peer { get; private set; }

    /// <summary>The client's address as a number (ACL checks and grouping without allocating).</summary>
    public ClientAddress Address { get; set; }

    /// <summary>The client's network for fair scheduling and shedding.</summary>
    public ClientGroup Group { get; set; }

    public Transport Transport { get; }

    /// <summary>When the frame arrived (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public long ArrivalTimestamp { get; set; }

    public IReplySink Sink { get; }

    /// <summary>
    /// The query came from a cluster peer that forwarded it here as its owner: it is answered from the cache or
    /// resolved, never forwarded again (the loop marker of docs/CLUSTER.md).
    /// </summary>
    public bool FromPeer { get; set; }

    /// <summary>
    /// The receive thread's share of the pipeline's counts, on a receive loop's reusable frame only (it is handled on
    /// that thread alone); null elsewhere, and never copied by <see cref="Detach"/>.
    /// </summary>
    internal Pipeline.PipelineCounters.ThreadShare? Counts { get; set; }

    /// <summary>
    /// Set when the query was offered to its cluster owner and must now be resolved here: by this
    /// <see cref="Stopwatch"/> timestamp (the query's timeout counts from the offer), and never offered again. 0: not offered.
    /// </summary>
    public long ResolveBy { get; set; }
    /// <summary>Tracing spans of this query (plugins' span_start/span_end), for its query-log line; null when none.</summary>
    public List<TraceSpan>? Spans { get; set; }

    /// <summary>The client's endpoint (allocated on first use: misses and logs only).</summary>
    public IPEndPoint ClientEndPoint => _endPoint ??= (IPEndPoint)new IPEndPoint(IPAddress.Any, 0).Create(Peer!);

    /// <summary>Whether this frame owns its buffer (and may be kept after the receive call).</summary>
    public bool IsDetached => _pooled;

    /// <summary>
    /// A frame that may be kept: this one if it already owns a pooled buffer, else a copy (message, peer
    /// address, metadata) into a pooled buffer. The reusable original stays with its receive loop.
    /// </summary>
    public Frame Detach()
    {
        if (_pooled) return this;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(Length, 1));
        Message.CopyTo(buffer);
        SocketAddress? peer = null;
        if (Peer is not null)
        {
            peer = new SocketAddress(Peer.Family, Peer.Size);
            Peer.Buffer.Span.CopyTo(peer.Buffer.Span);
        }
        return new Frame(buffer, pooled: true, Transport, Sink)
        {
            Length = Length,
            Peer = peer,
            Address = Address,
            Group = Group,
            ArrivalTimestamp = ArrivalTimestamp,
            FromPeer = FromPeer,
            ResolveBy = ResolveBy,
            Spans = Spans is { Count: > 0 } spans ? [.. spans] : null, // the original keeps (and clears) its own list
            _endPoint = _endPoint,
        };
    }

    /// <summary>Reset by a receive loop after it refilled <see cref="Peer"/> for a new packet.</summary>
    public void ResetEndPoint() => _endPoint = null;

    /// <summary>Returns a detached frame's buffer to the pool; a no-op for a receive loop's frame.</summary>
    public void Dispose()
    {
        if (!_pooled) return;
        _pooled = false;
        var buffer = _buffer;
        _buffer = [];
        Length = 0;
        Spans = null;
        ArrayPool<byte>.Shared.Return(buffer);
    }
}

/// <summary>One tracing span of a query: who opened it (a plugin), its name, and <see cref="Stopwatch"/> timestamps.</summary>
public readonly record struct TraceSpan(string Source, string Name, long Start, long End)
{
    /// <summary>Spans one query keeps (further ones are dropped): a bound on what guests make the server store.</summary>
    public const int MaxPerQuery = 32;
}

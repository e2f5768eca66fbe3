using System.Collections.Concurrent;
using System.Net;

namespace Ananas.Resolver.Conductor;

/// <summary>
/// Counters of the conductor, in total and per upstream address: plain longs updated with
/// <see cref="Interlocked"/>, for a Prometheus exporter to read (<c>ananas_upstream_*</c>).
/// </summary>
public sealed class ConductorMetrics(int maxTrackedUpstreams = 10_000)
{
    private readonly ConcurrentDictionary<IPAddress, UpstreamMetrics> _upstreams = new();

    /// <summary>All upstreams together.</summary>
    public UpstreamMetrics Total { get; } = new(IPAddress.None);

    /// <summary>Upstreams beyond the tracking limit, together.</summary>
    public UpstreamMetrics Other { get; } = new(IPAddress.Any);

    /// <summary>Requests answered from another request's in-flight query (no packet of their own).</summary>
    public long DedupHits => Interlocked.Read(ref _dedupHits);

    /// <summary>Requests refused because the in-flight table or one query's wait queue was full.</summary>
    public long DedupOverflows => Interlocked.Read(ref _dedupOverflows);

    private long _dedupHits;
    private long _dedupOverflows;

    internal void DedupHit(IPAddress server)
    {
        Interlocked.Increment(ref _dedupHits);
        Interlocked.Increment(ref For(server).DedupHitCount);
    }

    internal void DedupOverflow() => Interlocked.Increment(ref _dedupOverflows);

    /// <summary>The counters of one upstream (those beyond the limit share <see cref="Other"/>).</summary>
    public UpstreamMetrics For(IPAddress server)
    {
        if (_upstreams.TryGetValue(server, out var m)) return m;
        if (_upstreams.Count >= maxTrackedUpstreams) return Other;
        return _upstreams.GetOrAdd(server, static a => new UpstreamMetrics(a));
    }

    /// <summary>Every tracked upstream.</summary>
    public IReadOnlyList<UpstreamMetrics> Upstreams()
    {
        var list = new List<UpstreamMetrics>(_upstreams.Count);
        foreach (var pair in _upstreams) list.Add(pair.Value);
        return list;
    }

    internal void Count(IPAddress server, UpstreamEvent e)
    {
        Total.Add(e);
        For(server).Add(e);
    }

    internal void Rtt(IPAddress server, TimeSpan rtt)
    {
        Total.ObserveRtt(rtt);
        For(server).ObserveRtt(rtt);
    }
}

/// <summary>What a counter counts.</summary>
internal enum UpstreamEvent : byte
{
    Query,
    Response,
    Timeout,
    NetworkError,
    Malformed,
    TcpFallback,
    SpoofDrop,
    EdnsFallback,
    CaseMismatch,
    HeldDownSkip,
    TcpConnection,
    TlsConnection,
    TlsFailure,
}

/// <summary>The counters and RTT histogram of one upstream server.</summary>
public sealed class UpstreamMetrics(IPAddress address)
{
    /// <summary>Upper bounds of the RTT histogram buckets, in milliseconds (the last bucket is +Inf).</summary>
    public static readonly double[] RttBucketBoundsMs = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

    private readonly long[] _rttBuckets = new long[RttBucketBoundsMs.Length + 1];
    private long _rttSumTicks;

    internal long QueryCount, ResponseCount, TimeoutCount, NetworkErrorCount, MalformedCount, TcpFallbackCount,
        SpoofDropCount, EdnsFallbackCount, CaseMismatchCount, HeldDownSkipCount, TcpConnectionCount,
        TlsConnectionCount, TlsFailureCount, DedupHitCount;

    public IPAddress Address { get; } = address;

    /// <summary>Packets (UDP) or framed queries (TCP, TLS) sent.</summary>
    public long Queries => Interlocked.Read(ref QueryCount);

    public long Responses => Interlocked.Read(ref ResponseCount);

    public long Timeouts => Interlocked.Read(ref TimeoutCount);

    public long NetworkErrors => Interlocked.Read(ref NetworkErrorCount);

    /// <summary>Exchanges where only unparseable data came back.</summary>
    public long Malformed => Interlocked.Read(ref MalformedCount);

    /// <summary>Truncated UDP answers retried over TCP.</summary>
    public long TcpFallbacks => Interlocked.Read(ref TcpFallbackCount);

    /// <summary>Datagrams dropped because the source, ID or question did not match (possible spoofing).</summary>
    public long SpoofDrops => Interlocked.Read(ref SpoofDropCount);

    /// <summary>Queries retried without EDNS after FORMERR or NOTIMP.</summary>
    public long EdnsFallbacks => Interlocked.Read(ref EdnsFallbackCount);

    /// <summary>Answers dropped because the 0x20 letter case was not echoed.</summary>
    public long CaseMismatches => Interlocked.Read(ref CaseMismatchCount);

    /// <summary>Requests failed at once because the server was held down.</summary>
    public long HeldDownSkips => Interlocked.Read(ref HeldDownSkipCount);

    public long TcpConnections => Interlocked.Read(ref TcpConnectionCount);

    public long TlsConnections => Interlocked.Read(ref TlsConnectionCount);

    public long TlsFailures => Interlocked.Read(ref TlsFailureCount);

    public long DedupHits => Interlocked.Read(ref DedupHitCount);

    /// <summary>Count of RTT samples per bucket (not cumulative), the last being above every bound.</summary>
    public long[] RttBuckets()
    {
        var copy = new long[_rttBuckets.Length];
        for (int i = 0; i < copy.Length; i++) copy[i] = Interlocked.Read(ref _rttBuckets[i]);
        return copy;
    }

    public TimeSpan RttSum => TimeSpan.FromTicks(Interlocked.Read(ref _rttSumTicks));

    internal void ObserveRtt(TimeSpan rtt)
    {
        double ms = rtt.TotalMilliseconds;
        int i = 0;
        while (i < RttBucketBoundsMs.Length && ms > RttBucketBoundsMs[i]) i++;
        Interlocked.Increment(ref _rttBuckets[i]);
        Interlocked.Add(ref _rttSumTicks, rtt.Ticks);
    }

    internal void Add(UpstreamEvent e)
    {
        switch (e)
        {
            case UpstreamEvent.Query: Interlocked.Increment(ref QueryCount); break;
            case UpstreamEvent.Response: Interlocked.Increment(ref ResponseCount); break;
            case UpstreamEvent.Timeout: Interlocked.Increment(ref TimeoutCount); break;
            case UpstreamEvent.NetworkError: Interlocked.Increment(ref NetworkErrorCount); break;
            case UpstreamEvent.Malformed: Interlocked.Increment(ref MalformedCount); break;
            case UpstreamEvent.TcpFallback: Interlocked.Increment(ref TcpFallbackCount); break;
            case UpstreamEvent.SpoofDrop: Interlocked.Increment(ref SpoofDropCount); break;
            case UpstreamEvent.EdnsFallback: Interlocked.Increment(ref EdnsFallbackCount); break;
            case UpstreamEvent.CaseMismatch: Interlocked.Increment(ref CaseMismatchCount); break;
            case UpstreamEvent.HeldDownSkip: Interlocked.Increment(ref HeldDownSkipCount); break;
            case UpstreamEvent.TcpConnection: Interlocked.Increment(ref TcpConnectionCount); break;
            case UpstreamEvent.TlsConnection: Interlocked.Increment(ref TlsConnectionCount); break;
            case UpstreamEvent.TlsFailure: Interlocked.Increment(ref TlsFailureCount); break;
        }
    }
}

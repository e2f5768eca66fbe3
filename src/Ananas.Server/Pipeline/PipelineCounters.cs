namespace Ananas.Server.Pipeline;

/// <summary>What the pipeline has done, counted without locks (exported as metrics later).</summary>
public sealed class PipelineCounters
{
    internal long Frames;
    internal long CacheHits;
    internal long CacheMisses;
    internal long FormErr;
    internal long NotImp;
    internal long Refused;
    internal long Dropped;
    internal long Shed;
    internal long Truncated;
    internal long ServFail;
    internal long ClientGone;
    internal long CacheReferrals;

    // UDP response rate limiting and DNS Cookies.
    internal long RrlDropped;
    internal long RrlSlipped;
    internal long BadCookies;

    // Phase handlers (plugins): answers they gave, exceptions they threw, upstream sub-requests they refused.
    internal long PhaseAnswers;
    internal long PhaseFaults;
    internal long UpstreamRefused;

    /// <summary>Replies sent, by transport (4) and rcode (low 4 bits): <c>[transport * 16 + rcode]</c>.</summary>
    internal readonly long[] Responses = new long[4 * 16];

    /// <summary>Replies carrying each Extended DNS Error code (RFC 8914), by code; codes from 63 up share the last slot.</summary>
    internal readonly long[] Edes = new long[64];

    /// <summary>Time from arrival to the reply being handed to the sink, for cache hits.</summary>
    public LatencyHistogram HitLatency { get; } = new();

    /// <summary>The same for misses (resolved by the recursor).</summary>
    public LatencyHistogram MissLatency { get; } = new();

    /// <summary>Counts a reply by transport and rcode, read from its header (no allocation), in <paramref name="share"/> when given.</summary>
    internal void CountResponse(Frames.Transport transport, ReadOnlySpan<byte> reply, ThreadShare? share = null)
    {
        if (reply.Length < 4) return;
        int i = (int)transport * 16 + (reply[3] & 0x0F);
        if (share is null) Interlocked.Increment(ref Responses[i]);
        else share.Responses[i]++;
    }

    internal void CountFrame(ThreadShare? share)
    {
        if (share is null) Interlocked.Increment(ref Frames);
        else share.Frames++;
    }

    /// <summary>
    /// One receive thread's part of the counts every answer makes (frames, replies by rcode, hit latency), written by
    /// that thread alone with plain adds and summed in when read: an uncontended locked add still costs tens of cycles,
    /// and a hit made four. A receive loop takes one (<see cref="AddShare"/>) and hands it to its reusable frames only.
    /// </summary>
    internal sealed class ThreadShare(LatencyHistogram.Share hitLatency)
    {
        public long Frames;
        public readonly long[] Responses = new long[4 * 16];
        public readonly LatencyHistogram.Share HitLatency = hitLatency;
    }

    private readonly ThreadShares<ThreadShare> _shares = new();

    internal ThreadShare AddShare() => _shares.Add(new ThreadShare(HitLatency.AddShare()));

    /// <summary>Folds the share of a receive loop that stopped into the shared counts (a restarted loop takes a new one).</summary>
    internal void RemoveShare(ThreadShare share)
    {
        _shares.Remove(share, s =>
        {
            Interlocked.Add(ref Frames, s.Frames);
            for (int i = 0; i < Responses.Length; i++) Interlocked.Add(ref Responses[i], s.Responses[i]);
        });
        HitLatency.RemoveShare(share.HitLatency);
    }

    /// <summary>
    /// Counts the Extended DNS Errors of a reply the resolver or a phase handler built (a cache hit replays bytes
    /// already counted when they were built, and is not parsed for them).
    /// </summary>
    internal void CountEdes(Ananas.Dns.Messages.DnsMessage reply)
    {
        if (reply.Edns is not { } edns) return;
        foreach (var option in edns.Options)
            if (option is Ananas.Dns.Messages.ExtendedErrorOption ede) Interlocked.Increment(ref Edes[Math.Min((int)ede.InfoCode, Edes.Length - 1)]);
    }

    /// <summary>Replies that carried Extended DNS Error <paramref name="code"/> (63 counts every code from 63 up).</summary>
    public long EdeCount(int code) => Interlocked.Read(ref Edes[Math.Clamp(code, 0, Edes.Length - 1)]);

    public long ResponseCount(Frames.Transport transport, int rcode)
    {
        int i = (int)transport * 16 + (rcode & 0x0F);
        return _shares.Sum(ref Responses[i], s => Volatile.Read(ref s.Responses[i]));
    }

    public long FrameCount => _shares.Sum(ref Frames, s => Volatile.Read(ref s.Frames));
    public long CacheHitCount => Interlocked.Read(ref CacheHits);
    public long CacheMissCount => Interlocked.Read(ref CacheMisses);
    public long FormErrCount => Interlocked.Read(ref FormErr);
    public long NotImpCount => Interlocked.Read(ref NotImp);
    public long RefusedCount => Interlocked.Read(ref Refused);
    public long DroppedCount => Interlocked.Read(ref Dropped);
    public long ShedCount => Interlocked.Read(ref Shed);
    public long TruncatedCount => Interlocked.Read(ref Truncated);
    public long ServFailCount => Interlocked.Read(ref ServFail);
    public long ClientGoneCount => Interlocked.Read(ref ClientGone);
    public long CacheReferralCount => Interlocked.Read(ref CacheReferrals);
    public long PhaseAnswerCount => Interlocked.Read(ref PhaseAnswers);
    public long PhaseFaultCount => Interlocked.Read(ref PhaseFaults);
    public long UpstreamRefusedCount => Interlocked.Read(ref UpstreamRefused);
    public long RrlDroppedCount => Interlocked.Read(ref RrlDropped);
    public long RrlSlippedCount => Interlocked.Read(ref RrlSlipped);
    public long BadCookieCount => Interlocked.Read(ref BadCookies);
}

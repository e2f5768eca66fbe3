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

    public long FrameCount => Interlocked.Read(ref Frames);
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
}

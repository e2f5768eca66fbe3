namespace Ananas.Resolver.Iteration;

/// <summary>
/// Idle <see cref="Resolution"/>s of one recursor, each with its server queries, delegation finder, answer steps and
/// upstream budget: a client query's resolution is taken from here and given back when its response is built, so that
/// a cold query does not allocate these objects again. Thread-safe and lock-free: a slot is taken and filled with one
/// atomic exchange, so an instance is never handed to two queries. Bounded: resolutions given back to a full pool are
/// left to the collector.
/// </summary>
internal sealed class ResolutionPool(RecursorContext context)
{
    // Idle ones kept (about 0.5 KB each): a burst of queries ending together refills it for the next burst. Queries in
    // flight beyond it get new resolutions.
    private const int Kept = 64;

    private readonly Resolution?[] _idle = new Resolution?[Kept];

    private long _reused;

    /// <summary>Client queries that got an idle resolution rather than a new one.</summary>
    public long Reused => Interlocked.Read(ref _reused);

    /// <summary>A resolution started for this client query, reused when one is idle.</summary>
    public Resolution Rent(IExchanger exchanger, Request request, CancellationToken cancellation)
    {
        var idle = _idle;
        for (int i = 0; i < idle.Length; i++)
        {
            var resolution = Volatile.Read(ref idle[i]);
            if (resolution is null || Interlocked.CompareExchange(ref idle[i], null, resolution) != resolution) continue;
            resolution.Begin(exchanger, request, cancellation);
            Interlocked.Increment(ref _reused);
            return resolution;
        }
        var made = new Resolution(context);
        made.Begin(exchanger, request, cancellation);
        return made;
    }

    /// <summary>
    /// Gives a resolution back once nothing uses it any more: its work has ended (no continuation of it can run) and
    /// no one keeps it (a resolution that goes on in the background after a stale answer is never given back).
    /// </summary>
    public void Return(Resolution resolution)
    {
        resolution.End();
        var idle = _idle;
        for (int i = 0; i < idle.Length; i++)
            if (Volatile.Read(ref idle[i]) is null && Interlocked.CompareExchange(ref idle[i], resolution, null) is null) return;
    }
}

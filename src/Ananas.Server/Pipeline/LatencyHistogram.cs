using System.Diagnostics;

namespace Ananas.Server.Pipeline;

/// <summary>
/// A fixed-bucket latency histogram (Prometheus style, cumulative on export) updated with <see cref="Interlocked"/>,
/// or by a receive thread in its own <see cref="Share"/>: safe from every thread, nothing allocated per observation.
/// </summary>
public sealed class LatencyHistogram
{
    /// <summary>Upper bounds in seconds.</summary>
    public static readonly double[] Bounds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    /// <summary>
    /// Upper bounds for the zone pipeline's propagation stages (milliseconds to seconds), fine enough around the
    /// 50–500 ms that matter for a p99 read from the buckets.
    /// </summary>
    public static readonly double[] PropagationBounds =
        [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 10, 30];

    private static readonly long[] DefaultBoundTicks = Ticks(Bounds);
    private readonly long[] _boundTicks;
    private readonly long[] _counts;
    private long _sumTicks;

    /// <param name="bounds">Upper bounds in seconds, ascending (default: <see cref="Bounds"/>).</param>
    public LatencyHistogram(double[]? bounds = null)
    {
        BoundsSeconds = bounds ?? Bounds;
        _boundTicks = bounds is null ? DefaultBoundTicks : Ticks(bounds);
        _counts = new long[BoundsSeconds.Length + 1];
    }

    /// <summary>This histogram's upper bounds in seconds (the +Inf bucket follows them).</summary>
    public double[] BoundsSeconds { get; }

    private static long[] Ticks(double[] bounds) => Array.ConvertAll(bounds, b => (long)(b * Stopwatch.Frequency));

    /// <summary>Records the time since <paramref name="startTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>); ignores 0.</summary>
    public void Observe(long startTimestamp)
    {
        if (startTimestamp == 0) return;
        ObserveTicks(Stopwatch.GetTimestamp() - startTimestamp);
    }

    /// <summary>Records a duration measured elsewhere (another clock, another process).</summary>
    public void Observe(TimeSpan elapsed) => ObserveTicks((long)(elapsed.TotalSeconds * Stopwatch.Frequency));

    /// <summary>The same, counted in <paramref name="share"/> (null: the shared counts) by the one thread that writes it.</summary>
    internal void Observe(long startTimestamp, Share? share)
    {
        if (share is null)
        {
            Observe(startTimestamp);
            return;
        }
        if (startTimestamp == 0) return;
        long ticks = Math.Max(0, Stopwatch.GetTimestamp() - startTimestamp);
        share.Counts[Bucket(ticks)]++;
        share.SumTicks += ticks;
    }

    private void ObserveTicks(long ticks)
    {
        ticks = Math.Max(0, ticks);
        Interlocked.Increment(ref _counts[Bucket(ticks)]);
        Interlocked.Add(ref _sumTicks, ticks);
    }

    private int Bucket(long ticks)
    {
        int i = 0;
        while (i < _boundTicks.Length && ticks > _boundTicks[i]) i++;
        return i;
    }

    /// <summary>
    /// One thread's counts, written by that thread alone with plain adds and summed in when the histogram is read: an
    /// uncontended locked add still costs tens of cycles, and a receive thread observes every answer it sends.
    /// </summary>
    internal sealed class Share(int buckets)
    {
        public readonly long[] Counts = new long[buckets];
        public long SumTicks;
    }

    private readonly ThreadShares<Share> _shares = new();

    /// <summary>A share for one thread's observations (<see cref="Observe(long, Share?)"/>), until <see cref="RemoveShare"/>.</summary>
    internal Share AddShare() => _shares.Add(new Share(_counts.Length));

    /// <summary>Folds the share of a thread that no longer observes into the shared counts.</summary>
    internal void RemoveShare(Share share) => _shares.Remove(share, s =>
    {
        for (int i = 0; i < _counts.Length; i++) Interlocked.Add(ref _counts[i], s.Counts[i]);
        Interlocked.Add(ref _sumTicks, s.SumTicks);
    });

    /// <summary>Non-cumulative counts per bucket (the last is +Inf).</summary>
    public long[] Snapshot() => _shares.Read(shares =>
    {
        var counts = new long[_counts.Length];
        for (int i = 0; i < counts.Length; i++) counts[i] = Interlocked.Read(ref _counts[i]);
        foreach (var share in shares)
            for (int i = 0; i < counts.Length; i++) counts[i] += Volatile.Read(ref share.Counts[i]);
        return counts;
    });

    public double SumSeconds => (double)_shares.Sum(ref _sumTicks, s => Volatile.Read(ref s.SumTicks)) / Stopwatch.Frequency;
}

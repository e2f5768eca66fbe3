using System.Diagnostics;

namespace Ananas.Server.Pipeline;

/// <summary>
/// A fixed-bucket latency histogram (Prometheus style, cumulative on export) updated with <see cref="Interlocked"/>
/// only: safe from every receive thread, nothing allocated per observation.
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

    private void ObserveTicks(long ticks)
    {
        ticks = Math.Max(0, ticks);
        int i = 0;
        while (i < _boundTicks.Length && ticks > _boundTicks[i]) i++;
        Interlocked.Increment(ref _counts[i]);
        Interlocked.Add(ref _sumTicks, ticks);
    }

    /// <summary>Non-cumulative counts per bucket (the last is +Inf).</summary>
    public long[] Snapshot() => _counts.Select((_, i) => Interlocked.Read(ref _counts[i])).ToArray();

    public double SumSeconds => (double)Interlocked.Read(ref _sumTicks) / Stopwatch.Frequency;
}

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

    private static readonly long[] BoundTicks = Bounds.Select(b => (long)(b * Stopwatch.Frequency)).ToArray();
    private readonly long[] _counts = new long[Bounds.Length + 1];
    private long _sumTicks;

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
        while (i < BoundTicks.Length && ticks > BoundTicks[i]) i++;
        Interlocked.Increment(ref _counts[i]);
        Interlocked.Add(ref _sumTicks, ticks);
    }

    /// <summary>Non-cumulative counts per bucket (the last is +Inf).</summary>
    public long[] Snapshot() => _counts.Select((_, i) => Interlocked.Read(ref _counts[i])).ToArray();

    public double SumSeconds => (double)Interlocked.Read(ref _sumTicks) / Stopwatch.Frequency;
}

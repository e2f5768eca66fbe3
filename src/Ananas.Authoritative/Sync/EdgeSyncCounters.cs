using System.Globalization;
using System.Text;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;

namespace Ananas.Authoritative.Sync;

/// <summary>What an edge's sync did, for <c>/metrics</c> (<c>ananas_edge_*</c>). Updated without locks.</summary>
public sealed class EdgeSyncCounters
{
    public long AppliedSequence;
    public long Applied;
    public long Skipped;
    public long Rejected;
    public long Pending;
    public long Sessions;
    public long Gaps;
    public long Bootstraps;
    public int Connected;

    /// <summary>Wall time of one write transaction applying a batch of changes.</summary>
    public readonly LatencyHistogram ApplyLatency = new();

    /// <summary>From the change's commit in the database to its commit in this store (clocks of one host, or synchronized ones).</summary>
    public readonly LatencyHistogram ChangeDelay = new(LatencyHistogram.PropagationBounds);

    /// <summary>From the change's commit in the database to its arrival here from the stream (before it waits for a write transaction).</summary>
    public readonly LatencyHistogram ReceiveDelay = new(LatencyHistogram.PropagationBounds);

    /// <summary>Records a change committed at <paramref name="committedUnixMs"/> as applied now.</summary>
    public void ObserveDelay(long committedUnixMs) => ObserveSince(ChangeDelay, committedUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    /// <summary>Records in <paramref name="histogram"/> the time from <paramref name="committedUnixMs"/> to <paramref name="nowUnixMs"/> (nothing for an unknown commit time).</summary>
    public static void ObserveSince(LatencyHistogram histogram, long committedUnixMs, long nowUnixMs)
    {
        if (committedUnixMs <= 0) return;
        histogram.Observe(TimeSpan.FromMilliseconds(Math.Max(0, nowUnixMs - committedUnixMs)));
    }

    public void AppendPrometheus(StringBuilder sb)
    {
        Gauge(sb, "ananas_edge_applied_sequence", "The sequence of the last pipeline change applied to this edge's store.", Interlocked.Read(ref AppliedSequence));
        Gauge(sb, "ananas_edge_pending_changes", "Changes in the stream this edge has not applied yet (its lag in changes).", Interlocked.Read(ref Pending));
        Gauge(sb, "ananas_edge_sync_connected", "1 while the edge is connected to NATS and consuming.", Volatile.Read(ref Connected));
        Counter(sb, "ananas_edge_changes_applied_total", "Pipeline changes applied to the store.", Interlocked.Read(ref Applied));
        Counter(sb, "ananas_edge_changes_skipped_total", "Changes delivered again that the store already had (by sequence).", Interlocked.Read(ref Skipped));
        Counter(sb, "ananas_edge_changes_rejected_total", "Changes that could not be read or did not fit the store (logged, not applied).", Interlocked.Read(ref Rejected));
        Counter(sb, "ananas_edge_sync_sessions_total", "Consumer sessions started (the first, then one per reconnect or resync).", Interlocked.Read(ref Sessions));
        Counter(sb, "ananas_edge_sync_gaps_total", "Deliveries that skipped a stream message (the edge resynced from its applied sequence).", Interlocked.Read(ref Gaps));
        Counter(sb, "ananas_edge_bootstraps_total", "Snapshots loaded into an empty store.", Interlocked.Read(ref Bootstraps));
        sb.Append("# HELP ananas_edge_apply_seconds Time of one store write transaction applying a batch of changes.\n# TYPE ananas_edge_apply_seconds histogram\n");
        MetricsListener.HistogramSeries(sb, "ananas_edge_apply_seconds", "", ApplyLatency.Snapshot(), LatencyHistogram.Bounds, ApplyLatency.SumSeconds);
        sb.Append("# HELP ananas_edge_change_delay_seconds From a change's commit in the database to its commit in this store (the lag in time).\n# TYPE ananas_edge_change_delay_seconds histogram\n");
        MetricsListener.HistogramSeries(sb, "ananas_edge_change_delay_seconds", "", ChangeDelay.Snapshot(), ChangeDelay.BoundsSeconds, ChangeDelay.SumSeconds);
        sb.Append("# HELP ananas_edge_change_receive_delay_seconds From a change's commit in the database to its arrival at this edge from the stream.\n# TYPE ananas_edge_change_receive_delay_seconds histogram\n");
        MetricsListener.HistogramSeries(sb, "ananas_edge_change_receive_delay_seconds", "", ReceiveDelay.Snapshot(), ReceiveDelay.BoundsSeconds, ReceiveDelay.SumSeconds);
    }

    private static void Gauge(StringBuilder sb, string name, string help, long value) =>
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");

    private static void Counter(StringBuilder sb, string name, string help, long value) =>
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");
}

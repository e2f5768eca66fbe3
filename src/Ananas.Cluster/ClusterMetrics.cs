using System.Text;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;

namespace Ananas.Cluster;

/// <summary>Cache sharing's counters (updated with <see cref="Interlocked"/>), rendered with the server's metrics.</summary>
public sealed class ClusterMetrics
{
    public long Forwarded;
    public long Answered;
    public long Fallbacks;
    public long BudgetTimeouts;
    public long OwnerFailures;
    public long Spilled;
    public long ServedForPeers;
    public long PeerQueriesRefused;
    public long PeerFailures;
    public long RefusedPeers;
    public readonly LatencyHistogram ForwardLatency = new();
    public readonly LatencyHistogram PeerRtt = new();

    public void Append(StringBuilder sb, int members, int healthy)
    {
        MetricsListener.Counter(sb, "ananas_cluster_forwarded_total", "Local misses sent to the peer that owns the name.", Interlocked.Read(ref Forwarded));
        MetricsListener.Counter(sb, "ananas_cluster_forward_answered_total", "Forwarded questions the owner answered.", Interlocked.Read(ref Answered));
        MetricsListener.Counter(sb, "ananas_cluster_forward_fallbacks_total", "Forwarded questions resolved locally after all (owner declined, link failed).", Interlocked.Read(ref Fallbacks));
        MetricsListener.Counter(sb, "ananas_cluster_budget_timeouts_total", "Forwarded questions neither answered nor acknowledged within cluster.budget (resolved locally).", Interlocked.Read(ref BudgetTimeouts));
        MetricsListener.Counter(sb, "ananas_cluster_owner_failures_total", "Forwarded questions the owner answered SERVFAIL for a reason of its own (not a DNSSEC verdict): resolved locally.", Interlocked.Read(ref OwnerFailures));
        MetricsListener.Counter(sb, "ananas_cluster_spilled_total", "Questions whose first owner was over the load bound (sent to the next replica or resolved here).", Interlocked.Read(ref Spilled));
        MetricsListener.Counter(sb, "ananas_cluster_served_for_peers_total", "Questions peers forwarded here, answered.", Interlocked.Read(ref ServedForPeers));
        MetricsListener.Counter(sb, "ananas_cluster_peer_queries_refused_total", "Questions from peers turned away (over cluster.max-in-flight-per-peer, malformed).", Interlocked.Read(ref PeerQueriesRefused));
        MetricsListener.Counter(sb, "ananas_cluster_peer_failures_total", "Times a peer left the ring (connection lost, silent, unanswered questions).", Interlocked.Read(ref PeerFailures));
        MetricsListener.Counter(sb, "ananas_cluster_refused_peers_total", "Connections refused because the other side did not hold the cluster secret.", Interlocked.Read(ref RefusedPeers));
        sb.Append("# HELP ananas_cluster_members Nodes in the cluster (this one included), and the healthy ones in the ring.\n# TYPE ananas_cluster_members gauge\n");
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"ananas_cluster_members{{state=\"all\"}} {members}\nananas_cluster_members{{state=\"healthy\"}} {healthy}\n");
        sb.Append("# HELP ananas_cluster_forward_duration_seconds Time from forwarding a question to its owner's answer.\n# TYPE ananas_cluster_forward_duration_seconds histogram\n");
        MetricsListener.HistogramSeries(sb, "ananas_cluster_forward_duration_seconds", "", ForwardLatency.Snapshot(), LatencyHistogram.Bounds, ForwardLatency.SumSeconds);
        sb.Append("# HELP ananas_cluster_peer_rtt_seconds Round trip of the pings to peers.\n# TYPE ananas_cluster_peer_rtt_seconds histogram\n");
        MetricsListener.HistogramSeries(sb, "ananas_cluster_peer_rtt_seconds", "", PeerRtt.Snapshot(), LatencyHistogram.Bounds, PeerRtt.SumSeconds);
    }
}

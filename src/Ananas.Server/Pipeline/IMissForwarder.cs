using System.Text;
using Ananas.Dns.Messages;

namespace Ananas.Server.Pipeline;

/// <summary>
/// The cluster's seam in the miss path: before the recursor runs, the pipeline offers the query to the forwarder,
/// which may hand it to the peer node that owns it (docs/CLUSTER.md). Frames that came from a peer
/// (<see cref="Frames.Frame.FromPeer"/>) are never offered, so a question is forwarded at most once.
/// </summary>
public interface IMissForwarder
{
    /// <summary>
    /// The owner's answer to <paramref name="query"/> (the client's bytes, DO/CD/EDNS options as sent), or null to
    /// resolve here: this node owns the name, no owner is healthy, or the owner did not answer within the budget.
    /// Never throws.
    /// </summary>
    ValueTask<DnsMessage?> ForwardAsync(ReadOnlyMemory<byte> query, DnsMessage parsed, Frames.ClientAddress client, CancellationToken cancellationToken);

    /// <summary>Appends the forwarder's metrics in Prometheus text format.</summary>
    void AppendMetrics(StringBuilder sb);

    /// <summary>The ring and each peer's health, for the control API's <c>GET /cluster</c> (serialised as JSON).</summary>
    object Status();
}

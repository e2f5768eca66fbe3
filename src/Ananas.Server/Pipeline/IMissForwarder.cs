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
    /// Sends <paramref name="query"/> (the client's bytes, DO/CD/EDNS options as sent) to the name's owner now, on the
    /// caller's thread, and returns without waiting. True: sent, and exactly one call of
    /// <see cref="IForwardedMiss.Answered"/> follows, on the thread that learns the outcome (the peer link's reader for
    /// an answer). False: resolve here (this node owns the name, no owner is healthy or under its load bound).
    /// <paramref name="deadline"/> (a <see cref="System.Diagnostics.Stopwatch"/> timestamp) is the query's timeout: an
    /// owner still resolving then is given up. Never throws.
    /// </summary>
    bool TryForward(ReadOnlySpan<byte> query, DnsMessage parsed, Frames.ClientAddress client, long deadline, IForwardedMiss miss);

    /// <summary>Appends the forwarder's metrics in Prometheus text format.</summary>
    void AppendMetrics(StringBuilder sb);

    /// <summary>The ring and each peer's health, for the control API's <c>GET /cluster</c> (serialised as JSON).</summary>
    object Status();
}

/// <summary>A query the forwarder sent to its owner, waiting for the outcome.</summary>
public interface IForwardedMiss
{
    /// <summary>
    /// The owner's answer (its ID already the client's), or null: resolve here (the owner did not answer within the
    /// budget, refused, failed on its own, or its link was lost). Runs on the thread that learned it; must not block.
    /// </summary>
    void Answered(DnsMessage? answer);
}

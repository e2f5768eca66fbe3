using Ananas.Server.Configuration;

namespace Ananas.Server.Hosting;

/// <summary>
/// Which configuration keys differ between two <see cref="ServerConfig"/>s, and which of them a running server
/// can apply live. Restart-only keys are the ones built into long-lived objects: the cache's byte budget (its
/// shards are sized at construction), the socket set-up of existing listeners, the TLS certificate, and the
/// metrics and control endpoints.
/// </summary>
public static class ConfigChanges
{
    private sealed record Key(string Name, Func<ServerConfig, object> Value, Action<ServerConfig, ServerConfig>? KeepRunning = null)
    {
        public bool Live => KeepRunning is null;
    }

    private static string List<T>(IEnumerable<T> items) => string.Join(", ", items);

    private static readonly Key[] Keys =
    [
        new("listen", c => List(c.Listen)),
        new("root-hints", c => c.RootHints),
        new("cache.size", c => c.CacheSizeBytes, (from, to) => to.CacheSizeBytes = from.CacheSizeBytes),
        new("access.allow", c => List(c.Allow)),
        new("resolver.qname-minimisation", c => c.QnameMinimisation),
        new("resolver.ipv6", c => c.IPv6),
        new("resolver.query-localhost", c => c.QueryLocalhost),
        new("resolver.query-timeout", c => c.QueryTimeout),
        new("resolver.local-zones", c => List(c.LocalZones)),
        new("resolver.case-randomisation", c => c.CaseRandomisation),
        new("resolver.upstream-timeout", c => c.UpstreamTimeout, (from, to) => to.UpstreamTimeout = from.UpstreamTimeout),
        new("dnssec.validation", c => c.DnssecValidation),
        new("dnssec.trust-anchor", c => c.TrustAnchorFile),
        new("dnssec.negative-trust-anchors", c => List(c.NegativeTrustAnchors)),
        new("udp.max-payload", c => c.UdpMaxPayload, (from, to) => to.UdpMaxPayload = from.UdpMaxPayload),
        new("udp.sockets", c => c.UdpSockets, (from, to) => to.UdpSockets = from.UdpSockets),
        new("udp.threads-per-socket", c => c.UdpThreadsPerSocket, (from, to) => to.UdpThreadsPerSocket = from.UdpThreadsPerSocket),
        new("udp.batch-size", c => c.UdpBatchSize, (from, to) => to.UdpBatchSize = from.UdpBatchSize),
        new("tcp.idle-timeout", c => c.TcpIdleTimeout, (from, to) => to.TcpIdleTimeout = from.TcpIdleTimeout),
        new("tcp.max-connections", c => c.TcpMaxConnections, (from, to) => to.TcpMaxConnections = from.TcpMaxConnections),
        new("tcp.max-connections-per-client", c => c.TcpMaxConnectionsPerClient, (from, to) => to.TcpMaxConnectionsPerClient = from.TcpMaxConnectionsPerClient),
        new("tcp.max-outstanding-per-connection", c => c.TcpMaxOutstanding, (from, to) => to.TcpMaxOutstanding = from.TcpMaxOutstanding),
        new("proxy.trusted-sources", c => List(c.ProxyTrustedSources), (from, to) => to.ProxyTrustedSources = [.. from.ProxyTrustedSources]),
        new("tls.certificate", c => c.TlsCertificate, (from, to) => to.TlsCertificate = from.TlsCertificate),
        new("tls.key", c => c.TlsKey, (from, to) => to.TlsKey = from.TlsKey),
        new("metrics.listen", c => c.MetricsListen, (from, to) => to.MetricsListen = from.MetricsListen),
        new("control.listen", c => c.ControlListen, (from, to) => to.ControlListen = from.ControlListen),
        new("scheduler.group-prefix-v4", c => c.GroupPrefixV4),
        new("scheduler.group-prefix-v6", c => c.GroupPrefixV6),
        new("scheduler.max-in-flight", c => c.MaxInFlight),
        new("scheduler.max-in-flight-per-group", c => c.MaxInFlightPerGroup),
        new("scheduler.max-queued", c => c.MaxQueued),
        new("scheduler.max-queued-per-group", c => c.MaxQueuedPerGroup),
        new("scheduler.shed", c => c.Shed),
        new("log.level", c => c.LogLevel),
        new("log.query-log", c => c.QueryLog, (from, to) => to.QueryLog = from.QueryLog),
    ];

    /// <summary>The keys whose values differ, in file order, split into those applied live and those needing a restart.</summary>
    public static (List<string> Live, List<string> RestartNeeded) Compare(ServerConfig running, ServerConfig next)
    {
        var live = new List<string>();
        var restart = new List<string>();
        foreach (var key in Keys)
        {
            if (Equals(key.Value(running), key.Value(next))) continue;
            (key.Live ? live : restart).Add(key.Name);
        }
        return (live, restart);
    }

    /// <summary>What actually runs after a reload: <paramref name="next"/>, with the restart-only keys kept from <paramref name="running"/>.</summary>
    public static ServerConfig Effective(ServerConfig running, ServerConfig next)
    {
        var effective = next.Copy();
        foreach (var key in Keys) key.KeepRunning?.Invoke(running, effective);
        return effective;
    }

    /// <summary>Whether the recursor must be rebuilt (its options are immutable; caches are kept).</summary>
    public static bool AffectsRecursor(IEnumerable<string> keys) =>
        keys.Any(k => k is "root-hints" || k.StartsWith("resolver.", StringComparison.Ordinal) || k.StartsWith("dnssec.", StringComparison.Ordinal));
}

using Ananas.Server.Scheduling;
using Microsoft.Extensions.Logging;

namespace Ananas.Server.Configuration;

/// <summary>
/// Everything <c>ananas serve</c> can be told. Built from the embedded <c>defaults.toml</c>, then the file given
/// with <c>--config</c>, then command-line flags; validated at each step (<see cref="ConfigLoader"/>).
/// </summary>
public sealed record ServerConfig
{
    public List<ListenAddress> Listen { get; set; } = [];
    public string RootHints { get; set; } = "";
    public long CacheSizeBytes { get; set; }
    public List<string> Allow { get; set; } = [];
    /// <summary>Clients whose queries without RD may be answered with a referral from the cache (cache snooping).</summary>
    public List<string> Snoop { get; set; } = [];
    public bool QnameMinimisation { get; set; }
    public bool IPv6 { get; set; }
    /// <summary>Query name servers at loopback addresses learnt from referrals (off: Unbound's do-not-query-localhost).</summary>
    public bool QueryLocalhost { get; set; }
    public TimeSpan QueryTimeout { get; set; }
    /// <summary>The longest start-up warm-up (<see cref="WarmUp.StartupWarmUp"/>); zero: none.</summary>
    public TimeSpan WarmUpBudget { get; set; }
    public TimeSpan UpstreamTimeout { get; set; }
    /// <summary>Special-use zones answered locally (a subset of <see cref="Resolver.LocalZones.Supported"/>).</summary>
    public List<string> LocalZones { get; set; } = [];
    /// <summary>DNSSEC validation (RFC 4035 §5); on by default, from <see cref="TrustAnchorFile"/>.</summary>
    public bool DnssecValidation { get; set; }
    /// <summary>DS or DNSKEY records to start validation from; empty: the built-in root KSKs (IANA).</summary>
    public string TrustAnchorFile { get; set; } = "";
    /// <summary>Names at and below which validation is off (RFC 7646), for a zone known to be broken.</summary>
    public List<string> NegativeTrustAnchors { get; set; } = [];
    public int UdpMaxPayload { get; set; }
    public int UdpSockets { get; set; }
    public int UdpThreadsPerSocket { get; set; }
    public int UdpBatchSize { get; set; }
    public TimeSpan TcpIdleTimeout { get; set; }
    public int TcpMaxConnections { get; set; }
    public int TcpMaxConnectionsPerClient { get; set; }
    public int TcpMaxOutstanding { get; set; }
    /// <summary>Answer bytes queued for one TCP/DoT connection and not yet written; reading pauses beyond it.</summary>
    public long TcpMaxQueuedBytes { get; set; }
    /// <summary>Networks whose PROXY v2 headers are believed, on listeners marked <c>?proxy=v2</c>.</summary>
    public List<string> ProxyTrustedSources { get; set; } = [];
    /// <summary>PEM certificate (chain) for DoT and DoH; empty generates a self-signed one at startup.</summary>
    public string TlsCertificate { get; set; } = "";
    /// <summary>PEM private key for <see cref="TlsCertificate"/> (empty: the key is in the certificate file).</summary>
    public string TlsKey { get; set; } = "";
    /// <summary>Prometheus /metrics endpoint, <c>http://ADDR:PORT</c>; empty turns it off.</summary>
    public string MetricsListen { get; set; } = "";
    /// <summary>Control API (cache purge, stats, status), <c>http://ADDR:PORT</c>; empty turns it off.</summary>
    public string ControlListen { get; set; } = "";
    /// <summary>The control API's bearer token file (created 0600 at first start); empty: <see cref="Listeners.ControlToken.DefaultPath"/>.</summary>
    public string ControlTokenFile { get; set; } = "";
    public int GroupPrefixV4 { get; set; }
    public int GroupPrefixV6 { get; set; }
    public int MaxInFlight { get; set; }
    public int MaxInFlightPerGroup { get; set; }
    public int MaxQueued { get; set; }
    public int MaxQueuedPerGroup { get; set; }
    public int Runners { get; set; }
    public ShedAction Shed { get; set; }

    // --- Response rate limiting and DNS Cookies on UDP (docs/SECURITY.md) ---
    public bool RrlEnabled { get; set; }
    public int RrlResponsesPerSecond { get; set; }
    public int RrlNxdomainsPerSecond { get; set; }
    public int RrlErrorsPerSecond { get; set; }
    public int RrlSlip { get; set; }
    public int RrlPrefixV4 { get; set; }
    public int RrlPrefixV6 { get; set; }
    public int RrlTableSize { get; set; }
    /// <summary>Client networks never rate limited.</summary>
    public List<string> RrlExempt { get; set; } = [];
    public bool CookiesEnabled { get; set; }
    /// <summary>The RFC 9018 server secret, 32 hex digits, shared by an anycast set; empty: random, rotated every <see cref="CookieRotation"/>.</summary>
    public string CookieSecret { get; set; } = "";
    /// <summary>The secret before the last manual rotation, still accepted.</summary>
    public string CookiePreviousSecret { get; set; } = "";
    public TimeSpan CookieRotation { get; set; }
    public LogLevel LogLevel { get; set; }
    /// <summary>Query log: a file path, <c>stdout</c>, or empty for none.</summary>
    public string QueryLog { get; set; } = "";

    /// <summary>Live shadow mode: the reference resolver (ADDR[:PORT]) a sample of questions is also asked of; empty: off.</summary>
    public string ShadowReference { get; set; } = "";
    /// <summary>Share of answered questions mirrored to <see cref="ShadowReference"/>.</summary>
    public double ShadowSample { get; set; }
    public TimeSpan ShadowTimeout { get; set; }
    /// <summary>Share of replies the console's top names (and clients) are counted from.</summary>
    public double ConsoleTopSample { get; set; }
    /// <summary>The console lists top clients (off by default: addresses are personal data).</summary>
    public bool ConsoleTopClients { get; set; }

    /// <summary>This server's name on /help (empty: the host name).</summary>
    public string NodeId { get; set; } = "";
    /// <summary>The cluster it belongs to, shown on /help (empty: none).</summary>
    public string ClusterId { get; set; } = "";
    /// <summary>Forward zones (<c>[[forward]]</c>), in file order.</summary>
    public List<ZoneRouteConfig> Forwards { get; set; } = [];
    /// <summary>Stub zones (<c>[[stub]]</c>), in file order.</summary>
    public List<ZoneRouteConfig> Stubs { get; set; } = [];
    /// <summary>Serve-stale (RFC 8767) and its timers.</summary>
    public bool ServeStale { get; set; }
    public TimeSpan ServeStaleMax { get; set; }
    public TimeSpan ServeStaleClientTimeout { get; set; }
    public int ServeStaleReplyTtl { get; set; }
    public TimeSpan ServeStaleFailureRecheck { get; set; }
    public bool Prefetch { get; set; }
    /// <summary>Prefetches and stale-answer refreshes running at once; more are skipped (the cached answer still serves).</summary>
    public int MaxBackgroundRefreshes { get; set; }
    /// <summary>Bytes for the questions whose prefetch failed and is held off.</summary>
    public long PrefetchHoldOffBytes { get; set; }
    /// <summary>Root priming (RFC 8109).</summary>
    public bool RootPriming { get; set; }
    /// <summary>0x20: random letter case in upstream questions, echoed exactly.</summary>
    public bool QnameCaseRandomisation { get; set; }
    public TimeSpan MinTtl { get; set; }
    public TimeSpan MaxTtl { get; set; }
    public TimeSpan MaxNegativeTtl { get; set; }
    /// <summary>RFC 9156 §2: probe the full name too, so only its own zone's servers see the QTYPE.</summary>
    public bool MinimiseFullName { get; set; }
    public bool IPv4 { get; set; }
    public bool HardenGlue { get; set; }
    public bool ScrubPromiscuous { get; set; }
    /// <summary>Records kept of an upstream NS RRset; 0 keeps them all.</summary>
    public int MaxNsRecords { get; set; }
    /// <summary>RFC 8198 answers from cached secure NSEC records.</summary>
    public bool AggressiveNsec { get; set; }
    public TimeSpan FailureCacheTtl { get; set; }
    public TimeSpan BogusCacheTtl { get; set; }
    public TimeSpan LameHoldDown { get; set; }
    /// <summary>PEM file of certificates DoT upstreams must chain to; empty: the system's trust store.</summary>
    public string TlsCertBundle { get; set; } = "";

    // --- Cache sharing ([cluster], docs/CLUSTER.md) ---
    public string ClusterNodeId { get; set; } = "";
    public string ClusterListen { get; set; } = "";
    public List<ClusterPeerConfig> ClusterPeers { get; set; } = [];
    /// <summary>64 hex digits (32 octets) or empty.</summary>
    public string ClusterSecret { get; set; } = "";
    public int ClusterReplicas { get; set; }
    /// <summary>Bounded load, percent of the mean in-flight share.</summary>
    public int ClusterLoadBound { get; set; }
    public TimeSpan ClusterBudget { get; set; }
    public TimeSpan ClusterProbeInterval { get; set; }
    public int ClusterMaxInFlightPerPeer { get; set; }
    public int ClusterMaxConnections { get; set; }
    public string ClusterPublicSuffixList { get; set; } = "";
    public string ClusterNatsUrl { get; set; } = "";
    public string ClusterNatsBucket { get; set; } = "";
    public TimeSpan ClusterLease { get; set; }
    /// <summary>PEM certificates plugins' HTTPS requests must chain to instead of the system's trust store; empty: the system's.</summary>
    public string PluginTlsCertBundle { get; set; } = "";

    // --- Authoritative role ([authoritative], docs/AUTHORITATIVE.md) ---
    /// <summary>The edge store's directory; when set, <c>ananas serve</c> answers from it instead of resolving.</summary>
    public string AuthoritativeStore { get; set; } = "";
    /// <summary>CH TXT id.server / hostname.bind answer; empty refuses.</summary>
    public string AuthoritativeIdentity { get; set; } = "";
    /// <summary>CH TXT version.bind / version.server answer; empty refuses.</summary>
    public string AuthoritativeVersion { get; set; } = "";
    /// <summary>NATS server (nats://HOST:PORT) whose change stream this edge follows; empty: the store is written by others.</summary>
    public string AuthoritativeSync { get; set; } = "";
    /// <summary>This edge's durable consumer name; empty: the host name.</summary>
    public string AuthoritativeEdgeId { get; set; } = "";
    /// <summary>The pipeline API (http://HOST:PORT) whose /edge/snapshot an empty store loads first.</summary>
    public string AuthoritativeSnapshotApi { get; set; } = "";
    /// <summary>An API token valid for all zones, for the snapshot.</summary>
    public string AuthoritativeSnapshotToken { get; set; } = "";
    /// <summary>Online signing of zones with keys in the store (docs/AUTHORITATIVE.md, "Online signing").</summary>
    public bool AuthoritativeSigning { get; set; }
    public TimeSpan SignatureValidity { get; set; }
    public TimeSpan SignatureInceptionOffset { get; set; }
    public TimeSpan SignatureJitter { get; set; }
    public int SignatureCacheSize { get; set; }
    /// <summary>Slots of the authoritative reply cache (512 octets each); 0: off.</summary>
    public int ReplyCacheSize { get; set; }
    public TimeSpan DnskeyTtl { get; set; }
    /// <summary>Networks whose AXFR/IXFR requests are served (RFC 5936); empty: nobody.</summary>
    public List<string> AuthoritativeAllowTransfer { get; set; } = [];
    /// <summary>Secondaries (ADDR[:PORT]) sent NOTIFY when a zone's serial changes (RFC 1996).</summary>
    public List<string> AuthoritativeNotify { get; set; } = [];

    // --- Zone pipeline ([api], docs/PIPELINE.md) ---
    /// <summary><c>http://ADDR:PORT</c> of <c>ananas api serve</c>.</summary>
    public string ApiListen { get; set; } = "";
    /// <summary>Empty (SQLite in the state directory), <c>sqlite:PATH</c> or <c>postgresql:CONNECTION-STRING</c>.</summary>
    public string ApiDatabase { get; set; } = "";
    /// <summary>The local edge store changes are applied to when no NATS server is set.</summary>
    public string ApiEdgeStore { get; set; } = "";
    /// <summary><c>nats://HOST:PORT</c> of the distributed log; empty: the local edge store.</summary>
    public string ApiNats { get; set; } = "";
    public long ApiMaxBodyBytes { get; set; }
    public int ApiMaxRecordsPerZone { get; set; }
    public TimeSpan ApiPollInterval { get; set; }
    /// <summary>Published outbox entries older than this are removed.</summary>
    public TimeSpan ApiOutboxRetention { get; set; }
    /// <summary>How long the API trusts a token it looked up; zero: it asks the database on every request.</summary>
    public TimeSpan ApiTokenCache { get; set; }

    // --- Plugins ([[plugin]], docs/plugins.md) ---
    /// <summary>WebAssembly plugins, in the order their phases run.</summary>
    public List<PluginConfig> Plugins { get; set; } = [];

    /// <summary>A deep copy (lists included), so that applying a file never changes the defaults.</summary>
    public ServerConfig Copy() => this with { Listen = [.. Listen], Allow = [.. Allow], Snoop = [.. Snoop], NegativeTrustAnchors = [.. NegativeTrustAnchors], LocalZones = [.. LocalZones], ProxyTrustedSources = [.. ProxyTrustedSources], RrlExempt = [.. RrlExempt],
        AuthoritativeAllowTransfer = [.. AuthoritativeAllowTransfer], AuthoritativeNotify = [.. AuthoritativeNotify],
        Forwards = [.. Forwards], Stubs = [.. Stubs], ClusterPeers = [.. ClusterPeers], Plugins = Plugins.Select(p => p.Copy()).ToList() };
}

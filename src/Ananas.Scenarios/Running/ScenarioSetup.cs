using System.Net;
using Ananas.Dns;
using Ananas.Scenarios.Model;

namespace Ananas.Scenarios.Running;

/// <summary>A zone served by fixed addresses: a root hint, a stub zone or a forward zone.</summary>
public sealed record ZoneServers(DnsName Zone, IReadOnlyList<IPAddress> Addresses, IReadOnlyList<DnsName> Names)
{
    /// <summary>Fall back to iteration when the zone's servers fail (unbound <c>forward-first</c>, <c>stub-first</c>).</summary>
    public bool First { get; init; }

    /// <summary>Forward zones: TCP only (unbound <c>forward-tcp-upstream</c>).</summary>
    public bool Tcp { get; init; }
}

/// <summary>Serve-stale settings (unbound <c>serve-expired*</c>).</summary>
public sealed record ServeExpiredSettings(bool Enabled, uint? Ttl, bool TtlReset, uint? ReplyTtl, uint? ClientTimeoutMs);

/// <summary>
/// Everything a resolver under test needs from a scenario's config, in resolver terms. Anything not modelled
/// here is in <see cref="RawConfig"/>.
/// </summary>
public sealed class ScenarioSetup
{
    public required ScenarioDialect Dialect { get; init; }

    /// <summary>Root hints: the zone is the root; names are the hint names (deckard <c>stub-name</c>), possibly empty.</summary>
    public required ZoneServers RootHints { get; init; }

    /// <summary>Stub zones below the root (unbound <c>stub-zone:</c> with a name other than ".").</summary>
    public IReadOnlyList<ZoneServers> StubZones { get; init; } = [];

    /// <summary>Forward zones (deckard <c>forward-addr</c> forwards "."; unbound <c>forward-zone:</c>).</summary>
    public IReadOnlyList<ZoneServers> ForwardZones { get; init; } = [];

    public bool QueryMinimisation { get; init; } = true;

    public bool DoIp4 { get; init; } = true;

    public bool DoIp6 { get; init; } = true;

    /// <summary>Never query loopback addresses, except those in <see cref="AlwaysAllowed"/>.</summary>
    public bool DoNotQueryLocalhost { get; init; } = true;

    /// <summary>The configured stub/forward addresses: always allowed, even on loopback (FORMAT.md §1.2 gotcha).</summary>
    public IReadOnlyList<IPAddress> AlwaysAllowed { get; init; } = [];

    public bool HardenGlue { get; init; } = true;

    /// <summary>Drop the NS RRset from positive answers' authority sections (unbound <c>iter-scrub-promiscuous</c>, default yes).</summary>
    public bool ScrubPromiscuous { get; init; } = true;

    /// <summary>Unbound <c>private-address</c> prefixes, scrubbed from upstream responses.</summary>
    public IReadOnlyList<System.Net.IPNetwork> PrivateAddresses { get; init; } = [];

    /// <summary>Unbound <c>private-domain</c> names, exempt from <see cref="PrivateAddresses"/>.</summary>
    public IReadOnlyList<DnsName> PrivateDomains { get; init; } = [];

    /// <summary>Unbound <c>access-control: NETBLOCK allow_snoop</c>: clients whose queries without RD get referrals from the cache.</summary>
    public IReadOnlyList<System.Net.IPNetwork> SnoopNetworks { get; init; } = [];

    /// <summary>Records kept per NS RRset (unbound <c>iter-scrub-ns</c>, default 20).</summary>
    public int MaxNsRecords { get; init; } = 20;

    /// <summary>All upstream queries over TCP (unbound <c>tcp-upstream</c>).</summary>
    public bool TcpUpstream { get; init; }

    /// <summary>Trust anchors as zone-file text (DS or DNSKEY), in order.</summary>
    public IReadOnlyList<string> TrustAnchors { get; init; } = [];

    /// <summary>Negative trust anchors (<c>domain-insecure</c>).</summary>
    public IReadOnlyList<DnsName> NegativeTrustAnchors { get; init; } = [];

    /// <summary>Whether the scenario asks for validation (trust anchors present and, for unbound, a validator module).</summary>
    public bool Validation { get; init; }

    /// <summary>Deckard expects minimal responses; unbound files often say <c>minimal-responses: no</c>.</summary>
    public bool MinimalResponses { get; init; } = true;

    public ServeExpiredSettings ServeExpired { get; init; } = new(false, null, false, null, null);

    /// <summary>Unbound <c>prefetch</c>: refresh answers in the last tenth of their TTL.</summary>
    public bool Prefetch { get; init; }

    /// <summary>Aggressive use of the validated cache (Unbound <c>aggressive-nsec</c>, on by default as in Unbound 1.15 and later; kresd always).</summary>
    public bool AggressiveNsec { get; init; } = true;

    /// <summary>Start of the virtual clock.</summary>
    public DateTimeOffset StartTime { get; init; }

    /// <summary>Unbound pins the validator's "now" to <c>val-override-date</c>: it does not move with TIME_PASSES. Null otherwise.</summary>
    public DateTimeOffset? ValidationDate { get; init; }

    /// <summary>The config as written, for anything not modelled above.</summary>
    public IReadOnlyList<ConfigEntry> RawConfig { get; init; } = [];

    /// <summary>A label for reports when a scenario runs in several variants (e.g. <c>qmin=off</c>).</summary>
    public string Variant { get; init; } = "";
}

using Ananas.Dns;

namespace Ananas.Resolver;

/// <summary>How a <see cref="Recursor"/> behaves. Immutable; one instance is shared by all queries.</summary>
public sealed record RecursorOptions
{
    /// <summary>Where iteration starts when nothing better is cached.</summary>
    public RootHints RootHints { get; init; } = RootHints.Iana;

    /// <summary>QNAME minimisation (RFC 9156), with probes of type <see cref="PeerCompatibility.MinimisationProbeType"/> (NS).</summary>
    public bool QnameMinimisation { get; init; } = true;

    /// <summary>
    /// With minimisation, also probe the full name (with the probe type) before sending the real
    /// QTYPE, unless the QTYPE is A or DS. The resolver cannot know whether the full name is itself a zone cut, so this
    /// keeps the QTYPE from the parent zone's servers (RFC 9156 §2: only the server authoritative for the name sees
    /// the QTYPE); Unbound does this (iterator.c: minimisation stops before the last label only for A and DS).
    /// Costs one extra query when the name is not a zone cut.
    /// </summary>
    public bool MinimiseFullName { get; init; }

    /// <summary>
    /// Prime the root (RFC 8109): before the first iteration from the root hints, ask a hint server for the root NS
    /// set and use (and cache) that instead of the hints. Unbound and kresd always prime.
    /// </summary>
    public bool PrimeRoot { get; init; }

    /// <summary>Upstream IPv4 allowed (deckard <c>do-ip4</c>).</summary>
    public bool UseIPv4 { get; init; } = true;

    /// <summary>Upstream IPv6 allowed (deckard <c>do-ip6</c>); when off, no AAAA lookups for NS names either.</summary>
    public bool UseIPv6 { get; init; } = true;

    /// <summary>
    /// Never query 127.0.0.0/8, ::1, 0.0.0.0 or :: learnt from referrals (deckard <c>do-not-query-localhost</c>).
    /// Root hint, stub and forwarder addresses are configured, so they are always allowed.
    /// </summary>
    public bool DoNotQueryLocalhost { get; init; } = true;

    /// <summary>Accept glue only within the bailiwick of the zone that sent it (deckard <c>harden-glue</c>).</summary>
    public bool HardenGlue { get; init; } = true;

    /// <summary>
    /// Ignore the NS RRset in the authority section of a positive answer (Unbound <c>iter-scrub-promiscuous</c>, on by
    /// default since the fix for CVE-2025-11411): a server answering for a name could otherwise take over the whole
    /// zone by naming other servers there. Off, the zone's own NS set from an authoritative answer is cached and
    /// outranks the parent's referral copy (RFC 2181 §5.4.1).
    /// </summary>
    public bool ScrubPromiscuous { get; init; } = true;

    /// <summary>
    /// DNS-rebinding protection (Unbound <c>private-address</c>): address records (and SVCB/HTTPS address hints) inside
    /// these prefixes are removed from upstream responses, except for names under <see cref="PrivateDomains"/>.
    /// </summary>
    public IReadOnlyList<System.Net.IPNetwork> PrivateAddresses { get; init; } = [];

    /// <summary>Names (and everything below them) allowed to resolve to <see cref="PrivateAddresses"/> (Unbound <c>private-domain</c>).</summary>
    public IReadOnlyList<DnsName> PrivateDomains { get; init; } = [];

    /// <summary>
    /// At most this many records of an NS RRset in an upstream response are kept, the first ones (Unbound
    /// <c>iter-scrub-ns</c>, default 20); 0 keeps them all.
    /// </summary>
    public int MaxNsRecords { get; init; } = 20;

    public IReadOnlyList<ForwardZone> ForwardZones { get; init; } = [];

    /// <summary>Send every upstream query over TCP (Unbound <c>tcp-upstream</c>), e.g. where UDP is filtered.</summary>
    public bool TcpUpstream { get; init; }

    public IReadOnlyList<StubZone> StubZones { get; init; } = [];

    public Limits Limits { get; init; } = Limits.Default;

    /// <summary>Cached TTLs are capped here (RFC 8767 suggests a week at most; a day is common).</summary>
    public TimeSpan MaxCacheTtl { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Cached TTLs below this are raised to it (Unbound <c>cache-min-ttl</c>); a TTL of 0 is still never cached.</summary>
    public TimeSpan MinCacheTtl { get; init; } = TimeSpan.Zero;

    /// <summary>The record cache's budget in bytes (256 MiB), used by <see cref="Cache.RecordCacheOptions.For"/>.</summary>
    public long CacheCapacityBytes { get; init; } = Cache.CacheOptions.DefaultCapacityBytes;

    /// <summary>Serve-stale (RFC 8767); off by default.</summary>
    public ServeStaleOptions ServeStale { get; init; } = ServeStaleOptions.Disabled;

    /// <summary>
    /// Special-use domains answered locally, never sent upstream (<see cref="Resolver.LocalZones"/>). None by default
    /// here (the scenario runner and `ananas resolve` send everything upstream); `ananas serve` serves all of
    /// <see cref="LocalZones.Supported"/> unless its <c>resolver.local-zones</c> names fewer.
    /// </summary>
    public LocalZones LocalZones { get; init; } = LocalZones.None;

    /// <summary>
    /// Prefetch (Unbound <c>prefetch</c>): an answer built from an RRset with at most a tenth of its TTL left is sent
    /// from the cache and the question is resolved again in the background, at most one refresh per question at a time.
    /// </summary>
    public bool Prefetch { get; init; }

    /// <summary>
    /// Background refreshes (prefetches, refreshes behind stale answers, resolutions outliving the client timer) running
    /// at once. Each is one question a client named, so a flood of distinct names would otherwise start one each; past
    /// the bound the client still gets its cached answer and the refresh is skipped.
    /// </summary>
    public int MaxBackgroundRefreshes { get; init; } = 1024;

    /// <summary>Bytes for the questions held off prefetching after a failed prefetch (256 KiB: a few thousand names).</summary>
    public long PrefetchHoldOffCapacityBytes { get; init; } = 256L * 1024;

    /// <summary>
    /// How long a failed resolution is remembered for its question, which is answered SERVFAIL (EDE 13, Cached Error)
    /// meanwhile without asking upstream (RFC 9520 §3). Held within RFC 9520's 1 s to 5 min; zero turns it off (not
    /// compliant: RFC 9520 makes failure caching a MUST). Unbound caches failures for 5 s (NORR_TTL).
    /// </summary>
    public TimeSpan FailureCacheTtl { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Negative answers are cached at most this long (RFC 2308 §5 suggests 1–3 hours).</summary>
    public TimeSpan MaxNegativeTtl { get; init; } = TimeSpan.FromHours(3);

    /// <summary>How long a server found lame for a zone is avoided for it.</summary>
    public TimeSpan LameHoldDown { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long a server that sent data failing DNSSEC validation is held off for its zone: the zone's other servers
    /// are asked first, it only as a last resort (Unbound's validation blacklist; as long as <see cref="BogusCacheTtl"/>).
    /// </summary>
    public TimeSpan BogusServerHoldDown { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// DNSSEC validation (RFC 4035 §5): upstream queries carry DO, answers under a trust anchor are validated, bogus
    /// ones become SERVFAIL. Off by default for now.
    /// </summary>
    public bool Validation { get; init; }

    /// <summary>
    /// Aggressive use of the DNSSEC-validated cache (RFC 8198, Unbound <c>aggressive-nsec</c>): with validation on, a
    /// name or type that secure NSEC records already in the cache prove absent is answered NXDOMAIN or NODATA from
    /// them, without asking upstream. On by default.
    /// </summary>
    public bool AggressiveNsec { get; init; } = true;

    /// <summary>The trust anchors (and negative trust anchors) validation starts from; the IANA root KSKs by default.</summary>
    public Dnssec.TrustAnchors TrustAnchors { get; init; } = Dnssec.TrustAnchors.CreateDefault();

    /// <summary>
    /// Negative trust anchors (RFC 7646): domains (and everything below them) not validated, for zones known to be
    /// broken. Added to the ones <see cref="TrustAnchors"/> holds.
    /// </summary>
    public IReadOnlyList<DnsName> NegativeTrustAnchors { get; init; } = [];

    /// <summary>
    /// How long a bogus answer is remembered for its question and answered SERVFAIL (with its EDE and EDE 13, Cached
    /// Error) without validating again (Unbound <c>val-bogus-ttl</c>, 60 s). Bounded like <see cref="FailureCacheTtl"/>.
    /// </summary>
    public TimeSpan BogusCacheTtl { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Pins the validator's "now" for signature validity (Unbound <c>val-override-date</c>); null: the clock's time.</summary>
    public DateTimeOffset? ValidationTime { get; init; }

    /// <summary>Receives every upstream exchange of every query (for tracing); called synchronously, keep it cheap.</summary>
    public Action<UpstreamExchange>? Trace { get; init; }
}

using Ananas.Dns;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Iteration;
using Ananas.Server.Configuration;
using Ananas.Server.Pipeline;
using Ananas.Server.Scheduling;

namespace Ananas.Server.Hosting;

/// <summary>
/// The one translation of a <see cref="ServerConfig"/> into the resolver's parts: recursor options (with the files
/// they name read and checked), the record and answer caches' shares of <c>cache.size</c>, and the pipeline's
/// options. <c>serve</c> (<see cref="ResolverHost"/>, and its reloads), <c>resolve</c> and <c>check-config</c>
/// all come here, so they resolve, validate and bound alike; the recursor itself is assembled by
/// <see cref="ResolverStack"/>, which the scenario runner uses too.
/// </summary>
public static class ResolverStackBuilder
{
    /// <summary>The recursor and its caches for <paramref name="config"/>, asking <paramref name="upstream"/>'s servers in its order.</summary>
    public static ResolverStack Build(ServerConfig config, IClock clock, Upstream upstream, Action<UpstreamExchange>? trace = null) =>
        ResolverStack.Create(RecursorOptions(config) with { Trace = trace }, clock, upstream.Selector);

    /// <summary>The wire-format answer cache: a quarter of <c>cache.size</c> (answers are cheap to rebuild from RRsets, RRsets are not).</summary>
    public static AnswerCache Answers(ServerConfig config, IClock clock) =>
        new(new AnswerCacheOptions { Storage = new CacheOptions { CapacityBytes = AnswerBytes(config) } }, clock) { EndBeforePrefetch = config.Prefetch };

    private static long AnswerBytes(ServerConfig config) => config.CacheSizeBytes / 4;

    /// <summary>Reads every file the configuration names (root hints, trust anchors, the DoT bundle) as a start would; throws <see cref="ConfigException"/>.</summary>
    public static void Check(ServerConfig config)
    {
        RecursorOptions(config);
        UpstreamSettings.Conductor(config);
        PipelineOptions(config);
    }

    /// <summary>The recursor's options from the configuration; the record cache gets what the answer cache leaves of <c>cache.size</c>.</summary>
    public static RecursorOptions RecursorOptions(ServerConfig config) => new()
    {
        CacheCapacityBytes = config.CacheSizeBytes - AnswerBytes(config),
        RootHints = config.RootHints.Length == 0 ? RootHints.Iana : LoadRootHints(config.RootHints),
        QnameMinimisation = config.QnameMinimisation,
        UseIPv4 = config.IPv4 || config.IPv6 ? config.IPv4
            : throw new ConfigException("resolver.ipv4 and resolver.ipv6 are both off: no name server could be asked"),
        UseIPv6 = config.IPv6,
        MinimiseFullName = config.MinimiseFullName,
        HardenGlue = config.HardenGlue,
        ScrubPromiscuous = config.ScrubPromiscuous,
        MaxNsRecords = config.MaxNsRecords,
        AggressiveNsec = config.AggressiveNsec,
        FailureCacheTtl = config.FailureCacheTtl,
        BogusCacheTtl = config.BogusCacheTtl,
        LameHoldDown = config.LameHoldDown,
        DoNotQueryLocalhost = !config.QueryLocalhost,
        LocalZones = LocalZones.Create(config.LocalZones),
        Validation = config.DnssecValidation,
        TrustAnchors = LoadTrustAnchors(config),
        ForwardZones = config.Forwards.Select(f => f.Resolve() is var (servers, tls) ? new ForwardZone(f.Name, servers) { First = f.First, TlsNames = tls } : null!).ToList(),
        StubZones = config.Stubs.Select(s => new StubZone(s.Name, s.Resolve().EndPoints) { First = s.First }).ToList(),
        PrimeRoot = config.RootPriming,
        Prefetch = config.Prefetch,
        MaxBackgroundRefreshes = config.MaxBackgroundRefreshes,
        PrefetchHoldOffCapacityBytes = config.PrefetchHoldOffBytes,
        ServeStale = config.ServeStale
            ? new ServeStaleOptions
            {
                Enabled = true,
                MaxStale = config.ServeStaleMax,
                ClientTimeout = config.ServeStaleClientTimeout,
                AnswerTtl = (uint)config.ServeStaleReplyTtl,
                FailureRecheck = config.ServeStaleFailureRecheck,
            }
            : ServeStaleOptions.Disabled,
        MinCacheTtl = config.MinTtl,
        MaxCacheTtl = config.MaxTtl,
        MaxNegativeTtl = config.MaxNegativeTtl,
    };

    public static PipelineOptions PipelineOptions(ServerConfig config) => new()
    {
        Access = AccessList.Parse(config.Allow),
        Snoop = AccessList.Parse(config.Snoop),
        ResolveTimeout = config.QueryTimeout,
        MaxUdpPayload = (ushort)config.UdpMaxPayload,
        GroupPrefixV4 = config.GroupPrefixV4,
        GroupPrefixV6 = config.GroupPrefixV6,
        Scheduler = new SchedulerOptions
        {
            MaxInFlight = config.MaxInFlight,
            MaxInFlightPerGroup = config.MaxInFlightPerGroup,
            MaxQueued = config.MaxQueued,
            MaxQueuedPerGroup = config.MaxQueuedPerGroup,
            Runners = config.Runners,
            Shed = config.Shed,
        },
    };

    /// <summary>The built-in root anchors or the configured file, plus the negative anchors. A bad file is a <see cref="ConfigException"/> naming its line.</summary>
    private static Resolver.Dnssec.TrustAnchors LoadTrustAnchors(ServerConfig config)
    {
        Resolver.Dnssec.TrustAnchors anchors;
        if (config.TrustAnchorFile.Length == 0)
        {
            anchors = Resolver.Dnssec.TrustAnchors.CreateDefault();
        }
        else
        {
            anchors = new Resolver.Dnssec.TrustAnchors();
            try
            {
                anchors.LoadFile(config.TrustAnchorFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                throw new ConfigException($"dnssec.trust-anchor: cannot use '{config.TrustAnchorFile}': {e.Message}");
            }
            if (anchors.All.Count == 0) throw new ConfigException($"dnssec.trust-anchor: '{config.TrustAnchorFile}' holds no DS or DNSKEY record");
        }
        foreach (var name in config.NegativeTrustAnchors) anchors.AddNegative(DnsName.Parse(name));
        return anchors;
    }

    private static RootHints LoadRootHints(string path)
    {
        try
        {
            return RootHints.Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DnsFormatException)
        {
            throw new ConfigException($"root-hints: cannot read '{path}': {e.Message}");
        }
    }
}

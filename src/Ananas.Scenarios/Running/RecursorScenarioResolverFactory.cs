using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Scenarios.Model;
using Ananas.Resolver;
using Ananas.Resolver.Iteration;
using Ananas.Resolver.Dnssec;

namespace Ananas.Scenarios.Running;

/// <summary>
/// Binds the scenario runner to the real <see cref="Recursor"/>: each run gets a fresh recursor and cache on the
/// scenario's virtual clock, with options translated from the scenario's config.
/// </summary>
public sealed class RecursorScenarioResolverFactory : IScenarioResolverFactory
{
    /// <summary>deckard's default <c>stub-name</c>.</summary>
    private static readonly DnsName DefaultRootHintName = DnsName.Parse("k.root-servers.net.");

    public ScenarioCapabilities Capabilities => ScenarioCapabilities.Forwarding | ScenarioCapabilities.StubZones | ScenarioCapabilities.ServeStale
        | ScenarioCapabilities.DnssecValidation | ScenarioCapabilities.NegativeTrustAnchors;

    public IScenarioResolver Create(ScenarioSetup setup, IExchanger exchanger, IClock clock)
    {
        // The resolver is assembled as the server assembles it (ResolverStack), with the peer's own choices where the
        // corpus expects them. The virtual clock does not move while a query is answered, so the client timer never
        // fires on its own; stale answers come from failed resolutions and from serve-expired-client-timeout 0.
        var recursor = ResolverStack.Create(OptionsFor(setup), clock, new RandomServerSelector(new SeededRandom(1)), PeerCompatibilityFor(setup)).Recursor;
        return new RecursorUnderTest(recursor, exchanger, setup.SnoopNetworks);
    }

    /// <summary>Translates a scenario's config into recursor options.</summary>
    public static RecursorOptions OptionsFor(ScenarioSetup setup)
    {
        var hintName = setup.RootHints.Names.Count > 0 ? setup.RootHints.Names[0] : DefaultRootHintName;
        // No configured root server: the built-in (IANA) hints, as deckard's world_* scenarios expect.
        var hints = setup.RootHints.Addresses.Count == 0 ? RootHints.Iana : new RootHints([new RootServer(hintName, setup.RootHints.Addresses)]);
        return new RecursorOptions
        {
            RootHints = hints,
            QnameMinimisation = setup.QueryMinimisation,
            // Unbound-style minimisation also hides the QTYPE at the full name, and Unbound primes the root (RFC 8109).
            MinimiseFullName = setup.Dialect == ScenarioDialect.Unbound,
            PrimeRoot = setup.Dialect == ScenarioDialect.Unbound,
            UseIPv4 = setup.DoIp4,
            UseIPv6 = setup.DoIp6,
            DoNotQueryLocalhost = setup.DoNotQueryLocalhost,
            HardenGlue = setup.HardenGlue,
            TcpUpstream = setup.TcpUpstream,
            ScrubPromiscuous = setup.ScrubPromiscuous,
            PrivateAddresses = setup.PrivateAddresses,
            PrivateDomains = setup.PrivateDomains,
            MaxNsRecords = setup.MaxNsRecords,
            ForwardZones = [.. setup.ForwardZones.Select(z => new ForwardZone(z.Zone, Endpoints(z.Addresses)) { First = z.First, Tcp = z.Tcp })],
            StubZones = [.. setup.StubZones.Select(z => new StubZone(z.Zone, Endpoints(z.Addresses)) { First = z.First })],
            ServeStale = ServeStaleFor(setup.ServeExpired),
            Prefetch = setup.Prefetch,
            Validation = setup.Validation,
            AggressiveNsec = setup.AggressiveNsec,
            TrustAnchors = AnchorsFor(setup),
            ValidationTime = setup.ValidationDate,
            // The peers answer insecure at any NSEC3 iteration count past their limit (deckard val_iter_high has
            // 65535); this resolver's default fails closed past a second, higher one (RFC 9276 §3.2).
            Limits = Limits.Default with { Dnssec = DnssecLimits.Default with { MaxNsec3Iterations = 150, MaxNsec3IterationsBeforeBogus = ushort.MaxValue } },
        };
    }

    /// <summary>Where the peer whose corpus the scenario comes from differs from the resolver's own behaviour.</summary>
    public static PeerCompatibility PeerCompatibilityFor(ScenarioSetup setup) => new()
    {
        // Unbound minimises with QTYPE A probes (RFC 9156 §3), kresd (and the deckard corpus) with NS.
        MinimisationProbeType = setup.Dialect == ScenarioDialect.Unbound ? RRType.A : RRType.NS,
        // kresd answers an alias loop with the chain up to it; Unbound sends every SERVFAIL with empty sections.
        AliasLoopShowsChain = setup.Dialect != ScenarioDialect.Unbound,
        // The peer corpora's validator scenarios are signed with DSA, which Unbound (testbound) validates; RFC 8624
        // retired it, so the resolver only does when asked.
        ValidateDsa = setup.Validation,
    };

    /// <summary>The scenario's trust anchors (record text) and negative trust anchors.</summary>
    private static Ananas.Resolver.Dnssec.TrustAnchors AnchorsFor(ScenarioSetup setup)
    {
        var anchors = new Ananas.Resolver.Dnssec.TrustAnchors();
        if (setup.TrustAnchors.Count > 0) anchors.Load(new StringReader(string.Join("\n", setup.TrustAnchors)), "scenario");
        foreach (var name in setup.NegativeTrustAnchors) anchors.AddNegative(name);
        return anchors;
    }

    /// <summary>
    /// Unbound's serve-expired options: <c>serve-expired-ttl</c> (0 or absent: no limit, here a year),
    /// <c>serve-expired-reply-ttl</c> (default 30), <c>serve-expired-client-timeout</c> in milliseconds (default 1800;
    /// 0 serves expired data at once), <c>serve-expired-ttl-reset</c>.
    /// </summary>
    public static ServeStaleOptions ServeStaleFor(ServeExpiredSettings s) => !s.Enabled ? ServeStaleOptions.Disabled : new ServeStaleOptions
    {
        Enabled = true,
        MaxStale = s.Ttl is > 0 and var ttl ? TimeSpan.FromSeconds(ttl) : TimeSpan.FromDays(365),
        AnswerTtl = s.ReplyTtl ?? 30,
        ClientTimeout = TimeSpan.FromMilliseconds(s.ClientTimeoutMs ?? 1800),
        ResetOnFailure = s.TtlReset,
        // Unbound blocks recursion for NORR_TTL (5 s) after a failure answered with expired data.
        FailureRecheck = TimeSpan.FromSeconds(5),
    };

    private static IReadOnlyList<IPEndPoint> Endpoints(IReadOnlyList<IPAddress> addresses) =>
        [.. addresses.Select(a => new IPEndPoint(a, 53))];

    /// <summary>Testbound's client: a query step without ADDRESS comes from 127.0.0.1.</summary>
    private static readonly IPAddress DefaultClient = IPAddress.Loopback;

    private sealed class RecursorUnderTest(Recursor recursor, IExchanger exchanger, IReadOnlyList<IPNetwork> snoopers) : IScenarioResolver
    {
        public Task<DnsMessage?> ResolveAsync(DnsMessage query, CancellationToken cancellationToken) =>
            ResolveAsync(query, null, cancellationToken);

        public async Task<DnsMessage?> ResolveAsync(DnsMessage query, IPEndPoint? client, CancellationToken cancellationToken)
        {
            var source = client?.Address ?? DefaultClient;
            var request = new Request(query) { Client = client, CacheReferrals = !query.Has(HeaderFlags.RD) && snoopers.Any(n => n.Contains(source)) };
            var response = await recursor.ResolveAsync(request, exchanger, cancellationToken).ConfigureAwait(false);
            // Prefetches and stale refreshes finish before the next step, as they do in testbound's event loop.
            await recursor.WhenBackgroundIdleAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            return response.Message;
        }
    }
}

using System.Net;
using Ananas.Dns;
using Ananas.Scenarios.Model;
using Ananas.Scenarios.Parsing;
using Ananas.Scenarios.Replay;

namespace Ananas.Scenarios.Running;

/// <summary>Turns a scenario's config block into <see cref="ScenarioSetup"/>s (FORMAT.md §1.2 and §2.2).</summary>
public static class ScenarioSetupBuilder
{
    private static readonly DnsName DefaultStubName = DnsName.Parse("k.root-servers.net.");

    /// <summary>Unbound server options that do not change what a resolver-neutral comparison checks (tuning, logging, Unbound internals).</summary>
    private static readonly HashSet<string> IgnoredUnboundOptions = new(StringComparer.OrdinalIgnoreCase)
    {
        "target-fetch-policy", "trust-anchor-signaling", "fake-sha1", "fake-dsa", "ede",
        "ede-serve-expired", "log-servfail", "log-queries", "log-replies", "verbosity", "use-syslog", "rrset-roundrobin",
        "prefetch-key", "harden-referral-path", "harden-unknown-additional",
        "harden-algo-downgrade", "harden-dnssec-stripped", "harden-below-nxdomain", "harden-unverified-glue",
        "val-max-restart", "max-query-restarts", "outbound-msg-retry", "num-queries-per-thread", "msg-cache-size",
        "msg-cache-slabs", "rrset-cache-size", "discard-timeout", "max-global-quota", "val-nsec3-keysize-iterations",
        "directory", "val-log-level", "val-clean-additional", "val-permissive-mode", "val-sig-skew-min", "val-sig-skew-max",
        "statistics-interval", "infra-host-ttl", "serve-expired-reply-ttl",
    };

    private static readonly HashSet<string> KnownModules = new(StringComparer.OrdinalIgnoreCase) { "iterator", "validator" };

    public static SetupPlan Build(Scenario scenario) =>
        scenario.Dialect == ScenarioDialect.Deckard ? BuildDeckard(scenario) : BuildUnbound(scenario);

    /// <summary>Deckard's boolean rule: true only for yes|true|on|1, compared on the whole value.</summary>
    public static bool DeckardBool(string value) =>
        value.Trim().ToLowerInvariant() is "yes" or "true" or "on" or "1";

    private static SetupPlan BuildDeckard(Scenario s)
    {
        var skips = new List<SkipReason>();
        var stubAddrs = new List<IPAddress>();
        var forwardAddrs = new List<IPAddress>();
        var anchors = new List<string>();
        var ntas = new List<DnsName>();
        var snoopers = new List<IPNetwork>();
        DnsName stubName = DefaultStubName;
        bool? qmin = null;
        bool doIp4 = true, doIp6 = true, hardenGlue = true, noLocalhost = true, serveStale = false, prefetch = false;
        DateTimeOffset start = VirtualClock.DefaultEpoch;
        foreach (var e in s.Config)
        {
            switch (e.Key.ToLowerInvariant())
            {
                case "stub-addr": AddAddress(stubAddrs, e, skips); break;
                case "forward-addr": AddAddress(forwardAddrs, e, skips); break;
                case "stub-name": stubName = ParseName(e, skips) ?? stubName; break;
                case "do-ip6": doIp6 = DeckardBool(e.Value); break;
                case "do-ip4": doIp4 = DeckardBool(e.Value); break;
                case "trust-anchor": anchors.Add(e.Value); break;
                case "domain-insecure": if (ParseName(e, skips) is { } n) ntas.Add(n); break;
                case "query-minimization": qmin = DeckardBool(e.Value); break;
                case "harden-glue": hardenGlue = DeckardBool(e.Value); break;
                case "do-not-query-localhost": noLocalhost = DeckardBool(e.Value); break;
                case "force-ipv6": break; // only chooses the harness's socket family
                // Ananas extensions for our own scenarios (tests/scenarios); deckard itself has no such keys. serve-stale
                // is Unbound's serve-expired with its defaults (RFC 8767; client timer 1.8 s, stale TTL 30 s), prefetch is
                // Unbound's prefetch, access-control Unbound's (its allow_snoop: referrals from the cache).
                case "serve-stale": serveStale = DeckardBool(e.Value); break;
                case "prefetch": prefetch = DeckardBool(e.Value); break;
                case "access-control": AddAccessControl(e, snoopers, skips); break;
                case "val-override-date":
                    if (!VirtualClock.TryParseOverrideDate(e.Value, out start)) skips.Add(new SkipReason($"bad val-override-date '{e.Value}'", e.Line));
                    break;
                case "val-override-timestamp":
                    if (!VirtualClock.TryParseTimestamp(e.Value, out start)) skips.Add(new SkipReason($"bad val-override-timestamp '{e.Value}'", e.Line));
                    break;
                case "features" or "feature-list":
                    skips.Add(new SkipReason($"needs kresd-specific features ({e.Key}: {e.Value})", e.Line));
                    break;
                default:
                    skips.Add(new SkipReason($"unsupported config key '{e.Key}'", e.Line));
                    break;
            }
        }
        // Without stub-addr or forward-addr deckard leaves the resolver its built-in root hints (the world_* recordings
        // script the real root servers): RootHints stays empty and the resolver factory uses its own.
        var forwards = forwardAddrs.Count == 0 ? [] : new[] { new ZoneServers(DnsName.Root, forwardAddrs, []) };
        ScenarioSetup Make(bool q, string variant) => new()
        {
            Dialect = ScenarioDialect.Deckard,
            RootHints = new ZoneServers(DnsName.Root, stubAddrs, [stubName]),
            SnoopNetworks = snoopers,
            ForwardZones = forwards,
            QueryMinimisation = q,
            DoIp4 = doIp4,
            DoIp6 = doIp6,
            DoNotQueryLocalhost = noLocalhost,
            AlwaysAllowed = [.. stubAddrs, .. forwardAddrs],
            HardenGlue = hardenGlue,
            TrustAnchors = anchors,
            NegativeTrustAnchors = ntas,
            Validation = anchors.Count > 0,
            MinimalResponses = true,
            ServeExpired = new ServeExpiredSettings(serveStale, null, false, null, null),
            Prefetch = prefetch,
            StartTime = start,
            RawConfig = s.Config,
            Variant = variant,
        };
        // Deckard runs a scenario without the key twice, qmin on and off (conftest.py get_qmin_config).
        var variants = qmin is { } fixedQmin ? [Make(fixedQmin, "")] : new[] { Make(true, "qmin=on"), Make(false, "qmin=off") };
        return new SetupPlan(variants, Requirements(variants[0]), skips);
    }

    private static SetupPlan BuildUnbound(Scenario s)
    {
        var skips = new List<SkipReason>();
        var rootAddrs = new List<IPAddress>();
        var stubs = new List<ZoneServers>();
        var forwards = new List<ZoneServers>();
        var anchors = new List<string>();
        var ntas = new List<DnsName>();
        var privateAddresses = new List<IPNetwork>();
        var privateDomains = new List<DnsName>();
        var snoopers = new List<IPNetwork>();
        bool qmin = true, doIp4 = true, doIp6 = true, hardenGlue = true, noLocalhost = true, minimal = false, validator = true;
        bool serveExpired = false, ttlReset = false, prefetch = false, tcpUpstream = false, scrubPromiscuous = true, aggressiveNsec = true;
        int maxNs = 20;
        uint? expiredTtl = null, replyTtl = null, clientTimeout = null;
        DateTimeOffset? validationDate = null;
        foreach (var clause in s.Clauses)
        {
            switch (clause.Name.ToLowerInvariant())
            {
                case "server":
                    foreach (var e in clause.Entries)
                    {
                        switch (e.Key.ToLowerInvariant())
                        {
                            case "qname-minimisation": qmin = UnboundBool(e.Value); break;
                            case "do-ip4": doIp4 = UnboundBool(e.Value); break;
                            case "do-ip6": doIp6 = UnboundBool(e.Value); break;
                            case "harden-glue": hardenGlue = UnboundBool(e.Value); break;
                            case "do-not-query-localhost": noLocalhost = UnboundBool(e.Value); break;
                            case "minimal-responses": minimal = UnboundBool(e.Value); break;
                            case "tcp-upstream": tcpUpstream = UnboundBool(e.Value); break;
                            case "iter-scrub-promiscuous": scrubPromiscuous = UnboundBool(e.Value); break;
                            case "private-address":
                                if (IPNetwork.TryParse(e.Value.Trim('"'), out var prefix)) privateAddresses.Add(prefix);
                                else if (IPAddress.TryParse(e.Value.Trim('"'), out var single)) privateAddresses.Add(new IPNetwork(single, single.GetAddressBytes().Length * 8));
                                else skips.Add(new SkipReason($"bad private-address '{e.Value}'", e.Line));
                                break;
                            case "iter-scrub-ns": if (ParseUInt(e, skips) is { } n0) maxNs = (int)Math.Min(n0, int.MaxValue); break;
                            case "private-domain": if (ParseName(e, skips) is { } pd) privateDomains.Add(pd); break;
                            case "trust-anchor": anchors.Add(e.Value); break;
                            case "domain-insecure": if (ParseName(e, skips) is { } n) ntas.Add(n); break;
                            case "val-override-date":
                                if (VirtualClock.TryParseOverrideDate(e.Value, out var d)) validationDate = d;
                                break; // other values (e.g. -1) disable the override
                            case "prefetch":
                                // Prefetch re-fetches entries in their last 10% of TTL; the scenarios check the refreshed TTLs.
                                prefetch = UnboundBool(e.Value);
                                break;
                            case "aggressive-nsec": aggressiveNsec = UnboundBool(e.Value); break;
                            case "serve-expired": serveExpired = UnboundBool(e.Value); break;
                            case "serve-expired-ttl-reset": ttlReset = UnboundBool(e.Value); break;
                            case "serve-expired-ttl": expiredTtl = ParseUInt(e, skips); break;
                            case "serve-expired-reply-ttl": replyTtl = ParseUInt(e, skips); break;
                            case "serve-expired-client-timeout": clientTimeout = ParseUInt(e, skips); break;
                            case "access-control":
                                AddAccessControl(e, snoopers, skips);
                                break;
                            case "module-config":
                                var modules = e.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                                validator = modules.Contains("validator", StringComparer.OrdinalIgnoreCase);
                                foreach (var m in modules.Where(m => !KnownModules.Contains(m)))
                                    skips.Add(new SkipReason($"needs the unbound module '{m}'", e.Line));
                                break;
                            default:
                                if (!IgnoredUnboundOptions.Contains(e.Key))
                                    skips.Add(new SkipReason($"unsupported unbound option '{e.Key}'", e.Line));
                                break;
                        }
                    }
                    break;
                case "stub-zone" or "forward-zone":
                    bool stub = clause.Name.Equals("stub-zone", StringComparison.OrdinalIgnoreCase);
                    var addrs = new List<IPAddress>();
                    DnsName? zone = null;
                    bool first = false, tcp = false;
                    foreach (var e in clause.Entries)
                    {
                        switch (e.Key.ToLowerInvariant())
                        {
                            case "name": zone = ParseName(e, skips); break;
                            case "stub-addr" or "forward-addr": AddAddress(addrs, e, skips); break;
                            case "forward-first" or "stub-first": first = UnboundBool(e.Value); break;
                            case "forward-tcp-upstream": tcp = UnboundBool(e.Value); break;
                            case "stub-prime": break; // priming tuning
                            default: skips.Add(new SkipReason($"unsupported {clause.Name} option '{e.Key}'", e.Line)); break;
                        }
                    }
                    if (zone is null) { skips.Add(new SkipReason($"{clause.Name} without a name", clause.Line)); break; }
                    if (stub && zone.IsRoot) rootAddrs.AddRange(addrs);
                    else (stub ? stubs : forwards).Add(new ZoneServers(zone, addrs, []) { First = first, Tcp = tcp });
                    break;
                default:
                    skips.Add(new SkipReason($"unsupported unbound clause '{clause.Name}:'", clause.Line));
                    break;
            }
        }
        // No root stub-zone or root forward-zone: the built-in root hints, as for deckard (queries outside the configured
        // stub and forward zones then show up as undefined answers).
        var setup = new ScenarioSetup
        {
            Dialect = ScenarioDialect.Unbound,
            RootHints = new ZoneServers(DnsName.Root, rootAddrs, []),
            StubZones = stubs,
            ForwardZones = forwards,
            QueryMinimisation = qmin,
            DoIp4 = doIp4,
            DoIp6 = doIp6,
            DoNotQueryLocalhost = noLocalhost,
            AlwaysAllowed = [.. rootAddrs, .. stubs.SelectMany(z => z.Addresses), .. forwards.SelectMany(z => z.Addresses)],
            HardenGlue = hardenGlue,
            TcpUpstream = tcpUpstream,
            ScrubPromiscuous = scrubPromiscuous,
            PrivateAddresses = privateAddresses,
            PrivateDomains = privateDomains,
            SnoopNetworks = snoopers,
            MaxNsRecords = maxNs,
            TrustAnchors = anchors,
            NegativeTrustAnchors = ntas,
            Validation = anchors.Count > 0 && validator,
            MinimalResponses = minimal,
            ServeExpired = new ServeExpiredSettings(serveExpired, expiredTtl, ttlReset, replyTtl, clientTimeout),
            Prefetch = prefetch,
            AggressiveNsec = aggressiveNsec,
            // Testbound's event clock starts at 0; starting at the pinned date keeps TTL arithmetic and validity checks consistent.
            StartTime = validationDate ?? VirtualClock.DefaultEpoch,
            ValidationDate = validationDate,
            RawConfig = s.Config,
        };
        return new SetupPlan([setup], Requirements(setup), skips);
    }

    private static ScenarioCapabilities Requirements(ScenarioSetup s)
    {
        var r = ScenarioCapabilities.None;
        if (s.Validation) r |= ScenarioCapabilities.DnssecValidation;
        if (s.NegativeTrustAnchors.Count > 0) r |= ScenarioCapabilities.NegativeTrustAnchors;
        if (s.ServeExpired.Enabled) r |= ScenarioCapabilities.ServeStale;
        if (s.ForwardZones.Count > 0) r |= ScenarioCapabilities.Forwarding;
        if (s.StubZones.Count > 0) r |= ScenarioCapabilities.StubZones;
        return r;
    }

    /// <summary>
    /// Unbound <c>access-control: NETBLOCK ACTION</c>: every client of a scenario is admitted, so only <c>allow_snoop</c>
    /// (referrals from the cache to queries without RD) changes anything; other allow actions are as good as none, and
    /// the actions that refuse or drop need access control the runner does not model.
    /// </summary>
    private static void AddAccessControl(ConfigEntry e, List<IPNetwork> snoopers, List<SkipReason> skips)
    {
        var parts = e.Value.Trim('"').Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        string action = parts.Length > 1 ? parts[1].ToLowerInvariant() : "";
        if (!action.StartsWith("allow", StringComparison.Ordinal))
        {
            skips.Add(new SkipReason($"needs access control ({e.Value})", e.Line));
            return;
        }
        if (action != "allow_snoop") return;
        if (IPNetwork.TryParse(parts[0], out var network)) snoopers.Add(network);
        else if (IPAddress.TryParse(parts[0], out var host)) snoopers.Add(new IPNetwork(host, host.GetAddressBytes().Length * 8));
        else skips.Add(new SkipReason($"bad access-control netblock '{parts[0]}'", e.Line));
    }

    private static bool UnboundBool(string value) => value.Trim().Equals("yes", StringComparison.OrdinalIgnoreCase);

    private static void AddAddress(List<IPAddress> list, ConfigEntry e, List<SkipReason> skips)
    {
        var text = e.Value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
        if (ScenarioParser.TryParseAddress(text, out var a)) list.Add(a);
        else skips.Add(new SkipReason($"bad address in {e.Key}: '{e.Value}'", e.Line));
    }

    private static DnsName? ParseName(ConfigEntry e, List<SkipReason> skips)
    {
        if (DnsName.TryParse(e.Value.Trim(), DnsName.Root, out var name, out var error)) return name;
        skips.Add(new SkipReason($"bad name in {e.Key}: {error}", e.Line));
        return null;
    }

    private static uint? ParseUInt(ConfigEntry e, List<SkipReason> skips)
    {
        if (uint.TryParse(e.Value.Trim(), out uint v)) return v;
        skips.Add(new SkipReason($"bad number in {e.Key}: '{e.Value}'", e.Line));
        return null;
    }
}

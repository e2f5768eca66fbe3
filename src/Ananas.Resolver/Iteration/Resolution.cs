using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Validation;

namespace Ananas.Resolver.Iteration;

/// <summary>
/// The work for one client query (RFC 1034 §5.3.3): cache lookups, iteration from the closest known zone cut,
/// alias chains, and sub-resolutions of NS addresses, all sharing one budget (<see cref="Limits"/>). Not thread-safe:
/// one instance per client query.
/// </summary>
internal sealed class Resolution
{
    private readonly RecursorOptions _options;
    private readonly Limits _limits;
    private readonly IRecordCache _cache;
    private readonly ILameServerList _lame;
    private readonly ILameServerList _bogusServers;
    private readonly IServerSelector _selector;
    private readonly IClock _clock;
    private readonly IExchanger _exchanger;
    private readonly Action<UpstreamExchange>? _requestTrace;
    private readonly DateTimeOffset _deadline;
    private readonly CancellationToken _cancellation;
    private readonly HashSet<(DnsName, RRType)> _inProgress = [];

    // Glue addresses seen in referrals during this resolution, by NS name (the parent side's view). The child zone
    // may publish other addresses for the same name; when those fail, the parent's are a last resort (Unbound's
    // parent-side glue fallback; deckard iter_pcdiff, iter_pcdirect).
    private readonly Dictionary<DnsName, List<IPEndPoint>> _parentSideGlue = [];

    // Set while asking forwarders configured for TCP only.
    private bool _tcpOnly;

    // Set once a bound that ends the whole query is hit (query budget, time, cancellation).
    private ResolutionFailure? _abort;

    // The last bound that stopped part of the work (e.g. NS fan-out), reported if nothing else worked.
    private ResolutionFailure? _partialBound;

    /// <param name="bogusServers">Servers that sent data failing DNSSEC validation, per zone: asked only when the zone's
    /// other servers (glueless ones included) gave no usable answer.</param>
    /// <param name="upstreamBudget">The client query's upstream budget when this is one of its sub-resolutions (validation's
    /// DS and DNSKEY fetches); a new one of <see cref="Limits.MaxUpstreamQueries"/> otherwise.</param>
    public Resolution(RecursorOptions options, IRecordCache cache, ILameServerList lame, ILameServerList bogusServers, IServerSelector selector, IClock clock,
        IExchanger exchanger, Request request, CancellationToken cancellation, UpstreamBudget? upstreamBudget = null)
    {
        Budget = upstreamBudget ?? new UpstreamBudget(options.Limits.MaxUpstreamQueries);
        _options = options;
        _limits = options.Limits;
        _cache = cache;
        _lame = lame;
        _bogusServers = bogusServers;
        _selector = selector;
        _clock = clock;
        _exchanger = exchanger;
        _requestTrace = request.Trace;
        _cacheOnly = !request.Query.Has(HeaderFlags.RD);
        _cancellation = cancellation;
        var latest = clock.UtcNow + _limits.MaxResolutionTime;
        _deadline = request.Deadline is { } d && d < latest ? d : latest;
    }

    /// <summary>Upstream exchanges this resolution made (its share of <see cref="Budget"/>).</summary>
    public int UpstreamQueries { get; private set; }

    /// <summary>The client query's upstream budget, which this resolution draws on.</summary>
    public UpstreamBudget Budget { get; }

    /// <summary>When this client query's time is up: the request's deadline or <see cref="Limits.MaxResolutionTime"/> from the start.</summary>
    public DateTimeOffset Deadline => _deadline;

    /// <summary>
    /// Validation on: the servers whose responses this resolution used (referrals and answers, sub-resolutions
    /// included), with the zone cut each was asked for; null when none. When the data fails validation these are the
    /// servers to hold off (<see cref="Limits.MaxValidationRetries"/>).
    /// </summary>
    public List<(DnsName ZoneCut, IPAddress Server)>? Sources { get; private set; }

    // RD=0: the client asked for local data only (RFC 1034 §4.3.1), so the cache answers or nothing does.
    private bool _cacheOnly;

    /// <summary>Answer from the cache only, accepting data expired up to this long ago (RFC 8767 serve-stale).</summary>
    public TimeSpan StaleWindow
    {
        get;
        init { field = value; if (value > TimeSpan.Zero) _cacheOnly = true; }
    }

    /// <summary>A refresh (prefetch or stale refresh): the client's own names are asked upstream, not read from the cache.</summary>
    public bool Refresh { get; init; }

    /// <summary>True when a stale entry was used (only with <see cref="StaleWindow"/>).</summary>
    public bool UsedStale { get; private set; }

    /// <summary>True when the answer used an RRset with at most a tenth of its TTL left (Unbound's prefetch rule).</summary>
    public bool PrefetchWanted { get; private set; }

    /// <summary>True when an RRset of the client's answer chain was read from the cache (rather than received in this resolution).</summary>
    public bool AnsweredFromCache { get; private set; }

    /// <summary>True when a cache-only (RD=0) resolution needed data the cache does not hold.</summary>
    public bool NeededRecursion { get; private set; }

    /// <summary>Resolves (name, type): the answer with its alias chain, a negative answer, or a failure.</summary>
    public async ValueTask<ResolutionOutcome> ResolveAsync(DnsName name, RRType type, int depth)
    {
        var answer = new List<ResourceRecord>();
        var current = name;
        var visited = new HashSet<DnsName> { name };
        List<ResourceRecord>? aliasProofs = null;
        int links = 0;
        while (true)
        {
            var step = LookupCache(current, type, depth) ?? await IterateAsync(current, type, depth);
            // The same record twice (a DNAME applied at two steps of a chain) is sent once (RFC 2181 §5).
            foreach (var rr in step.Records)
                if (!answer.Exists(rr.SameData)) answer.Add(rr);
            switch (step.Kind)
            {
                case StepKind.Answer:
                    return new ResolutionOutcome(Rcode.NoError, answer) { Authority = WithAliasProofs(aliasProofs, step.Authority) };
                case StepKind.Negative:
                    return new ResolutionOutcome(step.NegativeRcode, answer) { Soa = step.Soa, Authority = WithAliasProofs(aliasProofs, step.Authority) };
                case StepKind.YXDomain:
                    return new ResolutionOutcome(Rcode.YXDomain, answer);
                case StepKind.Failure:
                    return ResolutionOutcome.Fail(step.Failure!);
            }
            links += step.Links;
            // NSEC/NSEC3 proofs of the alias steps (a wildcard CNAME's), ahead of the final step's, as Unbound
            // prepends them (val_cnamewctonodata).
            if (step.Authority.Count > 0) (aliasProofs ??= []).AddRange(step.Authority);
            if (links > _limits.MaxAliasChain)
                return ResolutionOutcome.Fail(ResolutionFailure.Bound("alias chain", _limits.MaxAliasChain));
            current = step.Target!;
            // A loop is an error (RFC 1034 §3.6.2); the chain up to it is shown unless the options say otherwise.
            if (!visited.Add(current))
                return ResolutionOutcome.Fail(new ResolutionFailure(EdeCode.Other, $"alias loop at {current}"), _options.AliasLoopShowsChain ? answer : null);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Cache

    /// <summary>
    /// Answers a name step from the cache: data, a CNAME, a DNAME above the name, or a negative answer. Glue and
    /// referral data (below <see cref="TrustRank.NonAuthoritativeAnswer"/>) only serve NS address lookups.
    /// </summary>
    private Step? LookupCache(DnsName name, RRType type, int depth)
    {
        if (Refresh && depth == 0) return null;
        var minimum = depth > 0 && type is RRType.A or RRType.AAAA ? TrustRank.Additional : TrustRank.NonAuthoritativeAnswer;
        if (type != RRType.ANY)
        {
            var hit = _cache.Get(name, type, RRClass.IN, StaleWindow);
            if (hit is not null && hit.Rank >= minimum)
            {
                Used(hit, depth);
                var records = new List<ResourceRecord>(hit.RRset.Data.Count);
                hit.AppendRecords(records);
                AppendCachedSignatures(hit, records);
                return new Step(StepKind.Answer, records);
            }
        }
        // A cached CNAME may be the child zone's data at a zone cut, where DS belongs to the parent: DS is asked for
        // (Unbound does not redirect DS through a cached CNAME either; val_unsec_cname).
        if (type is not (RRType.CNAME or RRType.DS))
        {
            var cname = _cache.Get(name, RRType.CNAME, RRClass.IN, StaleWindow);
            if (cname is not null && cname.Rank >= TrustRank.NonAuthoritativeAnswer && cname.RRset.Data[0] is NameData target)
            {
                Used(cname, depth);
                var records = new List<ResourceRecord>(1);
                cname.AppendRecords(records);
                AppendCachedSignatures(cname, records);
                // A CNAME is itself an answer to ANY and is not followed (as from a server; Unbound
                // response_type_from_cache, iter_minimise_chain).
                if (type == RRType.ANY) return new Step(StepKind.Answer, records);
                return new Step(StepKind.Alias, records) { Target = target.Target, Links = 1 };
            }
        }
        for (int labels = name.LabelCount - 1; labels >= 1; labels--)
        {
            var owner = name.GetAncestor(labels);
            var dname = _cache.Get(owner, RRType.DNAME, RRClass.IN, StaleWindow);
            if (dname is null || dname.Rank < TrustRank.NonAuthoritativeAnswer || dname.RRset.Data[0] is not NameData dnameTarget) continue;
            Used(dname, depth);
            var records = new List<ResourceRecord>(2);
            dname.AppendRecords(records);
            AppendCachedSignatures(dname, records);
            var synthesized = Synthesize(name, owner, dnameTarget.Target, dname.RemainingTtl, records);
            // QTYPE CNAME: the synthesised CNAME is the answer, not followed.
            return type == RRType.CNAME && synthesized.Kind == StepKind.Alias ? new Step(StepKind.Answer, records) : synthesized;
        }
        var negative = _cache.GetNegative(name, type, RRClass.IN, StaleWindow);
        if (negative is not null)
        {
            UsedStale |= negative.Stale;
            var rcode = negative.Answer.Kind == NegativeKind.NameError ? Rcode.NXDomain : Rcode.NoError;
            return new Step(StepKind.Negative, []) { NegativeRcode = rcode, Soa = negative.Soa, Authority = CapTtl(negative.Answer.Authority, negative.RemainingTtl) };
        }
        // RFC 8198: secure NSEC records already cached may prove the name or type absent without asking, or (with a
        // cached secure wildcard) give the wildcard's answer.
        if (_options is { Validation: true, AggressiveNsec: true } && _cache.SecureNsec is { } index)
        {
            if (AggressiveNsec.TryDeny(_cache, index, name, type, _options.Limits.Dnssec) is { } denial)
                return new Step(StepKind.Negative, []) { NegativeRcode = denial.Rcode, Soa = denial.Soa, Authority = denial.Authority };
            if (AggressiveNsec.TrySynthesize(_cache, index, name, type, _options.Limits.Dnssec) is { } expansion)
            {
                return expansion.AliasTarget is { } target && type != RRType.CNAME
                    ? new Step(StepKind.Alias, expansion.Answer) { Target = target, Links = 1, Authority = expansion.Authority }
                    : new Step(StepKind.Answer, expansion.Answer) { Authority = expansion.Authority };
            }
        }
        return null;
    }

    /// <summary>
    /// Validation on: the RRSIGs cached with an RRset go with it, so the validator need not fetch it again and DO
    /// clients get them. Not for a wildcard expansion, whose proof of the qname's absence is not cached with it:
    /// without signatures the recursor asks again.
    /// </summary>
    private void AppendCachedSignatures(CachedRRset hit, List<ResourceRecord> records)
    {
        if (!_options.Validation || hit.Signatures.Count == 0) return;
        foreach (var sig in hit.Signatures)
            if (sig.Labels < hit.RRset.Name.LabelCount) return;
        foreach (var sig in hit.Signatures) records.Add(new ResourceRecord(hit.RRset.Name, hit.RRset.Class, hit.RemainingTtl, sig));
    }

    private void Used(CachedRRset hit, int depth)
    {
        UsedStale |= hit.Stale;
        if (depth == 0) AnsweredFromCache = true;
        if (depth == 0 && !hit.Stale && hit.OriginalTtl > 0 && hit.RemainingTtl * 10L <= hit.OriginalTtl) PrefetchWanted = true;
    }

    /// <summary>DNAME substitution (RFC 6672 §2.2): a CNAME from the name to the name with the DNAME owner replaced.</summary>
    private static Step Synthesize(DnsName name, DnsName dnameOwner, DnsName dnameTarget, uint ttl, List<ResourceRecord> records)
    {
        var target = name.ReplaceSuffix(dnameOwner, dnameTarget);
        if (target is null) return new Step(StepKind.YXDomain, records);
        records.Add(new ResourceRecord(name, RRClass.IN, ttl, NameData.Cname(target)));
        return new Step(StepKind.Alias, records) { Target = target, Links = 1 };
    }

    // ---------------------------------------------------------------------------------------------------------
    // Iteration

    /// <summary>Iterates for one name from the closest known delegation (RFC 1034 §5.3.3), with QNAME minimisation.</summary>
    private async ValueTask<Step> IterateAsync(DnsName name, RRType type, int depth)
    {
        if (_abort is not null) return Step.Fail(_abort);
        if (_cacheOnly)
        {
            NeededRecursion = true;
            return Step.Fail(new ResolutionFailure(EdeCode.NotAuthoritative, "recursion not desired (RD=0) and no cached answer"));
        }
        if (!_inProgress.Add((name, type)))
            return Step.Fail(new ResolutionFailure(EdeCode.Other, $"dependency cycle resolving {name} {type}"));
        try
        {
            return await IterateCoreAsync(name, type, depth);
        }
        finally
        {
            _inProgress.Remove((name, type));
        }
    }

    private async ValueTask<Step> IterateCoreAsync(DnsName name, RRType type, int depth)
    {
        // The parent side answers DS (RFC 4035 §3.1.4.1), so iteration for DS starts above the name, and the DS of a
        // forward zone's apex is asked where its parent is resolved, not of the zone's forwarders (as Unbound does).
        var searchName = type == RRType.DS && !name.IsRoot ? name.Parent : name;
        var forward = FindForwardZone(searchName);
        if (forward is not null)
        {
            var forwarders = Delegation.FromAddresses(forward.Name, DelegationSource.ForwardZone, forward.Servers, forward.TlsNames);
            _tcpOnly = forward.Tcp;
            var reply = await QueryDelegationAsync(forwarders, name, type, depth);
            _tcpOnly = false;
            if (reply.Failure is null) return Finish(reply.Response!, forwarders, name, type);
            // forward-first: when the forwarders fail, resolve the name by iteration instead (Unbound forward-first).
            if (!forward.First || _abort is not null) return Step.Fail(reply.Failure);
        }

        var delegation = StartingDelegation(searchName);
        if (delegation.Source == DelegationSource.RootHints && _options.PrimeRoot)
            delegation = await PrimeRootAsync(delegation, depth);
        bool minimise = _options.QnameMinimisation;
        // The label count up to which probes go: the full name itself too when the QTYPE is to be kept from parents.
        int probeLimit = _options.MinimiseFullName && type is not (RRType.A or RRType.DS) && type != _options.MinimisationProbeType
            ? name.LabelCount + 1
            : name.LabelCount;
        int probeLabels = delegation.ZoneCut.LabelCount + 1;
        int probes = 0;
        int referrals = 0;
        while (true)
        {
            bool minimising = minimise && probeLabels < probeLimit;
            var queryName = minimising ? name.GetAncestor(probeLabels) : name;
            var queryType = minimising ? _options.MinimisationProbeType : type;
            var reply = await QueryDelegationAsync(delegation, queryName, queryType, depth);
            if (reply.Failure is not null)
            {
                if (_abort is not null) return Step.Fail(_abort);
                if (minimising)
                {
                    // Servers that mishandle NS probes: fall back to the full name (RFC 9156 §2.3).
                    minimise = false;
                    continue;
                }
                if (delegation.Source == DelegationSource.Cache && !delegation.ZoneCut.IsRoot && ++referrals <= _limits.MaxReferralDepth)
                {
                    // A cached delegation that no longer works (expired glue, servers moved): ask its parent again.
                    delegation = StartingDelegation(delegation.ZoneCut.Parent);
                    probeLabels = delegation.ZoneCut.LabelCount + 1;
                    continue;
                }
                if (delegation.Source == DelegationSource.Cache && delegation.ZoneCut.IsRoot && ++referrals <= _limits.MaxReferralDepth)
                {
                    // The cached root NS set (e.g. from an answer, without glue) does not work: back to the hints.
                    delegation = HintsDelegation();
                    probeLabels = 1;
                    continue;
                }
                if (delegation.Source == DelegationSource.StubZone && IsStubFirst(delegation.ZoneCut) && ++referrals <= _limits.MaxReferralDepth)
                {
                    // stub-first: the stub's authorities failed; iterate as if no stub zone were configured (Unbound stub-first).
                    delegation = StartingDelegation(searchName, withStubs: false);
                    probeLabels = delegation.ZoneCut.LabelCount + 1;
                    continue;
                }
                return Step.Fail(reply.Failure);
            }

            var response = reply.Response!;
            if (response.Kind == ResponseKind.Referral)
            {
                if (++referrals > _limits.MaxReferralDepth)
                    return Step.Fail(ResolutionFailure.Bound("referral depth", _limits.MaxReferralDepth));
                delegation = AcceptReferral(response, delegation);
                probeLabels = delegation.ZoneCut.LabelCount + 1;
                continue;
            }

            if (!minimising) return Finish(response, delegation, name, type);

            // A minimisation probe (queryName, probe type) was answered.
            switch (response.Kind)
            {
                case ResponseKind.Answer:
                    // An NS answer at the probe name is not taken as a new zone cut: the same servers answer for the
                    // child (or a parent put NS in its answer section), so iteration goes on at the current cut, as
                    // kresd does and the deckard corpus scripts. Authoritative NS data is still worth caching.
                    var ns = RRset.Collect(response.Message.Answers, queryName, RRType.NS);
                    if (ns is not null && response.Authoritative) _cache.Store(ns, TrustRank.AuthoritativeAnswer);
                    break;
                case ResponseKind.NameError when response.Authoritative && response.Soa is not null:
                    // RFC 8020: nothing exists below an authoritative NXDOMAIN. With validation on its NSEC/NSEC3 records
                    // and RRSIGs go with it: the probe name's denial proves the deeper name absent too (same closest
                    // encloser, same next closer name or covering NSEC), and without them it could only be bogus.
                    var denial = new NegativeAnswer(NegativeKind.NameError, queryName, queryType, RRClass.IN, response.Soa)
                    {
                        Authority = NegativeAuthority(response.Message, delegation.Bailiwick, _options.Validation),
                    };
                    _cache.StoreNegative(denial, TrustRank.AuthoritativeAuthority);
                    return NegativeStep(Rcode.NXDomain, denial, []);
                case ResponseKind.NameError:
                    minimise = false;
                    continue;
                case ResponseKind.NoData when response.Soa is null:
                    // An empty answer without SOA proves nothing about the probe name: ask the full name instead of
                    // probing further (RFC 9156 §2.3 fallback; kresd stops minimising here too).
                    minimise = false;
                    continue;
            }
            // NODATA, or data of another kind: no zone cut here; add a label.
            probeLabels++;
            if (++probes >= _limits.MaxMinimisationProbes) minimise = false;
        }
    }

    /// <summary>
    /// RFC 8109 priming: asks the hint servers for the root NS set; on success the NS set and its glue are cached
    /// (so later iterations start from them) and returned as the delegation. On failure the hints are used as they are.
    /// </summary>
    private async ValueTask<Delegation> PrimeRootAsync(Delegation hints, int depth)
    {
        var reply = await QueryDelegationAsync(hints, DnsName.Root, RRType.NS, depth);
        if (reply.Response is not { Kind: ResponseKind.Answer } response) return hints;
        var ns = RRset.Collect(response.Message.Answers, DnsName.Root, RRType.NS);
        if (ns is null) return hints;
        _cache.Store(ns, response.Authoritative ? TrustRank.AuthoritativeAnswer : TrustRank.NonAuthoritativeAnswer);
        var primed = BuildDelegation(DnsName.Root, ns, response.Message, DnsName.Root, DelegationSource.Referral);
        // Servers without usable addresses would need glueless lookups from the root itself: keep the hints then.
        foreach (var server in primed.NameServers)
            if (server.Addresses.Count > 0) return primed;
        return hints;
    }

    /// <summary>
    /// The closest forward zone for <paramref name="name"/>, unless a stub zone below it is closer: the most specific
    /// configured zone wins (Unbound punches a hole in the forward tree for every stub zone, iter_fwdstub).
    /// </summary>
    private ForwardZone? FindForwardZone(DnsName name)
    {
        ForwardZone? best = null;
        foreach (var zone in _options.ForwardZones)
            if (name.IsSubdomainOf(zone.Name) && (best is null || zone.Name.LabelCount > best.Name.LabelCount)) best = zone;
        if (best is null) return null;
        foreach (var stub in _options.StubZones)
            if (name.IsSubdomainOf(stub.Name) && stub.Name.LabelCount > best.Name.LabelCount) return null;
        return best;
    }

    /// <summary>The deepest of: the closest cached NS set, a configured stub zone, the root hints.</summary>
    private Delegation StartingDelegation(DnsName name, bool withStubs = true)
    {
        StubZone? stub = null;
        if (withStubs)
            foreach (var zone in _options.StubZones)
                if (name.IsSubdomainOf(zone.Name) && (stub is null || zone.Name.LabelCount > stub.Name.LabelCount)) stub = zone;

        var cached = _cache.FindClosestNameServers(name, RRClass.IN);
        if (cached is not null && (stub is null || cached.RRset.Name.LabelCount > stub.Name.LabelCount))
            return BuildDelegation(cached.RRset.Name, cached.RRset, null, cached.RRset.Name, DelegationSource.Cache);
        if (stub is not null)
            return Delegation.FromAddresses(stub.Name, DelegationSource.StubZone, stub.Servers);
        return HintsDelegation();
    }

    private bool IsStubFirst(DnsName zoneCut)
    {
        foreach (var zone in _options.StubZones)
            if (zone.First && zone.Name == zoneCut) return true;
        return false;
    }

    private Delegation HintsDelegation()
    {
        var servers = new List<NameServer>(_options.RootHints.Servers.Count);
        foreach (var hint in _options.RootHints.Servers)
        {
            var addresses = new List<IPEndPoint>(hint.Addresses.Count);
            foreach (var a in hint.Addresses) addresses.Add(new IPEndPoint(a, 53));
            servers.Add(new NameServer(hint.Name, addresses) { AddressesResolved = true });
        }
        return new Delegation(DnsName.Root, DelegationSource.RootHints, servers);
    }

    /// <summary>Caches a referral's NS set and acceptable glue and returns the child delegation.</summary>
    private Delegation AcceptReferral(ClassifiedResponse response, Delegation parent)
    {
        var cut = response.ReferralCut!;
        var ns = RRset.Collect(response.Message.Authority, cut, RRType.NS)!;
        _cache.Store(ns, TrustRank.NonAuthoritativeAuthority);
        if (_options.Validation) StoreDelegationSigner(response.Message, cut, parent.ZoneCut);
        return BuildDelegation(cut, ns, response.Message, parent.ZoneCut, DelegationSource.Referral);
    }

    /// <summary>
    /// Validation on: a referral carries the child's signed DS RRset, or the signed NSEC/NSEC3 records proving it has
    /// none (RFC 4035 §3.1.4). Both are cached (unchecked) for the validator, which would otherwise ask the parent
    /// for the DS again, as Unbound and kresd do not.
    /// </summary>
    private void StoreDelegationSigner(DnsMessage message, DnsName cut, DnsName parentZone)
    {
        var ds = RRset.Collect(message.Authority, cut, RRType.DS);
        if (ds is not null)
        {
            var sigs = SignaturesFor(message.Authority, cut, RRType.DS);
            if (sigs is not null) _cache.Store(ds, TrustRank.NonAuthoritativeAnswer, ValidationState.Unchecked, sigs);
            return;
        }
        List<ResourceRecord>? proofs = null;
        uint ttl = uint.MaxValue;
        foreach (var rr in message.Authority)
        {
            bool proof = rr.Type is RRType.NSEC or RRType.NSEC3 || rr.Data is RrsigData { TypeCovered: RRType.NSEC or RRType.NSEC3 };
            if (!proof || !Bailiwick.Contains(parentZone, rr.Name)) continue;
            (proofs ??= []).Add(rr);
            ttl = Math.Min(ttl, rr.Ttl);
        }
        if (proofs is null) return;
        var denial = new NegativeAnswer(NegativeKind.NoData, cut, RRType.DS, RRClass.IN, null) { Authority = proofs, ProofTtl = ttl };
        _cache.StoreNegative(denial, TrustRank.NonAuthoritativeAuthority);
    }

    /// <summary>
    /// Builds a delegation from an NS set: addresses from the message's glue (only for the NS targets, and with
    /// harden-glue only in the bailiwick of the zone that sent it), then from the cache.
    /// </summary>
    private Delegation BuildDelegation(DnsName cut, RRset ns, DnsMessage? message, DnsName senderZone, DelegationSource source)
    {
        var servers = new List<NameServer>(ns.Data.Count);
        foreach (var data in ns.Data)
        {
            if (data is not NameData { Target: var target }) continue;
            var addresses = new List<IPEndPoint>();
            if (message is not null && (!_options.HardenGlue || target.IsSubdomainOf(senderZone)))
            {
                foreach (var family in (ReadOnlySpan<RRType>)[RRType.A, RRType.AAAA])
                {
                    var glue = RRset.Collect(message.Additional, target, family);
                    if (glue is null) continue;
                    _cache.Store(glue, TrustRank.Additional);
                    _cache.StoreParentSideGlue(glue);
                    foreach (var g in glue.Data) addresses.Add(new IPEndPoint(((AddressData)g).Address, 53));
                    if (!_parentSideGlue.TryGetValue(target, out var parentSide)) _parentSideGlue[target] = parentSide = [];
                    foreach (var g in glue.Data)
                    {
                        var endpoint = new IPEndPoint(((AddressData)g).Address, 53);
                        if (!parentSide.Contains(endpoint)) parentSide.Add(endpoint);
                    }
                }
            }
            if (addresses.Count == 0) AddCachedAddresses(target, addresses);
            servers.Add(new NameServer(target, addresses));
        }
        return new Delegation(cut, source, servers);
    }

    private void AddCachedAddresses(DnsName target, List<IPEndPoint> addresses)
    {
        foreach (var family in (ReadOnlySpan<RRType>)[RRType.A, RRType.AAAA])
        {
            var cached = _cache.Get(target, family, RRClass.IN);
            if (cached is null) continue;
            foreach (var a in cached.RRset.Data) addresses.Add(new IPEndPoint(((AddressData)a).Address, 53));
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Final responses

    /// <summary>
    /// Turns the response to the full question into a step, caching what it proves. DNSSEC validation will slot in
    /// here: before caching, the validator checks the RRsets (fetching DS/DNSKEY through this resolution's exchanges,
    /// so they share its budget) and the cache stores the resulting <see cref="ValidationState"/>.
    /// </summary>
    private Step Finish(ClassifiedResponse response, Delegation delegation, DnsName name, RRType type)
    {
        var message = response.Message;
        var bailiwick = delegation.Bailiwick;
        var answerRank = response.Authoritative ? TrustRank.AuthoritativeAnswer : TrustRank.NonAuthoritativeAnswer;
        var authorityRank = response.Authoritative ? TrustRank.AuthoritativeAuthority : TrustRank.NonAuthoritativeAuthority;
        switch (response.Kind)
        {
            case ResponseKind.NoData:
            {
                var negative = new NegativeAnswer(NegativeKind.NoData, name, type, RRClass.IN, response.Soa) { Authority = NegativeAuthority(message, bailiwick, _options.Validation) };
                _cache.StoreNegative(negative, authorityRank);
                return NegativeStep(Rcode.NoError, negative, []);
            }
            case ResponseKind.NameError:
            {
                var negative = new NegativeAnswer(NegativeKind.NameError, name, type, RRClass.IN, response.Soa) { Authority = NegativeAuthority(message, bailiwick, _options.Validation) };
                _cache.StoreNegative(negative, authorityRank);
                return NegativeStep(Rcode.NXDomain, negative, []);
            }
        }

        // The zone's own NS set in an authoritative answer's authority section outranks the parent's referral copy
        // (RFC 2181 §5.4.1): cache it, so later queries see every server the zone names (Unbound does; when the
        // glued servers fail, the others are then looked up: Unbound iter_pcnamech). Not with promiscuous scrubbing,
        // where that RRset is dropped from positive answers as a poisoning vector (Unbound iter_scrub_promiscuous).
        if (!_options.ScrubPromiscuous && response.Authoritative && !delegation.IsForwarding && RRset.Collect(message.Authority, delegation.ZoneCut, RRType.NS) is { } zoneNs)
            _cache.Store(zoneNs, TrustRank.AuthoritativeAuthority);

        // Answer: follow the alias chain inside the response, as far as it stays in bailiwick.
        var records = new List<ResourceRecord>();
        var owner = name;
        int links = 0;
        var owners = new HashSet<DnsName> { name };
        while (true)
        {
            if (type == RRType.ANY && Bailiwick.Contains(bailiwick, owner))
            {
                // QTYPE ANY is passed through: whatever the authority chose to send (RFC 8482), not cached.
                int before = records.Count;
                foreach (var rr in message.Answers)
                    if (rr.Name.Equals(owner) && rr.Class == RRClass.IN) records.Add(rr);
                if (records.Count > before) return new Step(StepKind.Answer, records) { Links = links, Authority = _options.Validation ? WildcardProofs(message) : [] };
            }
            // QTYPE CNAME under a DNAME: the CNAME at the name is the one synthesised from the DNAME (RFC 6672 §3.4),
            // unsigned; the answer is the DNAME and that CNAME.
            var dnameAbove = type == RRType.CNAME ? FindDname(message, bailiwick, owner) : null;
            var data = type == RRType.ANY || dnameAbove is not null ? null : RRset.Collect(message.Answers, owner, type);
            if (data is not null && Bailiwick.Contains(bailiwick, owner))
            {
                StoreAnswer(message, data, answerRank, records);
                // Validating: NSEC/NSEC3 proofs of a wildcard expansion, for the validator (and DO clients).
                return new Step(StepKind.Answer, records) { Links = links, Authority = _options.Validation ? WildcardProofs(message) : [] };
            }
            if (links > _limits.MaxAliasChain) break;
            // A DNAME above the owner wins over the CNAME the server synthesised from it (RFC 6672 §3.4).
            var dname = dnameAbove ?? FindDname(message, bailiwick, owner);
            if (dname is not null && dname.Data[0] is NameData dnameTarget)
            {
                StoreAnswer(message, dname, answerRank, records);
                var synthesized = Synthesize(owner, dname.Name, dnameTarget.Target, dname.Ttl, records);
                if (synthesized.Kind == StepKind.YXDomain) return synthesized;
                if (type == RRType.CNAME)
                    return new Step(StepKind.Answer, records) { Links = links + 1, Authority = _options.Validation ? WildcardProofs(message) : [] };
                owner = synthesized.Target!;
                links++;
                if (!owners.Add(owner)) break; // a loop: the caller sees the target again and stops
                continue;
            }
            var cname = type == RRType.CNAME ? null : RRset.Collect(message.Answers, owner, RRType.CNAME);
            if (cname is not null && Bailiwick.Contains(bailiwick, owner) && cname.Data[0] is NameData cnameTarget)
            {
                StoreAnswer(message, cname, answerRank, records);
                owner = cnameTarget.Target;
                links++;
                if (!owners.Add(owner)) break;
                continue;
            }
            break;
        }

        if (links == 0) return Step.Fail(new ResolutionFailure(EdeCode.InvalidData, $"no usable answer for {name} {type}"));

        // The chain ends at a name the response has no data for. If the same zone proves it empty, that is the
        // answer; otherwise resolution restarts at the target.
        if (Bailiwick.Contains(bailiwick, owner))
        {
            var soa = Bailiwick.FindSoa(message, bailiwick, owner, out _);
            if (soa is not null || (message.Rcode == Rcode.NXDomain && response.Authoritative))
            {
                var kind = message.Rcode == Rcode.NXDomain ? NegativeKind.NameError : NegativeKind.NoData;
                var negative = new NegativeAnswer(kind, owner, type, RRClass.IN, soa) { Authority = NegativeAuthority(message, bailiwick, _options.Validation) };
                _cache.StoreNegative(negative, authorityRank);
                return NegativeStep(message.Rcode == Rcode.NXDomain ? Rcode.NXDomain : Rcode.NoError, negative, records, links);
            }
        }
        // Validating: the proofs of a wildcard-expanded alias travel with the chain to the validator (and DO clients).
        return new Step(StepKind.Alias, records) { Target = owner, Links = links, Authority = _options.Validation ? WildcardProofs(message) : [] };
    }

    private Step NegativeStep(Rcode rcode, NegativeAnswer negative, List<ResourceRecord> records, int links = 0)
    {
        uint ttl = Math.Min(negative.Ttl, (uint)_options.MaxNegativeTtl.TotalSeconds);
        return new Step(StepKind.Negative, records)
        {
            NegativeRcode = rcode, Soa = negative.Soa?.WithTtl(ttl), Authority = CapTtl(negative.Authority, ttl), Links = links,
        };
    }

    /// <summary>
    /// The authority records a negative answer passes on besides its SOA: the in-bailiwick, non-DNSSEC records the
    /// zone's server sent (typically its NS RRset). kresd copies a final negative response's in-bailiwick authority
    /// section to the client (iterate.c pick_authority), and the deckard corpus expects that shape. DNSSEC proofs are
    /// left to the validator.
    /// </summary>
    private static IReadOnlyList<ResourceRecord> NegativeAuthority(DnsMessage message, DnsName bailiwick, bool keepProofs = false)
    {
        List<ResourceRecord>? list = null;
        foreach (var rr in message.Authority)
        {
            // Validating: the NSEC/NSEC3 proofs and the RRSIGs (the SOA's too) go to the validator.
            if (rr.Type == RRType.SOA || rr.Class != RRClass.IN) continue;
            if (!keepProofs && rr.Type is RRType.RRSIG or RRType.NSEC or RRType.NSEC3) continue;
            if (!Bailiwick.Contains(bailiwick, rr.Name)) continue;
            list ??= [];
            if (!list.Exists(rr.SameData)) list.Add(rr);
        }
        return list ?? (IReadOnlyList<ResourceRecord>)[];
    }

    /// <summary>Validation on: the RRSIGs covering (owner, type) in a section, to cache with the RRset; otherwise null.</summary>
    private List<RrsigData>? SignaturesFor(IReadOnlyList<ResourceRecord> section, DnsName owner, RRType type)
    {
        if (!_options.Validation) return null;
        List<RrsigData>? sigs = null;
        foreach (var rr in section)
            if (rr.Data is RrsigData sig && sig.TypeCovered == type && rr.Name.Equals(owner)) (sigs ??= []).Add(sig);
        return sigs;
    }

    /// <summary>
    /// Validation on: the RRSIGs covering an answer RRset, from the answer section, or failing that from the other
    /// sections (some servers misplace them; Unbound's parser attaches them to their RRset wherever they are).
    /// </summary>
    private List<RrsigData>? AnswerSignatures(DnsMessage message, DnsName owner, RRType type) =>
        SignaturesFor(message.Answers, owner, type) ?? SignaturesFor(message.Authority, owner, type) ?? SignaturesFor(message.Additional, owner, type);

    /// <summary>Caches an answer RRset with its RRSIGs and appends both to the step's records.</summary>
    private void StoreAnswer(DnsMessage message, RRset rrset, TrustRank rank, List<ResourceRecord> records)
    {
        var sigs = AnswerSignatures(message, rrset.Name, rrset.Type);
        _cache.Store(rrset, rank, ValidationState.Unchecked, sigs);
        rrset.AppendRecords(records, rrset.Ttl);
        if (sigs is null) return;
        foreach (var sig in sigs)
        {
            var rr = new ResourceRecord(rrset.Name, rrset.Class, rrset.Ttl, sig);
            if (!records.Exists(rr.SameData)) records.Add(rr);
        }
    }

    private static IReadOnlyList<ResourceRecord> WithAliasProofs(List<ResourceRecord>? aliasProofs, IReadOnlyList<ResourceRecord> final)
    {
        if (aliasProofs is null) return final;
        foreach (var rr in final)
            if (!aliasProofs.Exists(rr.SameData)) aliasProofs.Add(rr);
        return aliasProofs;
    }

    private static IReadOnlyList<ResourceRecord> WildcardProofs(DnsMessage message)
    {
        List<ResourceRecord>? list = null;
        foreach (var rr in message.Authority)
        {
            bool proof = rr.Type is RRType.NSEC or RRType.NSEC3 || rr.Data is RrsigData { TypeCovered: RRType.NSEC or RRType.NSEC3 };
            if (proof) (list ??= []).Add(rr);
        }
        return list ?? (IReadOnlyList<ResourceRecord>)[];
    }

    private static IReadOnlyList<ResourceRecord> CapTtl(IReadOnlyList<ResourceRecord> records, uint ttl)
    {
        if (records.Count == 0) return records;
        var capped = new List<ResourceRecord>(records.Count);
        foreach (var rr in records) capped.Add(rr.Ttl > ttl ? rr.WithTtl(ttl) : rr);
        return capped;
    }

    private static RRset? FindDname(DnsMessage message, DnsName bailiwick, DnsName owner)
    {
        foreach (var rr in message.Answers)
            if (rr.Type == RRType.DNAME && owner.IsStrictSubdomainOf(rr.Name) && Bailiwick.Contains(bailiwick, rr.Name))
                return RRset.Collect(message.Answers, rr.Name, RRType.DNAME);
        return null;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Talking to a delegation's servers

    private readonly record struct ServerReply(ClassifiedResponse? Response, ResolutionFailure? Failure);

    /// <summary>
    /// Asks the delegation's servers, one at a time, until one gives a usable response. Servers with known
    /// addresses go first (in the selector's order, known-lame ones last); then glueless NS names are resolved,
    /// at most <see cref="Limits.MaxGluelessNameServers"/> of them.
    /// </summary>
    private async ValueTask<ServerReply> QueryDelegationAsync(Delegation delegation, DnsName name, RRType type, int depth)
    {
        var question = new Question(name, type, RRClass.IN);
        var tried = new HashSet<IPEndPoint>();
        int exchanges = 0;
        int unreachable = 0;
        var candidates = new List<IPEndPoint>();
        // Servers held off for sending bogus data: asked after every other server, glueless ones included.
        List<IPEndPoint>? heldOff = null;
        foreach (var server in delegation.NameServers) AddCandidates(server.Addresses, delegation, tried, candidates);
        OrderCandidates(candidates, delegation, ref heldOff);

        var result = await TryServersAsync(candidates, delegation, question);
        if (result.Response is not null || _abort is not null) return Conclude(result.Response);
        exchanges += result.Exchanges;
        unreachable += result.Unreachable;
        var recursionLame = result.RecursionLame;

        int lookups = 0;
        foreach (var server in delegation.NameServers)
        {
            if (server.AddressesResolved || server.Name is null) continue;
            if (server.Addresses.Count > 0 && AnyQueryable(server.Addresses, delegation)) continue;
            if (lookups >= _limits.MaxGluelessNameServers)
            {
                _partialBound = ResolutionFailure.Bound("glueless NS lookups per delegation", _limits.MaxGluelessNameServers);
                break;
            }
            lookups++;
            server.AddressesResolved = true;
            await ResolveAddressesAsync(server, depth);
            if (_abort is not null) return Conclude(null);
            candidates.Clear();
            AddCandidates(server.Addresses, delegation, tried, candidates);
            OrderCandidates(candidates, delegation, ref heldOff);
            result = await TryServersAsync(candidates, delegation, question);
            if (result.Response is not null || _abort is not null) return Conclude(result.Response);
            exchanges += result.Exchanges;
            unreachable += result.Unreachable;
            recursionLame ??= result.RecursionLame;
        }

        // Last resort: addresses the parent zone gave as glue for these NS names, where the child's own data for
        // them (already tried) differs or could not be resolved.
        candidates.Clear();
        foreach (var server in delegation.NameServers)
        {
            if (server.Name is null) continue;
            if (_parentSideGlue.TryGetValue(server.Name, out var parentSide)) AddCandidates(parentSide, delegation, tried, candidates);
            foreach (var family in (ReadOnlySpan<RRType>)[RRType.A, RRType.AAAA])
            {
                // Learnt by earlier resolutions (deckard/Unbound iter_pcnamerec: the glue came with another query).
                var cached = _cache.GetParentSideGlue(server.Name, family, RRClass.IN);
                if (cached is null) continue;
                var endpoints = new List<IPEndPoint>(cached.RRset.Data.Count);
                foreach (var a in cached.RRset.Data) endpoints.Add(new IPEndPoint(((AddressData)a).Address, 53));
                AddCandidates(endpoints, delegation, tried, candidates);
            }
        }
        OrderCandidates(candidates, delegation, ref heldOff);
        // The very last resort: the servers held off for bogus data (the zone may have no other).
        if (heldOff is not null) candidates.AddRange(heldOff);
        if (candidates.Count > 0)
        {
            result = await TryServersAsync(candidates, delegation, question);
            if (result.Response is not null || _abort is not null) return Conclude(result.Response);
            exchanges += result.Exchanges;
            unreachable += result.Unreachable;
            recursionLame ??= result.RecursionLame;
        }

        // Every server that answered is recursion-lame: its answer is better than none (Unbound's last resort).
        if (recursionLame is not null) return new ServerReply(recursionLame, null);
        if (exchanges == 0 && _partialBound is not null) return new ServerReply(null, _partialBound);
        if (exchanges == 0)
            return new ServerReply(null, new ResolutionFailure(EdeCode.NoReachableAuthority, $"no usable server address for {delegation.ZoneCut}"));
        string what = unreachable == exchanges ? "no server answered" : "no server gave a usable answer";
        return new ServerReply(null, new ResolutionFailure(EdeCode.NoReachableAuthority, $"{what} for {delegation.ZoneCut} ({exchanges} tried)"));

        ServerReply Conclude(ClassifiedResponse? response) =>
            response is not null ? new ServerReply(response, null) : new ServerReply(null, _abort);
    }

    private bool AnyQueryable(List<IPEndPoint> addresses, Delegation delegation)
    {
        foreach (var a in addresses)
            if (AddressPolicy.MayQuery(a.Address, _options, delegation.IsConfigured)) return true;
        return false;
    }

    private void AddCandidates(List<IPEndPoint> addresses, Delegation delegation, HashSet<IPEndPoint> tried, List<IPEndPoint> candidates)
    {
        foreach (var address in addresses)
            if (AddressPolicy.MayQuery(address.Address, _options, delegation.IsConfigured) && tried.Add(address)) candidates.Add(address);
    }

    /// <summary>
    /// Orders the candidates (selector order, known-lame ones last) and moves those held off for bogus data to
    /// <paramref name="heldOff"/>, which is created when first needed.
    /// </summary>
    private void OrderCandidates(List<IPEndPoint> candidates, Delegation delegation, ref List<IPEndPoint>? heldOff)
    {
        int kept = 0;
        for (int i = 0; i < candidates.Count; i++)
        {
            var a = candidates[i];
            if (_bogusServers.IsLame(a.Address, delegation.ZoneCut)) (heldOff ??= []).Add(a);
            else candidates[kept++] = a;
        }
        if (kept < candidates.Count) candidates.RemoveRange(kept, candidates.Count - kept);
        if (candidates.Count <= 1) return;
        _selector.Order(candidates, delegation.ZoneCut);
        // Known-lame servers go last: still a last resort when nothing else answers.
        var lame = new List<IPEndPoint>();
        int write = 0;
        for (int i = 0; i < candidates.Count; i++)
        {
            var a = candidates[i];
            if (_lame.IsLame(a.Address, delegation.ZoneCut)) lame.Add(a);
            else candidates[write++] = a;
        }
        foreach (var a in lame) candidates[write++] = a;
    }

    private readonly record struct Attempts(ClassifiedResponse? Response, int Exchanges, int Unreachable, ClassifiedResponse? RecursionLame = null);

    private async ValueTask<Attempts> TryServersAsync(List<IPEndPoint> servers, Delegation delegation, Question question)
    {
        int exchanges = 0, unreachable = 0;
        ClassifiedResponse? recursionLame = null;
        foreach (var server in servers)
        {
            var message = await ExchangeAsync(server, question, delegation);
            if (_abort is not null) return new Attempts(null, exchanges, unreachable);
            exchanges++;
            if (message is null) { unreachable++; continue; }
            PrivateAddressFilter.Scrub(message, _options.PrivateAddresses, _options.PrivateDomains);
            NsRecordLimit.Apply(message, _options.MaxNsRecords);
            var classified = ResponseClassifier.Classify(message, delegation.ZoneCut, question.Name, question.Type, delegation.IsForwarding);
            switch (classified.Kind)
            {
                case ResponseKind.Lame:
                    if (classified.Lameness is { } lameness) _lame.MarkLame(server.Address, delegation.ZoneCut, lameness);
                    if (classified.LastResort is { } lastResort) recursionLame ??= new ClassifiedResponse(lastResort, message);
                    continue;
                case ResponseKind.ServerFailure:
                    continue;
                default:
                    if (_options.Validation) (Sources ??= []).Add((delegation.ZoneCut, server.Address));
                    return new Attempts(classified, exchanges, unreachable);
            }
        }
        return new Attempts(null, exchanges, unreachable, recursionLame);
    }

    /// <summary>One exchange with one server (over TCP again if the UDP answer was truncated); null if no valid response.</summary>
    private async ValueTask<DnsMessage?> ExchangeAsync(IPEndPoint server, Question question, Delegation delegation)
    {
        string? tlsName = delegation.TlsNames?.GetValueOrDefault(server);
        var transport = tlsName is not null ? UpstreamTransport.Tls : _options.TcpUpstream || _tcpOnly ? UpstreamTransport.Tcp : UpstreamTransport.Udp;
        while (true)
        {
            if (_cancellation.IsCancellationRequested)
            {
                _abort = new ResolutionFailure(EdeCode.Other, "resolution cancelled");
                return null;
            }
            if (_clock.UtcNow >= _deadline)
            {
                _abort = ResolutionFailure.Bound("resolution time", $"{_limits.MaxResolutionTime.TotalSeconds:0.###} s");
                return null;
            }
            if (!Budget.TryTake())
            {
                _abort = ResolutionFailure.Bound("upstream queries", Budget.Max);
                return null;
            }
            UpstreamQueries++;
            var query = DnsMessage.CreateQuery(0, question.Name, question.Type, question.Class, recursionDesired: delegation.IsForwarding, dnssecOk: _options.Validation);
            ExchangeResult result;
            try
            {
                result = await _exchanger.ExchangeAsync(new ExchangeRequest(query, server, transport, delegation.Bailiwick) { TlsServerName = tlsName }, _cancellation);
            }
            catch (OperationCanceledException) when (_cancellation.IsCancellationRequested)
            {
                _abort = new ResolutionFailure(EdeCode.Other, "resolution cancelled");
                return null;
            }
            Report(new UpstreamExchange(server, question, delegation.ZoneCut, result.Transport, result.Status, result.Response, result.RoundTrip));
            if (result.Status != ExchangeStatus.Response || result.Response is null) return null;
            var response = result.Response;
            if (!Bailiwick.QuestionMatches(response, question)) return null;
            if (response.Has(HeaderFlags.TC))
            {
                if (transport == UpstreamTransport.Udp) { transport = UpstreamTransport.Tcp; continue; }
                return null;
            }
            return response;
        }
    }

    private void Report(UpstreamExchange exchange)
    {
        _options.Trace?.Invoke(exchange);
        _requestTrace?.Invoke(exchange);
    }

    /// <summary>Looks up an NS name's addresses as a sub-resolution: A first, AAAA only if IPv6 is on (and A gave nothing usable).</summary>
    private async ValueTask ResolveAddressesAsync(NameServer server, int depth)
    {
        if (depth + 1 > _limits.MaxSubResolutionDepth)
        {
            _partialBound = ResolutionFailure.Bound("sub-resolution depth", _limits.MaxSubResolutionDepth);
            return;
        }
        if (_options.UseIPv4) await AddAddressesAsync(server, RRType.A, depth + 1);
        if (_abort is not null) return;
        if (_options.UseIPv6 && server.Addresses.Count == 0) await AddAddressesAsync(server, RRType.AAAA, depth + 1);
    }

    private async ValueTask AddAddressesAsync(NameServer server, RRType type, int depth)
    {
        var outcome = await ResolveAsync(server.Name!, type, depth);
        if (outcome.Rcode != Rcode.NoError) return;
        foreach (var rr in outcome.Answer)
            if (rr.Type == type && rr.Data is AddressData a) server.Addresses.Add(new IPEndPoint(a.Address, 53));
    }
}

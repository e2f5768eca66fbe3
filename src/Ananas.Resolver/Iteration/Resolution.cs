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
internal sealed class Resolution : ServerQueries.IAddressLookup
{
    private readonly RecursorOptions _options;
    private readonly PeerCompatibility _peer;
    private readonly Limits _limits;
    private readonly IRecordCache _cache;
    private readonly IClock _clock;
    private readonly ServerQueries _servers;
    private readonly DelegationFinder _delegations;
    private readonly AnswerSteps _answers;
    // The budget of a client query's own resolution, reused when the resolution is (ResolutionPool).
    private readonly UpstreamBudget _ownBudget;
    // The (name, type) pairs being iterated, for dependency cycles: the outermost in a field, the nested ones (glueless
    // NS lookups) in a set created when first needed, so that a resolution without sub-resolutions allocates none.
    private (DnsName Name, RRType Type)? _outermost;
    private HashSet<(DnsName, RRType)>? _nested;

    /// <param name="context">The recursor's options and shared state; its bogus server list holds servers that sent data
    /// failing DNSSEC validation, asked only when the zone's other servers (glueless ones included) gave no usable answer.</param>
    /// <param name="upstreamBudget">The client query's upstream budget when this is one of its sub-resolutions (validation's
    /// DS and DNSKEY fetches); a new one of <see cref="Limits.MaxUpstreamQueries"/> otherwise.</param>
    public Resolution(RecursorContext context, IExchanger exchanger, Request request, CancellationToken cancellation, UpstreamBudget? upstreamBudget = null)
        : this(context)
    {
        Begin(exchanger, request, cancellation, upstreamBudget);
    }

    /// <summary>An idle resolution for <see cref="ResolutionPool"/>: <see cref="Begin"/> starts each use.</summary>
    internal Resolution(RecursorContext context)
    {
        var (options, cache, lame, bogusServers, selector, clock, peer) = context;
        _peer = peer;
        _options = options;
        _limits = options.Limits;
        _cache = cache;
        _clock = clock;
        _ownBudget = new UpstreamBudget(options.Limits.MaxUpstreamQueries);
        _servers = new ServerQueries(options, cache, lame, bogusServers, selector, clock, this);
        _delegations = new DelegationFinder(options, cache, _servers);
        _answers = new AnswerSteps(options, cache);
    }

    /// <summary>
    /// Starts the work for one client query: every per-query field is set again, so that a reused instance carries
    /// nothing over from its previous query (whose holders must have let go of it: <see cref="ResolutionPool.Return"/>).
    /// </summary>
    internal void Begin(IExchanger exchanger, Request request, CancellationToken cancellation, UpstreamBudget? upstreamBudget = null)
    {
        _cacheOnly = !request.Query.Has(HeaderFlags.RD);
        _staleWindow = TimeSpan.Zero;
        _refresh = false;
        UsedStale = PrefetchWanted = AnsweredFromCache = NeededRecursion = false;
        UncachedName = null;
        UncachedChain = null;
        _outermost = null;
        _nested = null;
        var latest = _clock.UtcNow + _limits.MaxResolutionTime;
        var deadline = request.Deadline is { } d && d < latest ? d : latest;
        if (upstreamBudget is null) _ownBudget.Reset(_limits.MaxUpstreamQueries);
        _servers.Begin(exchanger, request.Trace, deadline, upstreamBudget ?? _ownBudget, cancellation);
    }

    /// <summary>Lets go of the query's objects (exchanger, request trace, sources, chains) while the resolution is idle.</summary>
    internal void End()
    {
        UncachedName = null;
        UncachedChain = null;
        _nested = null;
        _servers.End();
    }

    /// <summary>Upstream exchanges this resolution made (its share of <see cref="Budget"/>).</summary>
    public int UpstreamQueries => _servers.UpstreamQueries;

    /// <summary>The client query's upstream budget, which this resolution draws on.</summary>
    public UpstreamBudget Budget => _servers.Budget;

    /// <summary>When this client query's time is up: the request's deadline or <see cref="Limits.MaxResolutionTime"/> from the start.</summary>
    public DateTimeOffset Deadline => _servers.Deadline;

    /// <summary>
    /// Validation on: the servers whose responses this resolution used (referrals and answers, sub-resolutions
    /// included), with the zone cut each was asked for; null when none. When the data fails validation these are the
    /// servers to hold off (<see cref="Limits.MaxValidationRetries"/>). Emptied when the resolution is reused: copied by those keeping it.
    /// </summary>
    public List<(DnsName ZoneCut, IPAddress Server)>? Sources => _servers.Sources;

    // RD=0: the client asked for local data only (RFC 1034 §4.3.1), so the cache answers or nothing does.
    private bool _cacheOnly;
    private TimeSpan _staleWindow;
    private bool _refresh;

    /// <summary>Answer from the cache only, accepting data expired up to this long ago (RFC 8767 serve-stale).</summary>
    public TimeSpan StaleWindow
    {
        get => _staleWindow;
        init { _staleWindow = value; if (value > TimeSpan.Zero) _cacheOnly = true; }
    }

    /// <summary>A refresh (prefetch or stale refresh): the client's own names are asked upstream, not read from the cache.</summary>
    public bool Refresh { get => _refresh; init => _refresh = value; }

    /// <summary>True when a stale entry was used (only with <see cref="StaleWindow"/>).</summary>
    public bool UsedStale { get; private set; }

    /// <summary>True when the answer used an RRset with at most a tenth of its TTL left (Unbound's prefetch rule).</summary>
    public bool PrefetchWanted { get; private set; }

    /// <summary>True when an RRset of the client's answer chain was read from the cache (rather than received in this resolution).</summary>
    public bool AnsweredFromCache { get; private set; }

    /// <summary>True when a cache-only (RD=0) resolution needed data the cache does not hold.</summary>
    public bool NeededRecursion { get; private set; }

    /// <summary>When <see cref="NeededRecursion"/>: the name the cache held nothing for (the client's, or an alias target).</summary>
    public DnsName? UncachedName { get; private set; }

    /// <summary>When <see cref="NeededRecursion"/>: the alias chain read from the cache up to <see cref="UncachedName"/> (RFC 1034
    /// §4.3.2 step 3c), with its cached RRSIGs; null or empty when the client's own name was not cached.</summary>
    public List<ResourceRecord>? UncachedChain { get; private set; }

    /// <summary>Resolves (name, type): the answer with its alias chain, a negative answer, or a failure.</summary>
    public async ValueTask<ResolutionOutcome> ResolveAsync(DnsName name, RRType type, int depth)
    {
        List<ResourceRecord>? answer = null;
        var current = name;
        // Created when an alias is followed: most resolutions have no chain.
        HashSet<DnsName>? visited = null;
        List<ResourceRecord>? aliasProofs = null;
        HashSet<DnsName>? aliasTails = null;
        int links = 0;
        while (true)
        {
            var cached = LookupCache(current, type, depth);
            var step = cached ?? await IterateAsync(current, type, depth);
            if (cached is null && step.Links > 0) AddAliasTails(step.Records, current, ref aliasTails);
            // The same record twice (a DNAME applied at two steps of a chain) is sent once (RFC 2181 §5). The first
            // step's list, made for it alone, becomes the answer.
            if (answer is null)
            {
                answer = step.Records;
                AnswerSteps.RemoveRepeats(answer);
            }
            else
            {
                foreach (var rr in step.Records)
                    AnswerSteps.AddIfNew(answer, rr);
            }
            switch (step.Kind)
            {
                case StepKind.Answer:
                    return new ResolutionOutcome(Rcode.NoError, answer) { Authority = AnswerSteps.WithAliasProofs(aliasProofs, step.Authority), AliasTails = aliasTails };
                case StepKind.Negative:
                    return new ResolutionOutcome(step.NegativeRcode, answer) { Soa = step.Soa, Authority = AnswerSteps.WithAliasProofs(aliasProofs, step.Authority), AliasTails = aliasTails };
                case StepKind.YXDomain:
                    return new ResolutionOutcome(Rcode.YXDomain, answer);
                case StepKind.Failure:
                    if (NeededRecursion && depth == 0) UncachedChain = answer;
                    return ResolutionOutcome.Fail(step.Failure!);
            }
            links += step.Links;
            // NSEC/NSEC3 proofs of the alias steps (a wildcard CNAME's), ahead of the final step's, as Unbound
            // prepends them (val_cnamewctonodata).
            if (step.Authority.Count > 0) (aliasProofs ??= []).AddRange(step.Authority);
            if (links > _limits.MaxAliasChain)
                return ResolutionOutcome.Fail(ResolutionFailure.Bound("alias chain", _limits.MaxAliasChain));
            current = step.Target!;
            // A loop is an error (RFC 1034 §3.6.2); the chain up to it is shown unless PeerCompatibility says otherwise.
            if (!(visited ??= [name]).Add(current))
                return ResolutionOutcome.Fail(new ResolutionFailure(EdeCode.Other, $"alias loop at {current}"), _peer.AliasLoopShowsChain ? answer : null);
        }
    }

    /// <summary>The owners, other than the step's own name and DNAMEs, of a response's records that followed an alias.</summary>
    private static void AddAliasTails(List<ResourceRecord> records, DnsName name, ref HashSet<DnsName>? tails)
    {
        foreach (var rr in records)
            if (rr.Type is not (RRType.RRSIG or RRType.DNAME) && !rr.Name.Equals(name)) (tails ??= []).Add(rr.Name);
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
            var synthesized = AnswerSteps.Synthesize(name, owner, dnameTarget.Target, dname.RemainingTtl, records);
            // QTYPE CNAME: the synthesised CNAME is the answer, not followed.
            return type == RRType.CNAME && synthesized.Kind == StepKind.Alias ? new Step(StepKind.Answer, records) : synthesized;
        }
        var negative = _cache.GetNegative(name, type, RRClass.IN, StaleWindow);
        if (negative is not null)
        {
            UsedStale |= negative.Stale;
            var rcode = negative.Answer.Kind == NegativeKind.NameError ? Rcode.NXDomain : Rcode.NoError;
            return new Step(StepKind.Negative, []) { NegativeRcode = rcode, Soa = negative.Soa, Authority = AnswerSteps.CapTtl(negative.Answer.Authority, negative.RemainingTtl) };
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

    // ---------------------------------------------------------------------------------------------------------
    // Iteration

    /// <summary>Iterates for one name from the closest known delegation (RFC 1034 §5.3.3), with QNAME minimisation.</summary>
    private async ValueTask<Step> IterateAsync(DnsName name, RRType type, int depth)
    {
        if (_servers.Abort is not null) return Step.Fail(_servers.Abort);
        if (_cacheOnly)
        {
            NeededRecursion = true;
            UncachedName ??= name;
            return Step.Fail(new ResolutionFailure(EdeCode.NotAuthoritative, "recursion not desired (RD=0) and no cached answer"));
        }
        bool outermost = _outermost is null;
        if (outermost) _outermost = (name, type);
        else if (_outermost == (name, type) || !(_nested ??= []).Add((name, type)))
            return Step.Fail(new ResolutionFailure(EdeCode.Other, $"dependency cycle resolving {name} {type}"));
        try
        {
            return await IterateCoreAsync(name, type, depth);
        }
        finally
        {
            if (outermost) _outermost = null;
            else _nested!.Remove((name, type));
        }
    }

    private async ValueTask<Step> IterateCoreAsync(DnsName name, RRType type, int depth)
    {
        // The parent side answers DS (RFC 4035 §3.1.4.1), so iteration for DS starts above the name, and the DS of a
        // forward zone's apex is asked where its parent is resolved, not of the zone's forwarders (as Unbound does).
        var searchName = type == RRType.DS && !name.IsRoot ? name.Parent : name;
        var forward = _delegations.FindForwardZone(searchName);
        if (forward is not null)
        {
            var forwarders = Delegation.FromAddresses(forward.Name, DelegationSource.ForwardZone, forward.Servers, forward.TlsNames);
            _servers.TcpOnly = forward.Tcp;
            var reply = await _servers.QueryDelegationAsync(forwarders, name, type, depth);
            _servers.TcpOnly = false;
            if (reply.Failure is null) return _answers.Finish(reply.Response!, forwarders, name, type);
            // forward-first: when the forwarders fail, resolve the name by iteration instead (Unbound forward-first).
            if (!forward.First || _servers.Abort is not null) return Step.Fail(reply.Failure);
        }

        var delegation = _delegations.StartingDelegation(searchName);
        if (delegation.Source == DelegationSource.RootHints && _options.PrimeRoot)
            delegation = await _delegations.PrimeRootAsync(delegation, depth);
        bool minimise = _options.QnameMinimisation;
        // The label count up to which probes go: the full name itself too when the QTYPE is to be kept from parents.
        int probeLimit = _options.MinimiseFullName && type is not (RRType.A or RRType.DS) && type != _peer.MinimisationProbeType
            ? name.LabelCount + 1
            : name.LabelCount;
        int probeLabels = delegation.ZoneCut.LabelCount + 1;
        int probes = 0;
        int referrals = 0;
        while (true)
        {
            bool minimising = minimise && probeLabels < probeLimit;
            var queryName = minimising ? name.GetAncestor(probeLabels) : name;
            var queryType = minimising ? _peer.MinimisationProbeType : type;
            var reply = await _servers.QueryDelegationAsync(delegation, queryName, queryType, depth);
            if (reply.Failure is not null)
            {
                if (_servers.Abort is not null) return Step.Fail(_servers.Abort);
                if (minimising)
                {
                    // Servers that mishandle NS probes: fall back to the full name (RFC 9156 §2.3).
                    minimise = false;
                    continue;
                }
                if (delegation.Source == DelegationSource.Cache && !delegation.ZoneCut.IsRoot && ++referrals <= _limits.MaxReferralDepth)
                {
                    // A cached delegation that no longer works (expired glue, servers moved): ask its parent again.
                    delegation = _delegations.StartingDelegation(delegation.ZoneCut.Parent);
                    probeLabels = delegation.ZoneCut.LabelCount + 1;
                    continue;
                }
                if (delegation.Source == DelegationSource.Cache && delegation.ZoneCut.IsRoot && ++referrals <= _limits.MaxReferralDepth)
                {
                    // The cached root NS set (e.g. from an answer, without glue) does not work: back to the hints.
                    delegation = _delegations.HintsDelegation();
                    probeLabels = 1;
                    continue;
                }
                if (delegation.Source == DelegationSource.StubZone && _delegations.IsStubFirst(delegation.ZoneCut) && ++referrals <= _limits.MaxReferralDepth)
                {
                    // stub-first: the stub's authorities failed; iterate as if no stub zone were configured (Unbound stub-first).
                    delegation = _delegations.StartingDelegation(searchName, withStubs: false);
                    probeLabels = delegation.ZoneCut.LabelCount + 1;
                    continue;
                }
                return Step.Fail(reply.Failure);
            }

            var response = reply.Response!;
            if (response.Kind == ResponseKind.Referral)
            {
                // A parent that answers the DS query with its referral to the name still sends the DS RRset there
                // (RFC 4035 §3.1.4.1 puts it in the answer): it is the answer, validated like any (Unbound iter_ds_referral).
                if (type == RRType.DS && !minimising && name.Equals(response.ReferralCut) && _answers.DelegationSignerInReferral(response, name) is { } ds)
                    return ds;
                if (++referrals > _limits.MaxReferralDepth)
                    return Step.Fail(ResolutionFailure.Bound("referral depth", _limits.MaxReferralDepth));
                delegation = _delegations.AcceptReferral(response, delegation);
                probeLabels = delegation.ZoneCut.LabelCount + 1;
                continue;
            }

            if (!minimising) return _answers.Finish(response, delegation, name, type);

            // A minimisation probe (queryName, probe type) was answered.
            if (HasDname(response.Message, queryName))
            {
                // A DNAME at the probe name redirects every name below it (RFC 6672 §2.3): probing deeper names finds
                // nothing the full name's answer would not give; ask it (kresd does, deckard val_dname).
                minimise = false;
                continue;
            }
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
                        Authority = AnswerSteps.NegativeAuthority(response.Message, delegation.Bailiwick, _options.Validation),
                    };
                    _cache.StoreNegative(denial, TrustRank.AuthoritativeAuthority);
                    return _answers.NegativeStep(Rcode.NXDomain, denial, []);
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

    /// <summary>Whether a probe's negative answer shows a DNAME at <paramref name="owner"/>: its NSEC there lists one.</summary>
    private static bool HasDname(DnsMessage message, DnsName owner)
    {
        foreach (var rr in message.Authority)
            if (rr.Data is NsecData nsec && rr.Name.Equals(owner) && nsec.Contains(RRType.DNAME)) return true;
        return false;
    }

    /// <summary>Looks up an NS name's addresses as a sub-resolution: A first, AAAA only if IPv6 is on (and A gave nothing usable).</summary>
    async ValueTask ServerQueries.IAddressLookup.ResolveAddressesAsync(NameServer server, int depth)
    {
        if (depth + 1 > _limits.MaxSubResolutionDepth)
        {
            _servers.PartialBound = ResolutionFailure.Bound("sub-resolution depth", _limits.MaxSubResolutionDepth);
            return;
        }
        if (_options.UseIPv4) await AddAddressesAsync(server, RRType.A, depth + 1);
        if (_servers.Abort is not null) return;
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

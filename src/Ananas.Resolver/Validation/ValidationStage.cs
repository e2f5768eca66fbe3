using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;
using Ananas.Resolver.Iteration;
using Ananas.Resolver.Infrastructure;

namespace Ananas.Resolver.Validation;

/// <summary>
/// The resolver's validation stage: when to validate an outcome, what the client sees of it (SERVFAIL for bogus, AD,
/// DNSSEC records), and which servers are held off for bogus data. Made once by the <see cref="Recursor"/> from its
/// <see cref="RecursorContext"/>; thread-safe like it.
/// </summary>
internal sealed class ValidationStage
{
    private readonly RecursorContext _context;
    private readonly RecursorOptions _options;
    private readonly IRecordCache _cache;
    private readonly IClock _clock;
    private readonly ILameServerList _bogusServers;

    public ValidationStage(RecursorContext context)
    {
        _context = context;
        _options = context.Options;
        _cache = context.Cache;
        _clock = context.Clock;
        _bogusServers = context.BogusServers;
        BogusKeySets = new FailureCache(context.Clock, BogusKeySetCapacityBytes);
    }

    /// <summary>1 MiB: thousands of bogus zones; a flood of them evicts its own entries, nothing else.</summary>
    private const long BogusKeySetCapacityBytes = 1L << 20;

    /// <summary>
    /// Zones whose DNSKEY RRset was proven bogus, keyed (zone, DNSKEY), for <see cref="RecursorOptions.BogusCacheTtl"/>:
    /// the validator takes the verdict instead of fetching and computing the key set again (Unbound's bogus key entries).
    /// </summary>
    public FailureCache BogusKeySets { get; }

    /// <summary>Zones' secure key sets derived by earlier queries, kept while the cache holds their DS and DNSKEY RRsets.</summary>
    public ValidatedKeySets KeySets { get; } = new();

    /// <param name="Notice">An Extended DNS Error for an answer that is passed on but not trusted (e.g. EDE 27 for
    /// NSEC3 iterations above the limit, RFC 9276 §3.2).</param>
    internal readonly record struct Validated(ResolutionOutcome Outcome, bool Secure, int UpstreamQueries, bool Bogus = false, ExtendedErrorOption? Notice = null);

    /// <summary>
    /// Validates the outcome when validation is on, the client did not set CD, and a trust anchor (and no negative
    /// one) covers the name. Bogus becomes SERVFAIL with the primitives' EDE. DNSKEY and DS are fetched as
    /// sub-resolutions through <paramref name="exchanger"/>. A bogus verdict is not final while the zone that sent the
    /// bad data has other servers: those that sent it are held off and the answer and its chain are fetched again
    /// (Unbound's validation blacklist and restart), at most <see cref="Limits.MaxValidationRetries"/> times.
    /// </summary>
    public ValueTask<Validated> ValidateAsync(Request request, IExchanger exchanger, Question question, ResolutionOutcome outcome, Resolution resolution, CancellationToken cancellationToken)
    {
        // Checked apart from the validation itself, whose sub-resolution closure would otherwise be allocated for every query.
        if (!_options.Validation || request.Query.Has(HeaderFlags.CD)) return new(new Validated(outcome, false, 0));
        if (outcome.Rcode is not (Rcode.NoError or Rcode.NXDomain)) return new(new Validated(outcome, false, 0));
        if (!Validator.Covers(_options.TrustAnchors, _options.NegativeTrustAnchors, question.Name)) return new(new Validated(outcome, false, 0));
        return ValidateCoveredAsync(request, exchanger, question, outcome, resolution, cancellationToken);
    }

    /// <summary>
    /// The validator's fetches for one client query (DNSKEY, DS, data lacking RRSIGs): sub-resolutions within the query's
    /// deadline and upstream budget, bypassing the cache for the name asked.
    /// </summary>
    private sealed class SubResolutions(RecursorContext context, Request request, IExchanger exchanger, Resolution resolution, CancellationToken cancellationToken)
    {
        public int Queries;

        // The servers whose data the current attempt used, by the zone cut they were asked for (made when first needed).
        public List<(DnsName ZoneCut, IPAddress Server)>? Sources = resolution.Sources is { } answered ? [.. answered] : null;

        public async ValueTask<ResolutionOutcome> ResolveAsync(DnsName name, RRType type)
        {
            // The client query's deadline and upstream budget: a fetch for the validator is part of its work.
            var sub = new Request(DnsMessage.CreateQuery(0, name, type, RRClass.IN, recursionDesired: true, dnssecOk: true)) { Deadline = resolution.Deadline, Trace = request.Trace };
            var subResolution = new Resolution(context, exchanger, sub, cancellationToken, resolution.Budget) { Refresh = true };
            var result = await subResolution.ResolveAsync(name, type, 0);
            Queries += subResolution.UpstreamQueries;
            if (subResolution.Sources is { } used) (Sources ??= []).AddRange(used);
            return result;
        }
    }

    private IClock ValidationClock => _options.ValidationTime is { } pinned ? new PinnedClock(pinned) : _clock;

    private Validator NewValidator(IClock clock, SubResolutions fetches, ValidationBudget budget, bool validatedCacheOnly, bool askAliasTails = false) =>
        new(_options.TrustAnchors, _cache, clock, fetches.ResolveAsync, _context.Peer.ValidateDsa, _options.NegativeTrustAnchors, _options.Limits.Dnssec,
            _options.AggressiveNsec ? _cache.SecureNsec : null, validatedCacheOnly, budget, KeySets)
        {
            KnownBogusKeys = BogusKeySets.Count == 0 ? null : zone => BogusKeySets.Get(zone, RRType.DNSKEY, checkingDisabled: false),
            AskAliasTails = askAliasTails,
        };

    /// <summary>
    /// The verdict on each RRset (its records and RRSIGs), judged one by one as the validator judges an answer's RRsets,
    /// with one DNSSEC work budget for all. Unsigned data the cache does not hold as secure is, for the first
    /// <paramref name="refetchable"/> RRsets, fetched again with its RRSIGs, as cached answer data lacking them is (the
    /// fetched RRset, when secure, replaces it in <paramref name="rrsets"/>); past those it is Insecure: it proves nothing
    /// either way (a referral's NS RRset and glue are unsigned by nature, RFC 4035 §2.2). Validation off, or CD set:
    /// every RRset is Insecure.
    /// </summary>
    public async ValueTask<(ValidationVerdict[] Verdicts, int UpstreamQueries)> JudgeRRsetsAsync(Request request, IExchanger exchanger,
        List<List<ResourceRecord>> rrsets, int refetchable, Resolution resolution, CancellationToken cancellationToken)
    {
        var verdicts = new ValidationVerdict[rrsets.Count];
        var fetches = new SubResolutions(_context, request, exchanger, resolution, cancellationToken);
        var validator = NewValidator(ValidationClock, fetches, new ValidationBudget(_options.Limits.Dnssec), validatedCacheOnly: false);
        for (int i = 0; i < rrsets.Count; i++)
        {
            var records = rrsets[i];
            var data = records.Find(r => r.Type != RRType.RRSIG)!;
            if (!_options.Validation || request.Query.Has(HeaderFlags.CD) || !Validator.Covers(_options.TrustAnchors, _options.NegativeTrustAnchors, data.Name))
                verdicts[i] = ValidationVerdict.Insecure("not validated");
            else if (records.Exists(r => r.Type == RRType.RRSIG))
                verdicts[i] = await validator.ValidateAsync(data.Name, data.Type, new ResolutionOutcome(Rcode.NoError, records));
            else if (_cache.Get(data.Name, data.Type, RRClass.IN) is { Validation: ValidationState.Secure })
                verdicts[i] = ValidationVerdict.Secure;
            else if (i >= refetchable)
                verdicts[i] = ValidationVerdict.Insecure("unsigned");
            else if (await fetches.ResolveAsync(data.Name, data.Type) is { Rcode: Rcode.NoError } fetched &&
                     fetched.Answer.Exists(r => r.Type == data.Type && r.Name.Equals(data.Name)))
            {
                verdicts[i] = await validator.ValidateAsync(data.Name, data.Type, fetched);
                if (verdicts[i].State == ValidationState.Secure)
                    rrsets[i] = fetched.Answer.FindAll(r => r.Name.Equals(data.Name) && (r.Type == data.Type || r.Data is RrsigData sig && sig.TypeCovered == data.Type));
            }
            else
                verdicts[i] = ValidationVerdict.Insecure("unsigned, and not had again");
        }
        return (verdicts, fetches.Queries);
    }

    private async ValueTask<Validated> ValidateCoveredAsync(Request request, IExchanger exchanger, Question question, ResolutionOutcome outcome, Resolution resolution, CancellationToken cancellationToken)
    {
        var fetches = new SubResolutions(_context, request, exchanger, resolution, cancellationToken);
        // Data answered from the cache has no RRSIGs: unless the cache holds it as validated, fetch it again. (Data
        // received in this very resolution came with every RRSIG the server has: asking again would bring none.)
        if (resolution.AnsweredFromCache && LacksSignatures(outcome, request.Query.Edns?.DnssecOk == true)) outcome = await fetches.ResolveAsync(question.Name, question.Type);
        var clock = ValidationClock;
        var limits = _options.Limits;
        // One budget for every attempt: retries must not multiply the KeyTrap bounds.
        var budget = new ValidationBudget(limits.Dnssec);
        bool tailRefetched = false;
        for (int retries = 0; ; retries++)
        {
            // A retry trusts only what was validated before: the unchecked cached DS and DNSKEY may be the bad data.
            bool askTail = !tailRefetched && budget.Exhausted is null && retries < limits.MaxValidationRetries && request.Query.Has(HeaderFlags.RD);
            var validator = NewValidator(clock, fetches, budget, validatedCacheOnly: retries > 0, askTail);
            var verdict = await validator.ValidateAsync(question.Name, question.Type, outcome);
            if (verdict.State != ValidationState.Bogus)
            {
                var notice = verdict is { State: ValidationState.Insecure, Ede: { } code } ? new ExtendedErrorOption(code, verdict.Reason) : null;
                return new(outcome, verdict.State == ValidationState.Secure, fetches.Queries, Notice: notice);
            }
            string reason = verdict.Reason;
            // The bad RRset is a later link of the answer's alias chain: only the record describing the alias is
            // necessarily authoritative, the rest may come from the server's cache, and "where authoritative answers
            // are required, the client should query again, using the canonical name" (RFC 2181 §5.4.1). Once per query.
            if (askTail && validator.AliasTail is { } tailName)
            {
                tailRefetched = true;
                var tail = await fetches.ResolveAsync(tailName, question.Type);
                if (tail.Rcode is Rcode.NoError or Rcode.NXDomain && Validator.ChainPrefix(outcome.Answer, question.Name, tailName) is { } prefix)
                {
                    prefix.AddRange(tail.Answer);
                    outcome = new ResolutionOutcome(tail.Rcode, prefix) { Soa = tail.Soa, Authority = AnswerSteps.WithAliasProofs(AliasProofs(outcome.Authority), tail.Authority) };
                }
                // Judged again either way, now probing an unsigned tail for the zone cut that would make it insecure.
                continue;
            }
            // Out of validation budget, the data is as bad as the work it costs: no server is blamed, no retry. A
            // query without RD is answered from the cache alone, so nothing is asked again.
            // A key set already known bogus is not asked for again either.
            if (budget.Exhausted is null && !validator.UsedKnownBogusKeys && HoldOffSenders(validator.BogusData, fetches.Sources) && request.Query.Has(HeaderFlags.RD))
            {
                // Worth asking again: the work spent so far counts against the query's bounds.
                string? bound = null;
                if (retries >= limits.MaxValidationRetries) bound = Limits.Describe("validation retries", limits.MaxValidationRetries);
                else if (resolution.Budget.Exhausted) bound = Limits.Describe("upstream queries", limits.MaxUpstreamQueries);
                else if (_clock.UtcNow >= resolution.Deadline) bound = Limits.Describe("resolution time", $"{limits.MaxResolutionTime.TotalSeconds:0.###} s");
                if (bound is null)
                {
                    fetches.Sources?.Clear();
                    var again = await fetches.ResolveAsync(question.Name, question.Type);
                    // The other servers failed outright: the bogus verdict is the more telling answer.
                    if (again.Rcode is Rcode.NoError or Rcode.NXDomain)
                    {
                        outcome = again;
                        continue;
                    }
                }
                else
                {
                    reason = $"{reason}; {bound}";
                }
            }
            // The final verdict on a zone's key set is kept (Unbound's bogus key entries, val-bogus-ttl): the next query
            // into the zone neither fetches nor computes it again.
            if (validator.BogusKeys is var (zone, ede, why) && !validator.UsedKnownBogusKeys)
                BogusKeySets.Store(zone, RRType.DNSKEY, checkingDisabled: false, new ResolutionFailure(ede, why), _options.BogusCacheTtl);
            return new(ResolutionOutcome.Fail(new ResolutionFailure(verdict.Ede ?? EdeCode.DnssecBogus, reason) { Bogus = true }), false, fetches.Queries, Bogus: true);
        }
    }

    /// <summary>The NSEC/NSEC3 records (and their RRSIGs) among an answer's authority records: the proofs its alias links may need.</summary>
    private static List<ResourceRecord>? AliasProofs(IReadOnlyList<ResourceRecord> authority)
    {
        List<ResourceRecord>? proofs = null;
        foreach (var rr in authority)
            if (rr.Type is RRType.NSEC or RRType.NSEC3 || rr.Data is RrsigData { TypeCovered: RRType.NSEC or RRType.NSEC3 }) (proofs ??= []).Add(rr);
        return proofs;
    }

    /// <summary>
    /// Holds off, for the zone they were asked for, the servers that sent the bad RRset: those of the deepest zone cut
    /// at or above its owner (strictly above for DS, which the parent serves) that this attempt used. True when
    /// asking again may help: a server was newly held off and the zone has another one. Bad data read from the cache
    /// (no sender in this query) was judged when it came, and is not fetched again.
    /// </summary>
    private bool HoldOffSenders((DnsName Owner, RRType Type)? bogusData, List<(DnsName ZoneCut, IPAddress Server)>? sources)
    {
        if (bogusData is not var (owner, type) || sources is null) return false;
        DnsName? cut = null;
        foreach (var source in sources)
        {
            bool serves = type == RRType.DS ? owner.IsStrictSubdomainOf(source.ZoneCut) : owner.IsSubdomainOf(source.ZoneCut);
            if (serves && (cut is null || source.ZoneCut.LabelCount > cut.LabelCount)) cut = source.ZoneCut;
        }
        if (cut is null) return false;
        bool newlyHeldOff = false;
        foreach (var source in sources)
        {
            if (!source.ZoneCut.Equals(cut) || _bogusServers.IsLame(source.Server, cut)) continue;
            _bogusServers.MarkLame(source.Server, cut, Lameness.Bogus);
            newlyHeldOff = true;
        }
        return newlyHeldOff && HasServerNotHeldOff(cut);
    }

    /// <summary>
    /// Whether the zone has a server not held off for bogus data: a configured forwarder or stub server, or a name in
    /// its cached NS set whose address is not held off or not known yet (it will be looked up).
    /// </summary>
    private bool HasServerNotHeldOff(DnsName zone)
    {
        foreach (var forward in _options.ForwardZones)
            if (forward.Name.Equals(zone) && AnyNotHeldOff(forward.Servers, zone)) return true;
        foreach (var stub in _options.StubZones)
            if (stub.Name.Equals(zone) && AnyNotHeldOff(stub.Servers, zone)) return true;
        var ns = _cache.Get(zone, RRType.NS, RRClass.IN);
        if (ns is null) return false;
        foreach (var data in ns.RRset.Data)
        {
            if (data is not NameData { Target: var target }) continue;
            bool known = false;
            foreach (var family in (ReadOnlySpan<RRType>)[RRType.A, RRType.AAAA])
            {
                if (_cache.Get(target, family, RRClass.IN) is not { } addresses) continue;
                foreach (var a in addresses.RRset.Data)
                {
                    var address = ((AddressData)a).Address;
                    if (!AddressPolicy.MayQuery(address, _options, configured: false)) continue;
                    known = true;
                    if (!_bogusServers.IsLame(address, zone)) return true;
                }
            }
            if (!known) return true;
        }
        return false;
    }

    private bool AnyNotHeldOff(IReadOnlyList<IPEndPoint> servers, DnsName zone)
    {
        foreach (var server in servers)
            if (!_bogusServers.IsLame(server.Address, zone)) return true;
        return false;
    }

    private sealed class PinnedClock(DateTimeOffset now) : IClock
    {
        public DateTimeOffset UtcNow => now;
    }

    /// <summary>Whether an answer RRset has no RRSIG with it (the cache keeps none) and either the client wants them (DO) or the cache does not hold it as validated.</summary>
    private bool LacksSignatures(ResolutionOutcome outcome, bool dnssecOk)
    {
        foreach (var rr in outcome.Answer)
        {
            if (rr.Type == RRType.RRSIG) continue;
            // A CNAME synthesised from a DNAME in the answer is never signed (RFC 6672 §5.3.1): the DNAME is judged.
            if (rr.Type == RRType.CNAME && outcome.Answer.Exists(d => d.Type == RRType.DNAME && rr.Name.IsStrictSubdomainOf(d.Name))) continue;
            if (outcome.Answer.Exists(s => s.Data is RrsigData sig && sig.TypeCovered == rr.Type && s.Name.Equals(rr.Name))) continue;
            // Validated without signatures before: insecure (there are none to give), or secure and the client
            // does not want them.
            var cached = _cache.Get(rr.Name, rr.Type, RRClass.IN);
            if (cached is { Validation: ValidationState.Insecure } || (!dnssecOk && cached is { Validation: ValidationState.Secure })) continue;
            return true;
        }
        return false;
    }

    /// <summary>
    /// AD only for secure data and a client that asked for it (DO or AD, RFC 6840 §5.8); without DO the DNSSEC
    /// records the validator needed are left out (RFC 4035 §3.2.1) unless asked for by type.
    /// </summary>
    public void ApplyDnssecFlags(DnsMessage query, DnsMessage response, bool secure)
    {
        bool dnssecOk = query.Edns?.DnssecOk == true;
        response.Set(HeaderFlags.AD, secure && (dnssecOk || query.Has(HeaderFlags.AD)));
        if (!_options.Validation || dnssecOk) return;
        var qtype = query.Questions[0].Type;
        if (response.Count(MessageSection.Answer) > 0) RemoveDnssecRecords(response.Answers, qtype);
        if (response.Count(MessageSection.Authority) > 0) RemoveDnssecRecords(response.Authority, null);
    }

    /// <summary>Removes RRSIG, NSEC and NSEC3 records other than of <paramref name="asked"/>, in place (no delegate per response).</summary>
    private static void RemoveDnssecRecords(List<ResourceRecord> records, RRType? asked)
    {
        int kept = 0;
        for (int i = 0; i < records.Count; i++)
        {
            var rr = records[i];
            if (rr.Type is RRType.RRSIG or RRType.NSEC or RRType.NSEC3 && rr.Type != asked) continue;
            records[kept++] = rr;
        }
        if (kept < records.Count) records.RemoveRange(kept, records.Count - kept);
    }
}

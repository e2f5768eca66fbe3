using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;
using Ananas.Resolver.Iteration;

namespace Ananas.Resolver.Validation;

/// <summary>The validator's verdict on one answer (RFC 4035 §4.3).</summary>
public sealed record ValidationVerdict(ValidationState State, EdeCode? Ede = null, string Reason = "")
{
    public static readonly ValidationVerdict Secure = new(ValidationState.Secure);

    public static ValidationVerdict Insecure(string reason) => new(ValidationState.Insecure, null, reason);

    public static ValidationVerdict Bogus(EdeCode? ede, string reason) => new(ValidationState.Bogus, ede ?? EdeCode.DnssecBogus, reason);
}

/// <summary>
/// Validates one client answer (RFC 4035 §5): builds the chain of trust from the closest trust anchor down to the
/// zones that signed the answer, fetching DNSKEY and DS RRsets as ordinary sub-resolutions (so the recursor stays
/// I/O-free and the exchanges go through the same exchanger). One instance per client query; not thread-safe.
/// </summary>
internal sealed class Validator
{
    /// <summary>Resolves (name, type) bypassing the cache for that name; the answer carries RRSIGs (validation is on).</summary>
    public delegate ValueTask<ResolutionOutcome> SubResolve(DnsName name, RRType type);

    private readonly IRecordCache _cache;

    private readonly RRsetVerifier _verifier;
    private readonly ValidationBudget _budget;

    private readonly SecureNsecIndex? _secureNsec;
    private readonly VerdictCache _verdicts;

    private readonly ChainOfTrust _chain;

    /// <param name="validatedCacheOnly">Cached DS and DNSKEY RRsets are used only when validated before; others are
    /// fetched again (a retry after a bogus verdict: the unchecked copies may be the bogus ones).</param>
    /// <param name="budget">The client query's DNSSEC work budget, shared by every validation of its answer (retries
    /// included); a new one from <paramref name="limits"/> when null.</param>
    public Validator(TrustAnchors anchors, IRecordCache cache, IClock clock, SubResolve resolve, bool validateDsa = false,
        IReadOnlyList<DnsName>? negativeAnchors = null, DnssecLimits? limits = null, SecureNsecIndex? secureNsec = null, bool validatedCacheOnly = false,
        ValidationBudget? budget = null, ValidatedKeySets? keySets = null)
    {
        _secureNsec = secureNsec;
        _budget = budget ?? new ValidationBudget(limits);
        _cache = cache;
        var signatures = validateDsa ? SignatureVerifier.WithDsa : SignatureVerifier.Default;
        _verifier = new RRsetVerifier(signatures, clock);
        _verdicts = new VerdictCache(cache, secureNsec is not null, validatedCacheOnly);
        _chain = new ChainOfTrust(anchors, negativeAnchors ?? [], _verdicts, _verifier, signatures.Algorithms, _budget, resolve,
            (zone, denial) => ValidateNegativeAsync(zone, RRType.DS, denial, []), keySets);
    }

    /// <summary>True when the name is under a trust anchor and no negative trust anchor (the anchors' or the options').</summary>
    public static bool Covers(TrustAnchors anchors, IReadOnlyList<DnsName> negativeAnchors, DnsName name) =>
        anchors.FindClosest(name) is not null && !ChainOfTrust.IsUnderNegativeAnchor(anchors, negativeAnchors, name);

    /// <summary>
    /// After a bogus verdict: the RRset (owner, type) whose check failed first, for the recursor to tell which
    /// servers sent it; null when the verdict is not bogus.
    /// </summary>
    public (DnsName Owner, RRType Type)? BogusData => _chain.BogusData;

    /// <summary>The verdicts of zones whose key sets earlier queries proved bogus (null: none kept).</summary>
    public Func<DnsName, ResolutionFailure?>? KnownBogusKeys { get => _chain.KnownBogusKeys; init => _chain.KnownBogusKeys = value; }

    /// <summary>True when a zone's keys were taken as bogus from <see cref="KnownBogusKeys"/> (nothing to fetch again).</summary>
    public bool UsedKnownBogusKeys => _chain.UsedKnownBogusKeys;

    /// <summary>After a bogus verdict: the first zone whose key set proved bogus, and why; null when none did.</summary>
    public (DnsName Zone, EdeCode Ede, string Reason)? BogusKeys => _chain.BogusKeys;

    /// <summary>
    /// The caller asks a bad tail of the answer's alias chain again by its own name (RFC 2181 §5.4.1): an unsigned one is
    /// then judged bogus at once, before any probing for a zone cut that would make it insecure.
    /// </summary>
    public bool AskAliasTails { get; init; }

    /// <summary>After a bogus verdict: the owner of the alias chain's later link, sent in the same response as the alias,
    /// whose data was the bad RRset; null otherwise.</summary>
    public DnsName? AliasTail { get; private set; }

    /// <summary>
    /// The answer's alias links from <paramref name="qname"/> up to the one whose target is <paramref name="target"/>
    /// (each CNAME with its RRSIGs, and the DNAME a synthesised CNAME comes from); null when the chain does not reach it.
    /// </summary>
    internal static List<ResourceRecord>? ChainPrefix(List<ResourceRecord> answer, DnsName qname, DnsName target)
    {
        var prefix = new List<ResourceRecord>();
        var name = qname;
        // Each link moves one name along; more links than records is a loop.
        for (int links = 0; links < answer.Count && !name.Equals(target); links++)
        {
            var cname = answer.Find(r => r.Type == RRType.CNAME && r.Name.Equals(name));
            if (cname?.Data is not NameData { Target: var next }) return null;
            foreach (var rr in answer)
            {
                bool link = rr.Name.Equals(name) && (rr.Type == RRType.CNAME || rr.Data is RrsigData { TypeCovered: RRType.CNAME });
                bool dname = (rr.Type == RRType.DNAME || rr.Data is RrsigData { TypeCovered: RRType.DNAME }) && name.IsStrictSubdomainOf(rr.Name);
                if ((link || dname) && !prefix.Exists(rr.SameData)) prefix.Add(rr);
            }
            name = next;
        }
        return name.Equals(target) ? prefix : null;
    }

    private ValidationVerdict Blame(ValidationVerdict verdict, DnsName owner, RRType type)
    {
        // The innermost failure (a zone's keys under the RRset's signature) was blamed first and stays.
        if (verdict.State == ValidationState.Bogus) _chain.BogusData ??= (owner, type);
        return verdict;
    }

    /// <summary>Validates a resolution outcome for (qname, qtype).</summary>
    public async ValueTask<ValidationVerdict> ValidateAsync(DnsName qname, RRType qtype, ResolutionOutcome outcome)
    {
        _chain.AnswerProofs = outcome.Authority;
        var verdict = ValidationVerdict.Secure;
        // The answer section, RRset by RRset (the CNAME/DNAME chain and the data).
        var sets = new List<(DnsName Name, RRType Type)>();
        foreach (var rr in outcome.Answer)
            if (rr.Type != RRType.RRSIG && !sets.Contains((rr.Name, rr.Type))) sets.Add((rr.Name, rr.Type));
        // RRSIGs are not signed themselves (RFC 4035 §5.3.1): a QTYPE RRSIG answer is passed on unvalidated, without AD.
        if (qtype == RRType.RRSIG && outcome.Answer.Count > 0 && sets.Count == 0) return ValidationVerdict.Insecure("RRSIG query");
        foreach (var (name, type) in sets)
        {
            // A CNAME synthesised from a DNAME is not signed (RFC 6672 §5.3.1); the DNAME is.
            if (type == RRType.CNAME && IsSynthesized(outcome.Answer, name)) continue;
            var records = outcome.Answer.FindAll(r => r.Type == type && r.Name.Equals(name));
            var sigs = RrsigLookup.Signatures(outcome.Answer, name, type);
            // A later link the server sent with the alias, in the same response: not necessarily authoritative.
            bool tail = outcome.AliasTails?.Contains(name) == true && !name.Equals(qname) && ChainPrefix(outcome.Answer, qname, name) is not null;
            var v = Blame(await VerifyRRsetAsync(records, sigs, outcome.Authority, askAgainFirst: tail && AskAliasTails), name, type);
            if (tail && v.State == ValidationState.Bogus && _chain.BogusData is var (badOwner, badType) && badOwner.Equals(name) && badType == type) AliasTail = name;
            verdict = Combine(verdict, v);
            if (verdict.State == ValidationState.Bogus) return verdict;
        }
        bool answered = qtype is RRType.ANY || sets.Exists(s => s.Type == qtype || (qtype == RRType.CNAME && s.Type == RRType.DNAME));
        if (outcome.Rcode == Rcode.NXDomain || (outcome.Rcode == Rcode.NoError && (!answered || outcome.Soa is not null)))
        {
            var v = Blame(await ValidateNegativeAsync(qname, qtype, outcome, sets), DenialName(qname, outcome), qtype);
            verdict = Combine(verdict, v);
        }
        return verdict;
    }

    private static ValidationVerdict Combine(ValidationVerdict a, ValidationVerdict b)
    {
        if (a.State == ValidationState.Bogus) return a;
        if (b.State == ValidationState.Bogus) return b;
        if (a.State == ValidationState.Insecure) return a;
        return b;
    }

    private static bool IsSynthesized(List<ResourceRecord> answer, DnsName name) =>
        answer.Exists(r => r.Type == RRType.DNAME && name.IsStrictSubdomainOf(r.Name));

    /// <summary>Verifies one RRset with the keys of the zone that signed it.</summary>
    private async ValueTask<ValidationVerdict> VerifyRRsetAsync(List<ResourceRecord> records, List<RrsigData> sigs, IReadOnlyList<ResourceRecord>? authority = null,
        bool askAgainFirst = false)
    {
        var owner = records[0].Name;
        var type = records[0].Type;
        if (sigs.Count == 0)
        {
            // Cached data lost its RRSIGs: the cache remembers the verdict.
            var cached = _cache.Get(owner, type, RRClass.IN);
            if (cached is { Validation: ValidationState.Secure }) return ValidationVerdict.Secure;
            if (cached is { Validation: ValidationState.Insecure } && cached.RRset.Data.Count == records.Count) return ValidationVerdict.Insecure("cached as insecure");
            // After an alias it may be the server's cached copy: asked for by its own name first (the caller does).
            if (askAgainFirst) return ValidationVerdict.Bogus(EdeCode.RrsigsMissing, $"no RRSIG for {owner} {type} after an alias");
            // Unsigned data is acceptable only in an insecure zone.
            var enclosing = await _chain.InsecurityOfAsync(owner);
            if (enclosing.State == ValidationState.Secure) return ValidationVerdict.Bogus(EdeCode.RrsigsMissing, $"no RRSIG for {owner} {type}");
            if (enclosing.State == ValidationState.Insecure && cached is { Validation: ValidationState.Unchecked } && cached.RRset.Data.Count == records.Count)
            {
                // Remembered as insecure, the cached RRset is answered without RRSIGs and without asking again.
                _cache.Store(new RRset(owner, type, RRClass.IN, cached.RemainingTtl, cached.RRset.Data), cached.Rank, ValidationState.Insecure, cached.Signatures);
            }
            return enclosing.Verdict;
        }
        // Validated before and read back from the cache: the verdict is cached with the data (no verification again).
        if (_verdicts.IsCachedSecure(records, sigs)) return ValidationVerdict.Secure;
        var signer = sigs[0].SignerName;
        if (!owner.IsSubdomainOf(signer)) return ValidationVerdict.Bogus(EdeCode.DnssecBogus, $"signer {signer} is not above {owner}");
        var zone = await _chain.KeysForAsync(signer);
        if (zone.State != ValidationState.Secure) return zone.Verdict;
        // An expansion of a wildcard validated before (RFC 8198 §5.3, or another name under it): the signatures are
        // the wildcard's, verified then; only the proof that this name does not exist is left to check.
        if (_verdicts.IsCachedSecureWildcard(records, sigs) is int wildcardLabels)
            return ProveWildcard(owner, wildcardLabels, signer, zone.Keys, authority ?? []);
        var result = _verifier.Verify(records, sigs, signer, zone.Keys, _budget);
        switch (result.Status)
        {
            case RRsetStatus.Secure when result.IsWildcardExpansion && type == RRType.DNAME:
                // A DNAME owned by a wildcard is "to be avoided or outright rejected" (RFC 4592 §4.4): what it
                // redirects to is not proven, as Unbound judges it (val_dnamewc).
                return ValidationVerdict.Bogus(EdeCode.DnssecBogus, $"{owner} DNAME is the expansion of a wildcard DNAME");
            case RRsetStatus.Secure when result.IsWildcardExpansion:
            {
                // RFC 4035 §5.3.4: the qname itself must be proven absent (no closer match exists).
                int labels = result.Signature!.Labels;
                var proven = ProveWildcard(owner, labels, signer, zone.Keys, authority ?? []);
                // Kept as the wildcard itself, secure, for aggressive use (RFC 8198 §5.3): other names it covers are
                // answered from it and the cached proofs.
                if (proven.State == ValidationState.Secure && _secureNsec is not null)
                    _verdicts.RememberWildcard(records, sigs, owner.GetAncestor(labels), result.Ttl);
                return proven;
            }
            case RRsetStatus.Secure:
                _verdicts.Remember(records, sigs, result.Ttl);
                return ValidationVerdict.Secure;
            case RRsetStatus.UnsupportedAlgorithm:
                return ValidationVerdict.Insecure(result.Reason);
            default:
                return ValidationVerdict.Bogus(result.Ede, $"{owner} {type}: {result.Reason}");
        }
    }

    private ValidationVerdict ProveWildcard(DnsName owner, int labels, DnsName signer, IReadOnlyList<DnskeyData> keys, IReadOnlyList<ResourceRecord> authority)
    {
        var proofs = VerifiedProofs(authority, signer, keys, out var failure);
        if (failure is not null) return failure;
        if (proofs.Count == 0) return ValidationVerdict.Bogus(EdeCode.NsecMissing, $"wildcard answer for {owner} without NSEC/NSEC3 proof");
        var denial = proofs.Exists(r => r.Type == RRType.NSEC3)
            ? new Nsec3Proofs(proofs.FindAll(r => r.Type == RRType.NSEC3), signer, _budget).ProveWildcardAnswer(owner, labels)
            : NsecProofs.ProveWildcardAnswer(owner, labels, proofs.FindAll(r => r.Type == RRType.NSEC), signer);
        return denial.IsProven ? ValidationVerdict.Secure : DenialVerdict(denial);
    }

    /// <summary>The NSEC/NSEC3 RRsets of a section at or below <paramref name="signer"/>, each verified with the zone's keys; <paramref name="failure"/> set if one does not verify.</summary>
    /// <remarks>With aggressive NSEC on, verified NSEC and NSEC3 RRsets are cached as secure, for at most <paramref name="ttlCap"/> seconds.</remarks>
    private List<ResourceRecord> VerifiedProofs(IReadOnlyList<ResourceRecord> section, DnsName signer, IReadOnlyList<DnskeyData> keys, out ValidationVerdict? failure, uint ttlCap = uint.MaxValue)
    {
        failure = null;
        var authority = section as List<ResourceRecord> ?? [.. section];
        var proofs = new List<ResourceRecord>();
        foreach (var rr in authority)
        {
            if (rr.Type is not (RRType.NSEC or RRType.NSEC3) || proofs.Exists(rr.SameData)) continue;
            // An alias chain through several zones brings each zone's proofs (a wildcard CNAME's, then the target's
            // denial): only this zone's names can prove anything here (Unbound val_cnamewctonodata).
            if (!rr.Name.IsSubdomainOf(signer)) continue;
            var set = authority.FindAll(r => r.Type == rr.Type && r.Name.Equals(rr.Name));
            var sigs = RrsigLookup.Signatures(authority, rr.Name, rr.Type);
            if (sigs.Count == 0) { failure = ValidationVerdict.Bogus(EdeCode.RrsigsMissing, $"no RRSIG for {rr.Name} {rr.Type}"); return proofs; }
            // Cached as secure with these very signatures (an aggressive denial, RFC 8198): verified before.
            if (_secureNsec is not null && _verdicts.IsCachedSecure(set, sigs)) { proofs.AddRange(set); continue; }
            var result = _verifier.Verify(set, sigs, signer, keys, _budget);
            if (!result.IsSecure) { failure = ValidationVerdict.Bogus(result.Ede, $"{rr.Name} {rr.Type}: {result.Reason}"); return proofs; }
            // An NSEC/NSEC3 "signed" only as the expansion of a wildcard NSEC proves nothing about its owner's
            // neighbourhood: anyone could expand it at any name (Unbound val_nx_failwc).
            if (result.IsWildcardExpansion) { failure = ValidationVerdict.Bogus(EdeCode.DnssecBogus, $"{rr.Name} {rr.Type} is a wildcard expansion"); return proofs; }
            if (_secureNsec is not null)
            {
                // Kept, secure, for aggressive use (RFC 8198): later names and types it denies are answered from it.
                _verdicts.Remember(set, sigs, Math.Min(result.Ttl, ttlCap));
                _secureNsec.Add(signer, rr.Name, rr.Type);
            }
            proofs.AddRange(set);
        }
        return proofs;
    }

    // -----------------------------------------------------------------------------------------------------------
    // Negative answers

    private async ValueTask<ValidationVerdict> ValidateNegativeAsync(DnsName qname, RRType qtype, ResolutionOutcome outcome, List<(DnsName, RRType)> answerSets)
    {
        var name = DenialName(qname, outcome);
        var soa = outcome.Soa;
        var authority = new List<ResourceRecord>(outcome.Authority);
        var proofSigner = RrsigLookup.ProofSigner(authority, name, parentSide: qtype == RRType.DS);
        if (soa is null && proofSigner is null)
        {
            // Without SOA nothing is proven: acceptable only where the name is provably insecure.
            var enclosing = await _chain.InsecurityOfAsync(name);
            return enclosing.State == ValidationState.Secure
                ? ValidationVerdict.Bogus(EdeCode.NsecMissing, $"negative answer for {name} without SOA or proof")
                : enclosing.Verdict;
        }
        // A negative answer without SOA but with signed NSEC/NSEC3 (a referral's proof of no DS, some servers' NODATA
        // and NXDOMAIN, Unbound val_cnametonx) is judged by the proof alone; with an SOA, the SOA names the zone and must verify too (RFC 4035 §5.4): a
        // forged negative TTL or zone would otherwise pass.
        var signer = soa is null ? proofSigner! : RrsigLookup.SignerOf(authority, soa.Name, RRType.SOA) ?? soa.Name;
        if (!name.IsSubdomainOf(signer)) return ValidationVerdict.Bogus(EdeCode.DnssecBogus, $"denial for {name} signed by {signer}");
        var zone = await _chain.KeysForAsync(signer);
        if (zone.State != ValidationState.Secure) return zone.Verdict;
        if (soa is not null)
        {
            var soaSigs = RrsigLookup.Signatures(authority, soa.Name, RRType.SOA);
            if (soaSigs.Count == 0) return ValidationVerdict.Bogus(EdeCode.RrsigsMissing, $"no RRSIG for {soa.Name} SOA");
            var soaCheck = _verifier.Verify([soa], soaSigs, signer, zone.Keys, _budget);
            if (!soaCheck.IsSecure) return ValidationVerdict.Bogus(soaCheck.Ede, $"{soa.Name} SOA: {soaCheck.Reason}");
            _secureNsec?.SetSoa(signer, soa, soaSigs, soaCheck.Ttl);
        }

        // Every NSEC/NSEC3 RRset must verify with the zone's keys.
        // RFC 8198 §5.4: NSECs kept from a negative answer live no longer than its SOA MINIMUM says.
        uint ttlCap = soa is { Data: SoaData soaData } ? Math.Min(soa.Ttl, soaData.Minimum) : uint.MaxValue;
        var proofs = VerifiedProofs(authority, signer, zone.Keys, out var failure, ttlCap);
        if (failure is not null) return failure;
        if (proofs.Count == 0) return ValidationVerdict.Bogus(EdeCode.NsecMissing, $"no NSEC/NSEC3 proof for {name}");
        DenialResult denial;
        if (proofs.Exists(r => r.Type == RRType.NSEC3))
        {
            var nsec3 = new Nsec3Proofs(proofs.FindAll(r => r.Type == RRType.NSEC3), signer, _budget);
            denial = outcome.Rcode == Rcode.NXDomain ? nsec3.ProveNameError(name) : nsec3.ProveNoData(name, qtype);
        }
        else
        {
            var nsecs = proofs.FindAll(r => r.Type == RRType.NSEC);
            denial = outcome.Rcode == Rcode.NXDomain
                ? NsecProofs.ProveNameError(name, nsecs, signer)
                : Either(NsecProofs.ProveNoData(name, qtype, nsecs, signer), () => NsecProofs.ProveWildcardNoData(name, qtype, nsecs, signer));
        }
        return denial.IsProven ? ValidationVerdict.Secure : DenialVerdict(denial);
    }

    /// <summary>The name a negative answer denies: the end of the alias chain.</summary>
    private static DnsName DenialName(DnsName qname, ResolutionOutcome outcome)
    {
        var name = qname;
        foreach (var rr in outcome.Answer)
            if (rr.Data is NameData target && rr.Type == RRType.CNAME && rr.Name.Equals(name)) name = target.Target;
        return name;
    }

    private static DenialResult Either(DenialResult first, Func<DenialResult> second) => first.IsProven ? first : second() is { IsProven: true } s ? s : first;

    private static ValidationVerdict DenialVerdict(DenialResult denial) =>
        denial.Status == DenialStatus.Insecure ? new ValidationVerdict(ValidationState.Insecure, denial.Ede, denial.Reason) : ValidationVerdict.Bogus(denial.Ede ?? EdeCode.NsecMissing, denial.Reason);
}

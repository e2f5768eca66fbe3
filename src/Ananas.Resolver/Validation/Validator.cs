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

    private readonly TrustAnchors _anchors;
    private readonly IReadOnlyList<DnsName> _negativeAnchors;
    private readonly IRecordCache _cache;
    private readonly RRsetVerifier _verifier;
    private readonly SubResolve _resolve;
    private readonly ValidationBudget _budget;
    private readonly DnssecAlgorithmRegistry _algorithms;
    private readonly Dictionary<DnsName, ZoneKeys> _zones = [];
    private readonly SecureNsecIndex? _secureNsec;
    private readonly bool _validatedCacheOnly;
    private IReadOnlyList<ResourceRecord> _answerProofs = [];
    private int _fetches;

    // The zone whose DNSKEY RRset is being checked, set once its DS is settled: a failure of that zone's keys is then
    // its DNSKEY's, not its DS's (no other zone's keys are computed meanwhile).
    private DnsName? _checkingKeysOf;

    private const int MaxFetches = 24;

    /// <param name="validatedCacheOnly">Cached DS and DNSKEY RRsets are used only when validated before; others are
    /// fetched again (a retry after a bogus verdict: the unchecked copies may be the bogus ones).</param>
    /// <param name="budget">The client query's DNSSEC work budget, shared by every validation of its answer (retries
    /// included); a new one from <paramref name="limits"/> when null.</param>
    public Validator(TrustAnchors anchors, IRecordCache cache, IClock clock, SubResolve resolve, bool validateDsa = false,
        IReadOnlyList<DnsName>? negativeAnchors = null, DnssecLimits? limits = null, SecureNsecIndex? secureNsec = null, bool validatedCacheOnly = false,
        ValidationBudget? budget = null)
    {
        _validatedCacheOnly = validatedCacheOnly;
        _secureNsec = secureNsec;
        _budget = budget ?? new ValidationBudget(limits);
        _anchors = anchors;
        _negativeAnchors = negativeAnchors ?? [];
        _cache = cache;
        var signatures = validateDsa ? SignatureVerifier.WithDsa : SignatureVerifier.Default;
        _algorithms = signatures.Algorithms;
        _verifier = new RRsetVerifier(signatures, clock);
        _resolve = resolve;
    }

    /// <summary>True when the name is under a trust anchor and no negative trust anchor (the anchors' or the options').</summary>
    public static bool Covers(TrustAnchors anchors, IReadOnlyList<DnsName> negativeAnchors, DnsName name) =>
        anchors.FindClosest(name) is not null && !IsUnderNegativeAnchor(anchors, negativeAnchors, name);

    private static bool IsUnderNegativeAnchor(TrustAnchors anchors, IReadOnlyList<DnsName> negativeAnchors, DnsName name)
    {
        if (anchors.IsUnderNegativeAnchor(name)) return true;
        foreach (var negative in negativeAnchors)
            if (name.IsSubdomainOf(negative)) return true;
        return false;
    }

    /// <summary>A zone's validated keys, or why there are none.</summary>
    private sealed record ZoneKeys(ValidationState State, IReadOnlyList<DnskeyData> Keys, EdeCode? Ede = null, string Reason = "")
    {
        public ValidationVerdict Verdict => State switch
        {
            ValidationState.Secure => ValidationVerdict.Secure,
            ValidationState.Insecure => ValidationVerdict.Insecure(Reason),
            _ => ValidationVerdict.Bogus(Ede, Reason),
        };
    }

    /// <summary>
    /// After a bogus verdict: the RRset (owner, type) whose check failed first, for the recursor to tell which
    /// servers sent it; null when the verdict is not bogus.
    /// </summary>
    public (DnsName Owner, RRType Type)? BogusData { get; private set; }

    private ValidationVerdict Blame(ValidationVerdict verdict, DnsName owner, RRType type)
    {
        // The innermost failure (a zone's keys under the RRset's signature) was blamed first and stays.
        if (verdict.State == ValidationState.Bogus) BogusData ??= (owner, type);
        return verdict;
    }

    /// <summary>Validates a resolution outcome for (qname, qtype).</summary>
    public async ValueTask<ValidationVerdict> ValidateAsync(DnsName qname, RRType qtype, ResolutionOutcome outcome)
    {
        _answerProofs = outcome.Authority;
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
            var sigs = Signatures(outcome.Answer, name, type);
            var v = Blame(await VerifyRRsetAsync(records, sigs, outcome.Authority), name, type);
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

    private static List<RrsigData> Signatures(IEnumerable<ResourceRecord> records, DnsName name, RRType type)
    {
        var sigs = new List<RrsigData>();
        foreach (var rr in records)
            if (rr.Data is RrsigData sig && sig.TypeCovered == type && rr.Name.Equals(name)) sigs.Add(sig);
        return sigs;
    }

    /// <summary>Verifies one RRset with the keys of the zone that signed it.</summary>
    private async ValueTask<ValidationVerdict> VerifyRRsetAsync(List<ResourceRecord> records, List<RrsigData> sigs, IReadOnlyList<ResourceRecord>? authority = null)
    {
        var owner = records[0].Name;
        var type = records[0].Type;
        if (sigs.Count == 0)
        {
            // Cached data lost its RRSIGs: the cache remembers the verdict.
            var cached = _cache.Get(owner, type, RRClass.IN);
            if (cached is { Validation: ValidationState.Secure }) return ValidationVerdict.Secure;
            if (cached is { Validation: ValidationState.Insecure } && cached.RRset.Data.Count == records.Count) return ValidationVerdict.Insecure("cached as insecure");
            // Unsigned data is acceptable only in an insecure zone.
            var enclosing = await InsecurityOfAsync(owner);
            if (enclosing.State == ValidationState.Secure) return ValidationVerdict.Bogus(EdeCode.RrsigsMissing, $"no RRSIG for {owner} {type}");
            if (enclosing.State == ValidationState.Insecure && cached is { Validation: ValidationState.Unchecked } && cached.RRset.Data.Count == records.Count)
            {
                // Remembered as insecure, the cached RRset is answered without RRSIGs and without asking again.
                _cache.Store(new RRset(owner, type, RRClass.IN, cached.RemainingTtl, cached.RRset.Data), cached.Rank, ValidationState.Insecure, cached.Signatures);
            }
            return enclosing.Verdict;
        }
        // Validated before and read back from the cache: the verdict is cached with the data (no verification again).
        if (IsCachedSecure(records, sigs)) return ValidationVerdict.Secure;
        var signer = sigs[0].SignerName;
        if (!owner.IsSubdomainOf(signer)) return ValidationVerdict.Bogus(EdeCode.DnssecBogus, $"signer {signer} is not above {owner}");
        var zone = await KeysForAsync(signer);
        if (zone.State != ValidationState.Secure) return zone.Verdict;
        // An expansion of a wildcard validated before (RFC 8198 §5.3, or another name under it): the signatures are
        // the wildcard's, verified then; only the proof that this name does not exist is left to check.
        if (IsCachedSecureWildcard(records, sigs) is int wildcardLabels)
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
                    RememberWildcard(records, sigs, owner.GetAncestor(labels), result.Ttl);
                return proven;
            }
            case RRsetStatus.Secure:
                Remember(records, sigs, result.Ttl);
                return ValidationVerdict.Secure;
            case RRsetStatus.UnsupportedAlgorithm:
                return ValidationVerdict.Insecure(result.Reason);
            default:
                return ValidationVerdict.Bogus(result.Ede, $"{owner} {type}: {result.Reason}");
        }
    }

    /// <summary>Whether the cache holds exactly these records, with these signatures, as secure.</summary>
    private bool IsCachedSecure(List<ResourceRecord> records, List<RrsigData> sigs) =>
        HoldsSecure(_cache.Get(records[0].Name, records[0].Type, RRClass.IN), records, sigs);

    /// <summary>Whether <paramref name="cached"/> is secure and holds exactly the data of these records and these signatures.</summary>
    private static bool HoldsSecure(CachedRRset? cached, List<ResourceRecord> records, List<RrsigData> sigs)
    {
        if (cached is not { Validation: ValidationState.Secure } || cached.RRset.Data.Count != records.Count || cached.Signatures.Count != sigs.Count) return false;
        foreach (var rr in records)
            if (!cached.RRset.Data.Contains(rr.Data)) return false;
        foreach (var sig in sigs)
            if (!cached.Signatures.Contains(sig)) return false;
        return true;
    }

    /// <summary>
    /// The RRSIG labels when the records are an expansion of a wildcard the cache holds as secure with the same data
    /// and these very signatures; null otherwise.
    /// </summary>
    private int? IsCachedSecureWildcard(List<ResourceRecord> records, List<RrsigData> sigs)
    {
        if (_secureNsec is null) return null;
        int labels = sigs[0].Labels;
        var owner = records[0].Name;
        if (labels >= owner.LabelCount) return null;
        foreach (var sig in sigs)
            if (sig.Labels != labels) return null;
        var cached = _cache.Get(owner.GetAncestor(labels).Prepend("*"), records[0].Type, RRClass.IN);
        return HoldsSecure(cached, records, sigs) ? labels : null;
    }

    /// <summary>Caches the wildcard RRset an expansion came from (owner <c>*.</c><paramref name="encloser"/>) as secure, with its RRSIGs.</summary>
    private void RememberWildcard(List<ResourceRecord> records, IReadOnlyList<RrsigData> sigs, DnsName encloser, uint ttl)
    {
        var rrset = RRset.Collect(records, records[0].Name, records[0].Type);
        if (rrset is null || ttl == 0) return;
        _cache.Store(new RRset(encloser.Prepend("*"), rrset.Type, rrset.Class, Math.Min(ttl, rrset.Ttl), rrset.Data), TrustRank.AuthoritativeAnswer,
            ValidationState.Secure, sigs);
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
            var sigs = Signatures(authority, rr.Name, rr.Type);
            if (sigs.Count == 0) { failure = ValidationVerdict.Bogus(EdeCode.RrsigsMissing, $"no RRSIG for {rr.Name} {rr.Type}"); return proofs; }
            // Cached as secure with these very signatures (an aggressive denial, RFC 8198): verified before.
            if (_secureNsec is not null && IsCachedSecure(set, sigs)) { proofs.AddRange(set); continue; }
            var result = _verifier.Verify(set, sigs, signer, keys, _budget);
            if (!result.IsSecure) { failure = ValidationVerdict.Bogus(result.Ede, $"{rr.Name} {rr.Type}: {result.Reason}"); return proofs; }
            // An NSEC/NSEC3 "signed" only as the expansion of a wildcard NSEC proves nothing about its owner's
            // neighbourhood: anyone could expand it at any name (Unbound val_nx_failwc).
            if (result.IsWildcardExpansion) { failure = ValidationVerdict.Bogus(EdeCode.DnssecBogus, $"{rr.Name} {rr.Type} is a wildcard expansion"); return proofs; }
            if (_secureNsec is not null)
            {
                // Kept, secure, for aggressive use (RFC 8198): later names and types it denies are answered from it.
                Remember(set, sigs, Math.Min(result.Ttl, ttlCap));
                _secureNsec.Add(signer, rr.Name, rr.Type);
            }
            proofs.AddRange(set);
        }
        return proofs;
    }

    /// <summary>Caches a verified RRset as secure, with its RRSIGs, for no longer than its signatures allow.</summary>
    private void Remember(List<ResourceRecord> records, IReadOnlyList<RrsigData> sigs, uint ttl)
    {
        var rrset = RRset.Collect(records, records[0].Name, records[0].Type);
        if (rrset is null || ttl == 0) return;
        _cache.Store(new RRset(rrset.Name, rrset.Type, rrset.Class, Math.Min(ttl, rrset.Ttl), rrset.Data), TrustRank.AuthoritativeAnswer, ValidationState.Secure, sigs);
    }

    // -----------------------------------------------------------------------------------------------------------
    // Negative answers

    private async ValueTask<ValidationVerdict> ValidateNegativeAsync(DnsName qname, RRType qtype, ResolutionOutcome outcome, List<(DnsName, RRType)> answerSets)
    {
        var name = DenialName(qname, outcome);
        var soa = outcome.Soa;
        var authority = new List<ResourceRecord>(outcome.Authority);
        var proofSigner = ProofSigner(authority, name, parentSide: qtype == RRType.DS);
        if (soa is null && proofSigner is null)
        {
            // Without SOA nothing is proven: acceptable only where the name is provably insecure.
            var enclosing = await InsecurityOfAsync(name);
            return enclosing.State == ValidationState.Secure
                ? ValidationVerdict.Bogus(EdeCode.NsecMissing, $"negative answer for {name} without SOA or proof")
                : enclosing.Verdict;
        }
        // A negative answer without SOA but with signed NSEC/NSEC3 (a referral's proof of no DS, some servers' NODATA
        // and NXDOMAIN, Unbound val_cnametonx) is judged by the proof alone; with an SOA, the SOA names the zone and must verify too (RFC 4035 §5.4): a
        // forged negative TTL or zone would otherwise pass.
        var signer = soa is null ? proofSigner! : SignerOf(authority, soa.Name, RRType.SOA) ?? soa.Name;
        if (!name.IsSubdomainOf(signer)) return ValidationVerdict.Bogus(EdeCode.DnssecBogus, $"denial for {name} signed by {signer}");
        var zone = await KeysForAsync(signer);
        if (zone.State != ValidationState.Secure) return zone.Verdict;
        if (soa is not null)
        {
            var soaSigs = Signatures(authority, soa.Name, RRType.SOA);
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

    // -----------------------------------------------------------------------------------------------------------
    // Chain of trust

    /// <summary>Whether data at <paramref name="name"/> sits in a secure zone: walks the DS RRsets from the anchor down.</summary>
    private async ValueTask<ZoneKeys> InsecurityOfAsync(DnsName name)
    {
        var anchor = _anchors.FindClosest(name);
        if (anchor is null) return new ZoneKeys(ValidationState.Insecure, [], null, "no trust anchor");
        var zone = await KeysForAsync(anchor.Zone);
        for (int labels = anchor.Zone.LabelCount + 1; labels <= name.LabelCount && zone.State == ValidationState.Secure; labels++)
        {
            var child = name.GetAncestor(labels);
            var next = await KeysForAsync(child, probing: true);
            if (next.State == ValidationState.Indeterminate) continue; // not a zone cut
            zone = next;
        }
        return zone;
    }

    /// <summary>
    /// The validated DNSKEYs of <paramref name="zone"/>: from its trust anchor, or from the DS its parent signed.
    /// With <paramref name="probing"/> a name that proves not to be a zone cut gives Indeterminate.
    /// </summary>
    private async ValueTask<ZoneKeys> KeysForAsync(DnsName zone, bool probing = false)
    {
        if (_zones.TryGetValue(zone, out var known)) return known;
        var result = await ComputeKeysAsync(zone, probing);
        if (result.State != ValidationState.Indeterminate) _zones[zone] = result;
        // The parent's servers sent a bad DS (or DS denial); the zone's own servers a bad DNSKEY RRset.
        if (result.State == ValidationState.Bogus) BogusData ??= (zone, zone.Equals(_checkingKeysOf) ? RRType.DNSKEY : RRType.DS);
        return result;
    }

    private async ValueTask<ZoneKeys> ComputeKeysAsync(DnsName zone, bool probing)
    {
        if (IsUnderNegativeAnchor(_anchors, _negativeAnchors, zone)) return new ZoneKeys(ValidationState.Insecure, [], null, "negative trust anchor");
        var anchor = _anchors.Get(zone);
        List<DsData> dsSet;
        if (anchor is not null)
        {
            dsSet = anchor.DsRecords;
        }
        else
        {
            var closest = _anchors.FindClosest(zone);
            if (closest is null) return new ZoneKeys(ValidationState.Insecure, [], null, "no trust anchor");
            var ds = CachedDelegationSigner(zone) ?? DelegationDenialInAnswer(zone);
            if (ds is null)
            {
                if (++_fetches > MaxFetches) return new ZoneKeys(ValidationState.Bogus, [], EdeCode.DnssecBogus, "chain of trust too long");
                ds = await _resolve(zone, RRType.DS);
            }
            var dsRecords = ds.Answer.FindAll(r => r.Type == RRType.DS && r.Name.Equals(zone));
            if (ds.Rcode == Rcode.NoError && dsRecords.Count > 0)
            {
                var sigs = Signatures(ds.Answer, zone, RRType.DS);
                if (sigs.Count == 0) return Bogus(EdeCode.RrsigsMissing, $"no RRSIG for {zone} DS");
                var parentName = sigs[0].SignerName;
                if (!zone.IsStrictSubdomainOf(parentName)) return Bogus(EdeCode.DnssecBogus, $"DS of {zone} signed by {parentName}");
                var parent = await KeysForAsync(parentName);
                if (parent.State != ValidationState.Secure) return parent;
                // Validated with these very signatures before (the cache keeps the verdict): no verification again.
                if (!IsCachedSecure(dsRecords, sigs))
                {
                    var verified = _verifier.Verify(dsRecords, sigs, parentName, parent.Keys, _budget);
                    if (verified.Status == RRsetStatus.UnsupportedAlgorithm) return new ZoneKeys(ValidationState.Insecure, [], null, verified.Reason);
                    if (!verified.IsSecure) return Bogus(verified.Ede, $"{zone} DS: {verified.Reason}");
                    Remember(dsRecords, sigs, verified.Ttl);
                }
                dsSet = dsRecords.ConvertAll(r => (DsData)r.Data);
            }
            else if (ds.Rcode is Rcode.NoError or Rcode.NXDomain && (ds.Soa is not null || ProofSigner(ds.Authority) is not null))
            {
                // No DS: proven insecure delegation, or (probing) no zone cut at all.
                var parentName = ds.Soa is null ? ProofSigner(ds.Authority)! : SignerOf(ds.Authority, ds.Soa.Name, RRType.SOA) ?? ds.Soa.Name;
                if (parentName.Equals(zone) || !zone.IsSubdomainOf(parentName))
                    return probing ? new ZoneKeys(ValidationState.Indeterminate, []) : Bogus(EdeCode.DnssecBogus, $"DS denial for {zone} from {parentName}");
                var parent = await KeysForAsync(parentName);
                if (parent.State != ValidationState.Secure) return parent;
                var denial = await ValidateNegativeAsync(zone, RRType.DS, ds, []);
                if (denial.State == ValidationState.Bogus) return new ZoneKeys(ValidationState.Bogus, [], denial.Ede, $"DS denial for {zone}: {denial.Reason}");
                if (probing && !IsDelegation(ds.Authority, zone, parentName)) return new ZoneKeys(ValidationState.Indeterminate, []);
                return new ZoneKeys(ValidationState.Insecure, [], null, $"no DS for {zone}");
            }
            else
            {
                // Probing for zone cuts, a failed DS lookup leaves the name in its parent's (secure) zone: fail closed.
                if (probing && ds.Rcode == Rcode.ServFail) return new ZoneKeys(ValidationState.Indeterminate, []);
                return Bogus(EdeCode.DnssecBogus, $"no DS answer for {zone} ({ds.Rcode})");
            }
        }

        _checkingKeysOf = zone;
        var dnskey = CachedWithSignatures(zone, RRType.DNSKEY);
        if (dnskey is null)
        {
            if (++_fetches > MaxFetches) return new ZoneKeys(ValidationState.Bogus, [], EdeCode.DnssecBogus, "chain of trust too long");
            dnskey = await _resolve(zone, RRType.DNSKEY);
        }
        var keyRecords = dnskey.Answer.FindAll(r => r.Type == RRType.DNSKEY && r.Name.Equals(zone));
        if (keyRecords.Count == 0) return Bogus(EdeCode.DnskeyMissing, $"no DNSKEY for {zone} ({dnskey.Rcode} {dnskey.Failure?.Text})");
        var keys = keyRecords.ConvertAll(r => (DnskeyData)r.Data);
        IReadOnlyList<DnskeyData> entry;
        if (anchor is not null && anchor.Keys.Count > 0 && dsSet.Count == 0)
        {
            entry = keys.FindAll(k => !k.IsRevoked && anchor.Keys.Exists(a => a.Algorithm == k.Algorithm && a.PublicKey.Span.SequenceEqual(k.PublicKey.Span)));
            if (entry.Count == 0) return Bogus(EdeCode.DnskeyMissing, $"no DNSKEY of {zone} matches its trust anchor");
        }
        else
        {
            var selection = DsMatcher.SelectKeys(zone, keys, dsSet, _algorithms);
            if (selection.Status == DsSelectionStatus.NoSupportedDs) return new ZoneKeys(ValidationState.Insecure, [], selection.Ede, $"{zone}: {selection.Reason}");
            if (selection.Status == DsSelectionStatus.NoMatchingKey) return Bogus(selection.Ede, selection.Reason);
            entry = selection.Keys;
        }
        var keySigs = Signatures(dnskey.Answer, zone, RRType.DNSKEY);
        if (keySigs.Count == 0) return Bogus(EdeCode.RrsigsMissing, $"no RRSIG for {zone} DNSKEY");
        // Validated from this very DS set before (the cache keeps the verdict): no verification again.
        if (IsCachedSecure(keyRecords, keySigs)) return new ZoneKeys(ValidationState.Secure, keys);
        var check = _verifier.Verify(keyRecords, keySigs, zone, entry, _budget);
        if (check.Status == RRsetStatus.UnsupportedAlgorithm) return new ZoneKeys(ValidationState.Insecure, [], check.Ede, check.Reason);
        if (!check.IsSecure) return Bogus(check.Ede, $"{zone} DNSKEY: {check.Reason}");
        Remember(keyRecords, keySigs, check.Ttl);
        return new ZoneKeys(ValidationState.Secure, keys);
    }

    /// <summary>The signer of the first RRSIG over (owner, type) in a section, or null.</summary>
    private static DnsName? SignerOf(IReadOnlyList<ResourceRecord> section, DnsName owner, RRType type)
    {
        foreach (var rr in section)
            if (rr.Data is RrsigData sig && sig.TypeCovered == type && rr.Name.Equals(owner)) return sig.SignerName;
        return null;
    }

    /// <summary>The signer of the NSEC/NSEC3 records in a section, or null when there are none signed.</summary>
    private static DnsName? ProofSigner(IReadOnlyList<ResourceRecord> section)
    {
        foreach (var rr in section)
            if (rr.Data is RrsigData { TypeCovered: RRType.NSEC or RRType.NSEC3 } sig) return sig.SignerName;
        return null;
    }

    /// <summary>
    /// The signer of the NSEC/NSEC3 records about <paramref name="name"/>: the closest enclosing zone among the
    /// signers (an alias chain also brings the proofs of the zones it went through), strictly above the name for a
    /// DS (<paramref name="parentSide"/>); failing one, any signer.
    /// </summary>
    private static DnsName? ProofSigner(IReadOnlyList<ResourceRecord> section, DnsName name, bool parentSide)
    {
        DnsName? best = null;
        foreach (var rr in section)
            if (rr.Data is RrsigData { TypeCovered: RRType.NSEC or RRType.NSEC3 } sig
                && (parentSide ? name.IsStrictSubdomainOf(sig.SignerName) : name.IsSubdomainOf(sig.SignerName))
                && (best is null || sig.SignerName.LabelCount > best.LabelCount))
                best = sig.SignerName;
        return best ?? ProofSigner(section);
    }

    /// <summary>
    /// The DS RRset of <paramref name="zone"/> (with its RRSIGs), or the signed proof that it has none, as a referral
    /// left them in the cache; null when the cache has neither and the DS must be asked for.
    /// </summary>
    private ResolutionOutcome? CachedDelegationSigner(DnsName zone)
    {
        if (CachedWithSignatures(zone, RRType.DS) is { } ds) return ds;
        // A signed denial (the referral's, without SOA, or a NODATA answer to an earlier DS query): proven again here.
        if (_validatedCacheOnly) return null;
        var denial = _cache.GetNegative(zone, RRType.DS, RRClass.IN);
        if (denial is { Answer: { Kind: NegativeKind.NoData, Authority.Count: > 0 } } && ProofSigner(denial.Answer.Authority) is not null)
            return new ResolutionOutcome(Rcode.NoError, []) { Soa = denial.Soa, Authority = denial.Answer.Authority };
        return null;
    }

    /// <summary>
    /// The answer's own signed NSEC at <paramref name="zone"/> showing a delegation (an alias chain into a child
    /// brings it from the parent's response), as a NODATA answer to the DS query it makes unnecessary; it is proven
    /// like any DS denial. Unbound answers the DS from the NSEC it has just validated (val_cnametonsec).
    /// </summary>
    private ResolutionOutcome? DelegationDenialInAnswer(DnsName zone)
    {
        List<ResourceRecord>? proof = null;
        foreach (var rr in _answerProofs)
            // The parent's side of the cut only: NS without SOA, signed by a zone above (the child's apex NSEC has SOA).
            if (rr.Name.Equals(zone) && (rr.Data is NsecData { } nsec && nsec.Contains(RRType.NS) && !nsec.Contains(RRType.SOA)
                    || rr.Data is RrsigData { TypeCovered: RRType.NSEC } sig && zone.IsStrictSubdomainOf(sig.SignerName)))
                (proof ??= []).Add(rr);
        if (proof is null || !proof.Exists(r => r.Type == RRType.NSEC) || ProofSigner(proof) is null) return null;
        return new ResolutionOutcome(Rcode.NoError, []) { Authority = proof };
    }

    /// <summary>A cached RRset with its RRSIGs, as an answer to (owner, type); null when not cached or cached unsigned.</summary>
    private ResolutionOutcome? CachedWithSignatures(DnsName owner, RRType type)
    {
        var cached = _cache.Get(owner, type, RRClass.IN);
        if (cached is null || cached.Signatures.Count == 0) return null;
        if (_validatedCacheOnly && cached.Validation != ValidationState.Secure) return null;
        var records = new List<ResourceRecord>(cached.RRset.Data.Count + cached.Signatures.Count);
        cached.AppendRecords(records);
        foreach (var sig in cached.Signatures) records.Add(new ResourceRecord(owner, RRClass.IN, cached.RemainingTtl, sig));
        return new ResolutionOutcome(Rcode.NoError, records);
    }

    private static ZoneKeys Bogus(EdeCode? ede, string reason) => new(ValidationState.Bogus, [], ede ?? EdeCode.DnssecBogus, reason);

    /// <summary>
    /// Whether the DS denial shows <paramref name="name"/> to be a delegation: its NSEC has the NS bit; its NSEC3 has
    /// it, or an opt-out NSEC3 span covers the name (an unsigned delegation may hide there, RFC 5155 §6). An NSEC3
    /// that matches the name without NS shows ordinary data in the parent's zone, which must then be signed.
    /// </summary>
    private bool IsDelegation(IReadOnlyList<ResourceRecord> authority, DnsName name, DnsName signer)
    {
        List<ResourceRecord>? nsec3 = null;
        foreach (var rr in authority)
        {
            if (rr.Type == RRType.NSEC3) (nsec3 ??= []).Add(rr);
            else if (rr.Data is NsecData nsec && rr.Name.Equals(name)) return nsec.Contains(RRType.NS);
        }
        if (nsec3 is null) return false;
        var status = new Nsec3Proofs(nsec3, signer, _budget).ProveInsecureDelegation(name).Status;
        return status is DenialStatus.Proven or DenialStatus.Insecure;
    }
}

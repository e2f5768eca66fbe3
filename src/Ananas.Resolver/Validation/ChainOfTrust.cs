using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;
using Ananas.Resolver.Iteration;

namespace Ananas.Resolver.Validation;

    /// <summary>A zone's validated keys, or why there are none.</summary>
    /// <param name="KeySetBogus">Bogus because of the zone's own DNSKEY RRset (no key matches its DS, the DS digest bound
    /// reached by its keys alone, or no DS-matched key signed it), not because of a fetch or a per-query bound: a verdict
    /// other queries may reuse.</param>
    internal sealed record ZoneKeys(ValidationState State, IReadOnlyList<DnskeyData> Keys, EdeCode? Ede = null, string Reason = "", bool KeySetBogus = false)
    {
        public ValidationVerdict Verdict => State switch
        {
            ValidationState.Secure => ValidationVerdict.Secure,
            ValidationState.Insecure => ValidationVerdict.Insecure(Reason),
            _ => ValidationVerdict.Bogus(Ede, Reason),
        };
    }

/// <summary>
/// The chain of trust (RFC 4035 §5.2): from the closest trust anchor down to a zone, each zone's DS RRset (or the
/// proof that it has none) verified with its parent's keys and its DNSKEY RRset with a DS-matched key. DS and DNSKEY
/// RRsets come from the cache or are fetched as sub-resolutions. One instance per client query; not thread-safe.
/// </summary>
internal sealed class ChainOfTrust
{
    /// <summary>Proves a DS denial (a negative answer to the DS query) with the parent zone's keys.</summary>
    public delegate ValueTask<ValidationVerdict> ProveDsDenial(DnsName zone, ResolutionOutcome denial);

    private const int MaxFetches = 24;

    private readonly TrustAnchors _anchors;

    private readonly IReadOnlyList<DnsName> _negativeAnchors;
    private readonly VerdictCache _verdicts;

    private readonly RRsetVerifier _verifier;
    private readonly DnssecAlgorithmRegistry _algorithms;

    private readonly ValidationBudget _budget;
    private readonly Validator.SubResolve _resolve;

    private readonly ProveDsDenial _proveDsDenial;
    private readonly ValidatedKeySets? _keySets;
    private readonly Dictionary<DnsName, ZoneKeys> _zones = [];

    private int _fetches;

    // The zone whose DNSKEY RRset is being checked, set once its DS is settled: a failure of that zone's keys is then
    // its DNSKEY's, not its DS's (no other zone's keys are computed meanwhile).
    private DnsName? _checkingKeysOf;

    public ChainOfTrust(TrustAnchors anchors, IReadOnlyList<DnsName> negativeAnchors, VerdictCache verdicts, RRsetVerifier verifier,
        DnssecAlgorithmRegistry algorithms, ValidationBudget budget, Validator.SubResolve resolve, ProveDsDenial proveDsDenial,
        ValidatedKeySets? keySets = null)
    {
        _keySets = keySets;
        _anchors = anchors;
        _negativeAnchors = negativeAnchors;
        _verdicts = verdicts;
        _verifier = verifier;
        _algorithms = algorithms;
        _budget = budget;
        _resolve = resolve;
        _proveDsDenial = proveDsDenial;
    }

    /// <summary>The NSEC/NSEC3 records and RRSIGs that came with the answer being validated.</summary>
    public IReadOnlyList<ResourceRecord> AnswerProofs { get; set; } = [];

    /// <summary>The verdicts of zones whose key sets earlier queries proved bogus (null: none kept).</summary>
    public Func<DnsName, ResolutionFailure?>? KnownBogusKeys { get; set; }

    /// <summary>True when a zone's keys were taken as bogus from <see cref="KnownBogusKeys"/> (nothing to fetch again).</summary>
    public bool UsedKnownBogusKeys { get; private set; }

    /// <summary>After a bogus verdict: the first zone whose key set proved bogus, and why; null when none did.</summary>
    public (DnsName Zone, EdeCode Ede, string Reason)? BogusKeys { get; private set; }

    /// <summary>The RRset (owner, type) whose check failed first; null while none has.</summary>
    public (DnsName Owner, RRType Type)? BogusData { get; set; }

    /// <summary>True under a negative trust anchor: the anchors' own or the options'.</summary>
    public static bool IsUnderNegativeAnchor(TrustAnchors anchors, IReadOnlyList<DnsName> negativeAnchors, DnsName name)
    {
        if (anchors.IsUnderNegativeAnchor(name)) return true;
        foreach (var negative in negativeAnchors)
            if (name.IsSubdomainOf(negative)) return true;
        return false;
    }

    /// <summary>Whether data at <paramref name="name"/> sits in a secure zone: walks the DS RRsets from the anchor down.</summary>
    public async ValueTask<ZoneKeys> InsecurityOfAsync(DnsName name)
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
    public async ValueTask<ZoneKeys> KeysForAsync(DnsName zone, bool probing = false)
    {
        if (_zones.TryGetValue(zone, out var known)) return known;
        if (KnownBogusKeys?.Invoke(zone) is { } failure)
        {
            // Proven bogus by an earlier query: not fetched or computed again while the verdict lives.
            UsedKnownBogusKeys = true;
            return _zones[zone] = Bogus(failure.Code, failure.Text);
        }
        var result = await ComputeKeysAsync(zone, probing);
        if (result.State != ValidationState.Indeterminate) _zones[zone] = result;
        // The parent's servers sent a bad DS (or DS denial); the zone's own servers a bad DNSKEY RRset.
        if (result.State == ValidationState.Bogus)
        {
            BogusData ??= (zone, zone.Equals(_checkingKeysOf) ? RRType.DNSKEY : RRType.DS);
            if (result.KeySetBogus) BogusKeys ??= (zone, result.Ede ?? EdeCode.DnssecBogus, result.Reason);
        }
        return result;
    }

    private async ValueTask<ZoneKeys> ComputeKeysAsync(DnsName zone, bool probing)
    {
        if (IsUnderNegativeAnchor(_anchors, _negativeAnchors, zone)) return new ZoneKeys(ValidationState.Insecure, [], null, "negative trust anchor");
        var anchor = _anchors.Get(zone);
        // Derived by an earlier query from the RRsets the cache still holds as secure: the same keys again.
        if (_keySets?.Find(zone, _verdicts.Records, anchor) is { } known
            && (known.Parent is null || (await KeysForAsync(known.Parent)).State == ValidationState.Secure))
            return known.Keys;
        List<DsData> dsSet;
        List<ResourceRecord>? dsUsed = null;
        List<RrsigData>? dsSignaturesUsed = null;
        DnsName? signerOfDs = null;
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
                var sigs = RrsigLookup.Signatures(ds.Answer, zone, RRType.DS);
                if (sigs.Count == 0) return Bogus(EdeCode.RrsigsMissing, $"no RRSIG for {zone} DS");
                var parentName = sigs[0].SignerName;
                if (!zone.IsStrictSubdomainOf(parentName)) return Bogus(EdeCode.DnssecBogus, $"DS of {zone} signed by {parentName}");
                var parent = await KeysForAsync(parentName);
                if (parent.State != ValidationState.Secure) return parent;
                // Validated with these very signatures before (the cache keeps the verdict): no verification again.
                if (!_verdicts.IsCachedSecure(dsRecords, sigs))
                {
                    var verified = _verifier.Verify(dsRecords, sigs, parentName, parent.Keys, _budget);
                    if (verified.Status == RRsetStatus.UnsupportedAlgorithm) return new ZoneKeys(ValidationState.Insecure, [], null, verified.Reason);
                    if (!verified.IsSecure) return Bogus(verified.Ede, $"{zone} DS: {verified.Reason}");
                    _verdicts.Remember(dsRecords, sigs, verified.Ttl);
                }
                dsSet = dsRecords.ConvertAll(r => (DsData)r.Data);
                (dsUsed, dsSignaturesUsed, signerOfDs) = (dsRecords, sigs, parentName);
            }
            else if (ds.Rcode is Rcode.NoError or Rcode.NXDomain && (ds.Soa is not null || RrsigLookup.ProofSigner(ds.Authority) is not null))
            {
                // No DS: proven insecure delegation, or (probing) no zone cut at all.
                var parentName = ds.Soa is null ? RrsigLookup.ProofSigner(ds.Authority)! : RrsigLookup.SignerOf(ds.Authority, ds.Soa.Name, RRType.SOA) ?? ds.Soa.Name;
                if (parentName.Equals(zone) || !zone.IsSubdomainOf(parentName))
                    return probing ? new ZoneKeys(ValidationState.Indeterminate, []) : Bogus(EdeCode.DnssecBogus, $"DS denial for {zone} from {parentName}");
                var parent = await KeysForAsync(parentName);
                if (parent.State != ValidationState.Secure) return parent;
                var denial = await _proveDsDenial(zone, ds);
                if (denial.State == ValidationState.Bogus) return new ZoneKeys(ValidationState.Bogus, [], denial.Ede, $"DS denial for {zone}: {denial.Reason}");
                if (probing && !IsDelegation(ds.Authority, zone, parentName)) return new ZoneKeys(ValidationState.Indeterminate, []);
                return new ZoneKeys(ValidationState.Insecure, [], null, $"no DS for {zone}");
            }
            else
            {
                // Probing for zone cuts, a failed DS lookup leaves the name in its parent's (secure) zone: fail closed.
                if (probing && ds.Rcode == Rcode.ServFail) return new ZoneKeys(ValidationState.Indeterminate, []);
                return Bogus(Unreached(ds) ?? EdeCode.DnssecBogus, $"no DS answer for {zone} ({ds.Rcode} {ds.Failure?.Text})");
            }
        }

        _checkingKeysOf = zone;
        var dnskey = _verdicts.CachedWithSignatures(zone, RRType.DNSKEY);
        if (dnskey is null)
        {
            if (++_fetches > MaxFetches) return new ZoneKeys(ValidationState.Bogus, [], EdeCode.DnssecBogus, "chain of trust too long");
            dnskey = await _resolve(zone, RRType.DNSKEY);
        }
        var keyRecords = dnskey.Answer.FindAll(r => r.Type == RRType.DNSKEY && r.Name.Equals(zone));
        if (keyRecords.Count == 0) return Bogus(Unreached(dnskey) ?? EdeCode.DnskeyMissing, $"no DNSKEY for {zone} ({dnskey.Rcode} {dnskey.Failure?.Text})");
        var keys = keyRecords.ConvertAll(r => (DnskeyData)r.Data);
        IReadOnlyList<DnskeyData> entry;
        if (anchor is not null && anchor.Keys.Count > 0 && dsSet.Count == 0)
        {
            entry = keys.FindAll(k => !k.IsRevoked && anchor.Keys.Exists(a => a.Algorithm == k.Algorithm && a.PublicKey.Span.SequenceEqual(k.PublicKey.Span)));
            if (entry.Count == 0) return Bogus(EdeCode.DnskeyMissing, $"no DNSKEY of {zone} matches its trust anchor");
        }
        else
        {
            var selection = DsMatcher.SelectKeys(zone, keys, dsSet, _algorithms, _budget);
            if (selection.Status == DsSelectionStatus.NoSupportedDs) return new ZoneKeys(ValidationState.Insecure, [], selection.Ede, $"{zone}: {selection.Reason}");
            if (selection.Status == DsSelectionStatus.NoMatchingKey)
                return Bogus(selection.Ede, selection.Reason) with { KeySetBogus = _budget.Exhausted is null || _budget.DigestBoundReachedByOneKeySet };
            entry = selection.Keys;
        }
        var keySigs = RrsigLookup.Signatures(dnskey.Answer, zone, RRType.DNSKEY);
        if (keySigs.Count == 0) return Bogus(EdeCode.RrsigsMissing, $"no RRSIG for {zone} DNSKEY");
        // Validated from this very DS set before (the cache keeps the verdict): no verification again.
        if (!_verdicts.IsCachedSecure(keyRecords, keySigs))
        {
            var check = _verifier.Verify(keyRecords, keySigs, zone, entry, _budget);
            if (check.Status == RRsetStatus.UnsupportedAlgorithm) return new ZoneKeys(ValidationState.Insecure, [], check.Ede, check.Reason);
            if (!check.IsSecure) return Bogus(check.Ede, $"{zone} DNSKEY: {check.Reason}") with { KeySetBogus = _budget.Exhausted is null };
            _verdicts.Remember(keyRecords, keySigs, check.Ttl);
        }
        var secure = new ZoneKeys(ValidationState.Secure, keys);
        _keySets?.Remember(zone, secure, signerOfDs, anchor, _verdicts.Records, dsUsed, dsSignaturesUsed, keyRecords, keySigs);
        return secure;
    }

    /// <summary>
    /// The DS RRset of <paramref name="zone"/> (with its RRSIGs), or the signed proof that it has none, as a referral
    /// left them in the cache; null when the cache has neither and the DS must be asked for.
    /// </summary>
    private ResolutionOutcome? CachedDelegationSigner(DnsName zone)
    {
        if (_verdicts.CachedWithSignatures(zone, RRType.DS) is { } ds) return ds;
        // A signed denial (the referral's, without SOA, or a NODATA answer to an earlier DS query): proven again here.
        if (_verdicts.ValidatedOnly) return null;
        var denial = _verdicts.Records.GetNegative(zone, RRType.DS, RRClass.IN);
        if (denial is { Answer: { Kind: NegativeKind.NoData, Authority.Count: > 0 } } && RrsigLookup.ProofSigner(denial.Answer.Authority) is not null)
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
        foreach (var rr in AnswerProofs)
            // The parent's side of the cut only: NS without SOA, signed by a zone above (the child's apex NSEC has SOA).
            if (rr.Name.Equals(zone) && (rr.Data is NsecData { } nsec && nsec.Contains(RRType.NS) && !nsec.Contains(RRType.SOA)
                    || rr.Data is RrsigData { TypeCovered: RRType.NSEC } sig && zone.IsStrictSubdomainOf(sig.SignerName)))
                (proof ??= []).Add(rr);
        if (proof is not null && proof.Exists(r => r.Type == RRType.NSEC) && RrsigLookup.ProofSigner(proof) is not null)
            return new ResolutionOutcome(Rcode.NoError, []) { Authority = proof };
        return Nsec3DelegationInAnswer(zone);
    }

    /// <summary>
    /// As <see cref="DelegationDenialInAnswer"/> for NSEC3 (RFC 5155 §8.9): the parent zone's NSEC3 matching
    /// <paramref name="zone"/> with NS and neither DS nor SOA, which the answer brought (Unbound val_cnametooptin).
    /// </summary>
    private ResolutionOutcome? Nsec3DelegationInAnswer(DnsName zone)
    {
        DnsName? parent = null;
        foreach (var rr in AnswerProofs)
            if (rr.Data is RrsigData { TypeCovered: RRType.NSEC3 } sig && zone.IsStrictSubdomainOf(sig.SignerName) && rr.Name.Parent.Equals(sig.SignerName)
                && (parent is null || sig.SignerName.LabelCount > parent.LabelCount))
                parent = sig.SignerName;
        if (parent is null) return null;
        var proof = AnswerProofs.Where(r => r.Name.Parent.Equals(parent) && (r.Type == RRType.NSEC3 || r.Data is RrsigData { TypeCovered: RRType.NSEC3 })).ToList();
        var nsec3 = new Nsec3Proofs(proof.Where(r => r.Type == RRType.NSEC3), parent, _budget);
        if (nsec3.ProveInsecureDelegation(zone).Status != DenialStatus.Proven) return null;
        return new ResolutionOutcome(Rcode.NoError, []) { Authority = proof };
    }

    /// <summary>
    /// EDE 22 or 23 when a key or DS fetch failed because no server sent any response (RFC 8914 §4.23, §4.24): the
    /// data was never seen, so "DNSKEY Missing" or "DNSSEC Bogus" would blame the zone's signing for the network. A
    /// server that answered (SERVFAIL, REFUSED) was reached: its zone's keys are missing (EDE 9, as Unbound).
    /// </summary>
    private static EdeCode? Unreached(ResolutionOutcome fetch) =>
        fetch.Rcode == Rcode.ServFail && fetch.Failure is { NoServerAnswered: true, Code: EdeCode.NoReachableAuthority or EdeCode.NetworkError } failure ? failure.Code : null;

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

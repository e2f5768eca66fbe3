using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;

namespace Ananas.Resolver.Validation;

/// <summary>
/// A wildcard answer built from the cache (RFC 8198 §5.3): the expansion at the qname with the wildcard's RRSIGs, and
/// the NSEC or NSEC3 records (with theirs) proving that no closer match exists.
/// </summary>
internal sealed record SynthesizedWildcard(List<ResourceRecord> Answer, List<ResourceRecord> Authority, RRType Type, DnsName? AliasTarget);

/// <summary>A denial built from the cache: the rcode, the zone's SOA, and the rest of the authority section (the SOA's RRSIGs, the NSECs and theirs).</summary>
internal sealed record SynthesizedDenial(Rcode Rcode, ResourceRecord Soa, List<ResourceRecord> Authority);

/// <summary>
/// Aggressive use of the DNSSEC-validated cache (RFC 8198 §5.1 and §5.2): proves a name absent (NXDOMAIN: an NSEC
/// covers it and one covers the wildcard at its closest encloser, or the NSEC3 closest encloser proof) or a type
/// absent (NODATA: the NSEC or NSEC3 at the name lacks the type; with NSEC, at an empty non-terminal the NSEC
/// before it) from secure records the record cache already holds, with the proofs of <see cref="NsecProofs"/> and
/// <see cref="Nsec3Proofs"/>. A wildcard that exists, an opt-out span or a name no cached record covers is left to
/// the upstream query. The caller validates the result again
/// like any answer (the records are cached as secure, so that costs no query).
/// </summary>
internal static class AggressiveNsec
{
    /// <summary>The denial of (name, type) the cached secure NSEC or NSEC3 records prove, or null (then ask upstream as usual).</summary>
    public static SynthesizedDenial? TryDeny(IRecordCache cache, SecureNsecIndex index, DnsName name, RRType type, DnssecLimits limits)
    {
        // DS lives on the parent side of a cut, whose NSEC is another zone's: left to the ordinary lookup.
        if (type is RRType.DS or RRType.NSEC or RRType.NSEC3 or RRType.RRSIG or RRType.ANY) return null;
        var zone = index.FindZone(name);
        if (zone is null || index.GetSoa(zone) is not { } soa || soa.Soa.Data is not SoaData soaData) return null;
        var proofs = new List<CachedRRset>(3);
        var rcode = index.AnyNsec3Owner(zone) is { } nsec3Owner
            ? DenyWithNsec3(cache, index, zone, nsec3Owner, name, type, limits, proofs)
            : DenyWithNsec(cache, index, zone, name, type, proofs);
        if (rcode is null) return null;
        // RFC 8198 §5.4: the negative TTL is the smaller of the SOA MINIMUM and the NSEC TTLs (and what is left of them).
        uint ttl = Math.Min(soaData.Minimum, soa.RemainingTtl);
        foreach (var proof in proofs) ttl = Math.Min(ttl, proof.RemainingTtl);
        var soaRecord = soa.Soa.WithTtl(ttl);
        var authority = new List<ResourceRecord>(1 + 2 * proofs.Count);
        AddSignatures(authority, zone, soa.Signatures, ttl);
        foreach (var proof in proofs)
        {
            proof.RRset.AppendRecords(authority, ttl);
            AddSignatures(authority, proof.RRset.Name, proof.Signatures, ttl);
        }
        return new SynthesizedDenial(rcode.Value, soaRecord, authority);
    }

    /// <summary>
    /// RFC 8198 §5.3: the answer to (name, type) that a cached secure wildcard RRset (of that type, or a CNAME) gives,
    /// when the cached secure NSEC or NSEC3 records prove the name itself absent below the wildcard's closest
    /// encloser; null otherwise (then ask upstream as usual). The proof is checked by the validator's own rules
    /// (<see cref="NsecProofs.ProveWildcardAnswer"/>, <see cref="Nsec3Proofs.ProveWildcardAnswer"/>); an opt-out span
    /// proves nothing here.
    /// </summary>
    public static SynthesizedWildcard? TrySynthesize(IRecordCache cache, SecureNsecIndex index, DnsName name, RRType type, DnssecLimits limits)
    {
        if (type is RRType.DS or RRType.NSEC or RRType.NSEC3 or RRType.RRSIG or RRType.ANY || name.IsWildcard) return null;
        var zone = index.FindZone(name, withSoa: false);
        if (zone is null || name.Equals(zone)) return null;
        CachedRRset? wildcard;
        CachedRRset proof;
        if (index.AnyNsec3Owner(zone) is { } nsec3Owner)
        {
            // The deepest ancestor with a cached wildcard is the closest encloser once its next closer name is
            // proven absent (the wildcard shows the encloser exists).
            wildcard = null;
            DnsName? encloser = null;
            for (var ancestor = name.Parent; ancestor.IsSubdomainOf(zone); ancestor = ancestor.Parent)
            {
                wildcard = SecureWildcard(cache, ancestor, type);
                if (wildcard is not null) { encloser = ancestor; break; }
                if (ancestor.Equals(zone)) break;
            }
            if (wildcard is null || encloser is null) return null;
            if (SecureAt(cache, index, zone, nsec3Owner, RRType.NSEC3)?.RRset.Data[0] is not Nsec3Data parameters) return null;
            if (parameters.HashAlgorithm != Nsec3Hash.Sha1 || parameters.Iterations > limits.MaxNsec3Iterations) return null;
            var budget = new ValidationBudget(limits);
            if (!budget.TryConsumeNsec3Hash()) return null;
            var nextCloser = name.GetAncestor(encloser.LabelCount + 1);
            var hashed = zone.Prepend(Nsec3Hash.ToLabel(Nsec3Hash.Compute(nextCloser, parameters.Salt.Span, parameters.Iterations)));
            var cover = SecureAtOrBefore(cache, index, zone, hashed, RRType.NSEC3, wrap: true);
            if (cover is null) return null;
            var records = new List<ResourceRecord>(cover.RRset.Data.Count);
            cover.AppendRecords(records);
            if (!new Nsec3Proofs(records, zone, budget).ProveWildcardAnswer(name, encloser.LabelCount).IsProven) return null;
            proof = cover;
        }
        else
        {
            var nearest = SecureAtOrBefore(cache, index, zone, name, RRType.NSEC);
            if (nearest is null || nearest.RRset.Name.Equals(name)) return null;
            var nsecs = new List<ResourceRecord>(1);
            nearest.AppendRecords(nsecs);
            if (!NsecProofs.Covers(nsecs[0], name)) return null;
            // Below an empty non-terminal the NSEC's next name is under the name: it exists, no wildcard applies.
            if (nsecs[0].Data is NsecData { NextDomainName: var next } && next.IsStrictSubdomainOf(name)) return null;
            var encloser = NsecProofs.ClosestEncloser(name, nsecs[0]);
            if (!encloser.IsSubdomainOf(zone)) return null;
            wildcard = SecureWildcard(cache, encloser, type);
            if (wildcard is null || !NsecProofs.ProveWildcardAnswer(name, encloser.LabelCount, nsecs, zone).IsProven) return null;
            proof = nearest;
        }

        uint ttl = Math.Min(wildcard.RemainingTtl, proof.RemainingTtl);
        var answer = new List<ResourceRecord>(wildcard.RRset.Data.Count + wildcard.Signatures.Count);
        foreach (var data in wildcard.RRset.Data) answer.Add(new ResourceRecord(name, RRClass.IN, ttl, data));
        AddSignatures(answer, name, wildcard.Signatures, ttl);
        var authority = new List<ResourceRecord>(proof.RRset.Data.Count + proof.Signatures.Count);
        proof.RRset.AppendRecords(authority, ttl);
        AddSignatures(authority, proof.RRset.Name, proof.Signatures, ttl);
        var target = wildcard.RRset.Type == RRType.CNAME && wildcard.RRset.Data[0] is NameData alias ? alias.Target : null;
        return new SynthesizedWildcard(answer, authority, wildcard.RRset.Type, target);
    }

    /// <summary>
    /// The secure cached RRset of <paramref name="type"/> (or else a CNAME) at <c>*.</c><paramref name="encloser"/>,
    /// signed as that wildcard (RRSIG labels = the encloser's), or null.
    /// </summary>
    private static CachedRRset? SecureWildcard(IRecordCache cache, DnsName encloser, RRType type)
    {
        var owner = encloser.Prepend("*");
        var held = cache.Get(owner, type, RRClass.IN);
        if (!IsSignedWildcard(held, encloser) && type != RRType.CNAME) held = cache.Get(owner, RRType.CNAME, RRClass.IN);
        return IsSignedWildcard(held, encloser) ? held : null;
    }

    private static bool IsSignedWildcard(CachedRRset? held, DnsName encloser)
    {
        if (held is not { Validation: ValidationState.Secure, Signatures.Count: > 0, Stale: false }) return false;
        foreach (var sig in held.Signatures)
            if (sig.Labels != encloser.LabelCount) return false;
        return true;
    }

    /// <summary>RFC 8198 §5.1 and §5.2 with NSEC: the rcode proven, with the NSECs used added to <paramref name="proofs"/>; null when not proven.</summary>
    private static Rcode? DenyWithNsec(IRecordCache cache, SecureNsecIndex index, DnsName zone, DnsName name, RRType type, List<CachedRRset> proofs)
    {
        var nearest = SecureAtOrBefore(cache, index, zone, name, RRType.NSEC);
        if (nearest is null) return null;
        proofs.Add(nearest);
        var nsecs = new List<ResourceRecord>(2);
        nearest.AppendRecords(nsecs);
        bool emptyNonTerminal = nsecs[0].Data is NsecData { NextDomainName: var next } && next.IsStrictSubdomainOf(name);
        if (nearest.RRset.Name.Equals(name) || emptyNonTerminal || !NsecProofs.Covers(nsecs[0], name))
        {
            // The NSEC at the name, or before an empty non-terminal the one whose next name is below it.
            return NsecProofs.ProveNoData(name, type, nsecs, zone).IsProven ? Rcode.NoError : null;
        }
        var wildcard = NsecProofs.ClosestEncloser(name, nsecs[0]).Prepend("*");
        var wildcardNsec = SecureAtOrBefore(cache, index, zone, wildcard, RRType.NSEC);
        // A wildcard that exists would synthesise an answer: not a denial (left to the upstream query).
        if (wildcardNsec is null || wildcardNsec.RRset.Name.Equals(wildcard)) return null;
        if (!wildcardNsec.RRset.Name.Equals(nearest.RRset.Name))
        {
            proofs.Add(wildcardNsec);
            wildcardNsec.AppendRecords(nsecs);
        }
        return NsecProofs.ProveNameError(name, nsecs, zone).IsProven ? Rcode.NXDomain : null;
    }

    /// <summary>
    /// RFC 8198 §5.1 and §5.2 with NSEC3 (RFC 5155 §8.4, §8.5): NODATA from the NSEC3 matching the name; NXDOMAIN
    /// from the closest encloser's NSEC3 and the ones covering the next closer name and the wildcard. The hashes
    /// computed are bounded by the per-query NSEC3 budget; null when not proven.
    /// </summary>
    private static Rcode? DenyWithNsec3(IRecordCache cache, SecureNsecIndex index, DnsName zone, DnsName anyOwner, DnsName name, RRType type,
        DnssecLimits limits, List<CachedRRset> proofs)
    {
        if (SecureAt(cache, index, zone, anyOwner, RRType.NSEC3)?.RRset.Data[0] is not Nsec3Data parameters) return null;
        if (parameters.HashAlgorithm != Nsec3Hash.Sha1 || parameters.Iterations > limits.MaxNsec3Iterations) return null;
        var budget = new ValidationBudget(limits);
        DnsName? HashedOwner(DnsName n) =>
            budget.TryConsumeNsec3Hash() ? zone.Prepend(Nsec3Hash.ToLabel(Nsec3Hash.Compute(n, parameters.Salt.Span, parameters.Iterations))) : null;

        var owner = HashedOwner(name);
        if (owner is null) return null;
        if (SecureAt(cache, index, zone, owner, RRType.NSEC3) is { } match)
        {
            proofs.Add(match);
            return Prove(zone, proofs, limits).ProveNoData(name, type).IsProven ? Rcode.NoError : null;
        }
        if (name.Equals(zone)) return null;
        for (var encloser = name.Parent; ; encloser = encloser.Parent)
        {
            var encloserOwner = HashedOwner(encloser);
            if (encloserOwner is null) return null;
            if (SecureAt(cache, index, zone, encloserOwner, RRType.NSEC3) is { } closest)
            {
                var nextCloser = name.GetAncestor(encloser.LabelCount + 1);
                var nextCloserOwner = ReferenceEquals(nextCloser, name) || nextCloser.Equals(name) ? owner : HashedOwner(nextCloser);
                var wildcardOwner = HashedOwner(encloser.Prepend("*"));
                if (nextCloserOwner is null || wildcardOwner is null) return null;
                var cover = SecureAtOrBefore(cache, index, zone, nextCloserOwner, RRType.NSEC3, wrap: true);
                var wildcardCover = SecureAtOrBefore(cache, index, zone, wildcardOwner, RRType.NSEC3, wrap: true);
                if (cover is null || wildcardCover is null) return null;
                foreach (var proof in (ReadOnlySpan<CachedRRset>)[closest, cover, wildcardCover])
                    if (!proofs.Exists(p => p.RRset.Name.Equals(proof.RRset.Name))) proofs.Add(proof);
                return Prove(zone, proofs, limits).ProveNameError(name).IsProven ? Rcode.NXDomain : null;
            }
            if (encloser.Equals(zone)) return null;
        }
    }

    private static Nsec3Proofs Prove(DnsName zone, List<CachedRRset> proofs, DnssecLimits limits)
    {
        var records = new List<ResourceRecord>(proofs.Count);
        foreach (var proof in proofs) proof.AppendRecords(records);
        return new Nsec3Proofs(records, zone, new ValidationBudget(limits));
    }

    /// <summary>The secure cached NSEC or NSEC3 at <paramref name="owner"/>; one the cache lost is dropped from the index.</summary>
    private static CachedRRset? SecureAt(IRecordCache cache, SecureNsecIndex index, DnsName zone, DnsName owner, RRType type)
    {
        var held = cache.Get(owner, type, RRClass.IN);
        if (held is { Validation: ValidationState.Secure, Signatures.Count: > 0 }) return held;
        if (held is null) index.Remove(zone, owner, type);
        return null;
    }

    /// <summary>The secure cached NSEC or NSEC3 at or before <paramref name="name"/> in the zone (wrapping round for NSEC3), or null.</summary>
    private static CachedRRset? SecureAtOrBefore(IRecordCache cache, SecureNsecIndex index, DnsName zone, DnsName name, RRType type, bool wrap = false)
    {
        var owner = index.FindAtOrBefore(zone, name, type, wrap);
        return owner is null ? null : SecureAt(cache, index, zone, owner, type);
    }

    private static void AddSignatures(List<ResourceRecord> destination, DnsName owner, IReadOnlyList<RrsigData> signatures, uint ttl)
    {
        foreach (var sig in signatures) destination.Add(new ResourceRecord(owner, RRClass.IN, ttl, sig));
    }
}

using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;

namespace Ananas.Resolver.Validation;

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

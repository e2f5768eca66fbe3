using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;

namespace Ananas.Resolver.Validation;

/// <summary>A denial built from the cache: the rcode, the zone's SOA, and the rest of the authority section (the SOA's RRSIGs, the NSECs and theirs).</summary>
internal sealed record SynthesizedDenial(Rcode Rcode, ResourceRecord Soa, List<ResourceRecord> Authority);

/// <summary>
/// Aggressive use of the DNSSEC-validated cache (RFC 8198 §5.1 and §5.2, NSEC only): proves a name absent
/// (NXDOMAIN: an NSEC covers it and one covers the wildcard at its closest encloser) or a type absent (NODATA: the
/// NSEC at the name, or at an empty non-terminal the NSEC before it, lacks the type) from secure NSEC records the
/// record cache already holds, with the proofs of <see cref="NsecProofs"/>. The caller validates the result again
/// like any answer (the records are cached as secure, so that costs no query).
/// </summary>
internal static class AggressiveNsec
{
    /// <summary>The denial of (name, type) the cached secure NSECs prove, or null (then ask upstream as usual).</summary>
    public static SynthesizedDenial? TryDeny(IRecordCache cache, SecureNsecIndex index, DnsName name, RRType type)
    {
        // DS lives on the parent side of a cut, whose NSEC is another zone's: left to the ordinary lookup.
        if (type is RRType.DS or RRType.NSEC or RRType.RRSIG or RRType.ANY) return null;
        var zone = index.FindZone(name);
        if (zone is null || index.GetSoa(zone) is not { } soa || soa.Soa.Data is not SoaData soaData) return null;
        var nearest = SecureNsecAtOrBefore(cache, index, zone, name);
        if (nearest is null) return null;
        var proofs = new List<CachedRRset>(2) { nearest };
        var nsecs = new List<ResourceRecord>(2);
        nearest.AppendRecords(nsecs);
        Rcode rcode;
        bool emptyNonTerminal = nsecs[0].Data is NsecData { NextDomainName: var next } && next.IsStrictSubdomainOf(name);
        if (nearest.RRset.Name.Equals(name) || emptyNonTerminal || !NsecProofs.Covers(nsecs[0], name))
        {
            // The NSEC at the name, or before an empty non-terminal the one whose next name is below it.
            if (!NsecProofs.ProveNoData(name, type, nsecs, zone).IsProven) return null;
            rcode = Rcode.NoError;
        }
        else
        {
            var wildcard = NsecProofs.ClosestEncloser(name, nsecs[0]).Prepend("*");
            var wildcardNsec = SecureNsecAtOrBefore(cache, index, zone, wildcard);
            // A wildcard that exists would synthesise an answer: not a denial (left to the upstream query).
            if (wildcardNsec is null || wildcardNsec.RRset.Name.Equals(wildcard)) return null;
            if (!wildcardNsec.RRset.Name.Equals(nearest.RRset.Name))
            {
                proofs.Add(wildcardNsec);
                wildcardNsec.AppendRecords(nsecs);
            }
            if (!NsecProofs.ProveNameError(name, nsecs, zone).IsProven) return null;
            rcode = Rcode.NXDomain;
        }
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
        return new SynthesizedDenial(rcode, soaRecord, authority);
    }

    /// <summary>The secure cached NSEC at or before <paramref name="name"/> in the zone; an owner the cache lost is dropped from the index.</summary>
    private static CachedRRset? SecureNsecAtOrBefore(IRecordCache cache, SecureNsecIndex index, DnsName zone, DnsName name)
    {
        var owner = index.FindAtOrBefore(zone, name);
        if (owner is null) return null;
        var nsec = cache.Get(owner, RRType.NSEC, RRClass.IN);
        if (nsec is { Validation: ValidationState.Secure, Signatures.Count: > 0 }) return nsec;
        index.Remove(zone, owner);
        return null;
    }

    private static void AddSignatures(List<ResourceRecord> destination, DnsName owner, IReadOnlyList<RrsigData> signatures, uint ttl)
    {
        foreach (var sig in signatures) destination.Add(new ResourceRecord(owner, RRClass.IN, ttl, sig));
    }
}

using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Validation;

/// <summary>Finding the RRSIGs over an RRset, and the zones that signed them, among a message's records.</summary>
internal static class RrsigLookup
{
    /// <summary>The RRSIGs over (name, type) among the records.</summary>
    public static List<RrsigData> Signatures(IEnumerable<ResourceRecord> records, DnsName name, RRType type)
    {
        var sigs = new List<RrsigData>();
        foreach (var rr in records)
            if (rr.Data is RrsigData sig && sig.TypeCovered == type && rr.Name.Equals(name)) sigs.Add(sig);
        return sigs;
    }

    /// <summary>The signer of the first RRSIG over (owner, type) in a section, or null.</summary>
    public static DnsName? SignerOf(IReadOnlyList<ResourceRecord> section, DnsName owner, RRType type)
    {
        foreach (var rr in section)
            if (rr.Data is RrsigData sig && sig.TypeCovered == type && rr.Name.Equals(owner)) return sig.SignerName;
        return null;
    }

    /// <summary>The signer of the NSEC/NSEC3 records in a section, or null when there are none signed.</summary>
    public static DnsName? ProofSigner(IReadOnlyList<ResourceRecord> section)
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
    public static DnsName? ProofSigner(IReadOnlyList<ResourceRecord> section, DnsName name, bool parentSide)
    {
        DnsName? best = null;
        foreach (var rr in section)
            if (rr.Data is RrsigData { TypeCovered: RRType.NSEC or RRType.NSEC3 } sig
                && (parentSide ? name.IsStrictSubdomainOf(sig.SignerName) : name.IsSubdomainOf(sig.SignerName))
                && (best is null || sig.SignerName.LabelCount > best.LabelCount))
                best = sig.SignerName;
        return best ?? ProofSigner(section);
    }
}

using System.Buffers;
using Ananas.Dns.Wire;

namespace Ananas.Dns.Records;

/// <summary>
/// The canonical RR and RRset forms DNSSEC signs (RFC 4034 §6.2, §6.3 and §3.1.8.1, with RFC 6840 §5.1):
/// owner lowercased and uncompressed, the RRSIG's original TTL, RDATA in canonical form, the RRs sorted by
/// canonical RDATA with duplicates removed.
/// </summary>
public static class CanonicalForm
{
    /// <summary>The distinct RDATAs of an RRset in canonical order (RFC 4034 §6.3).</summary>
    public static List<RData> Order(IEnumerable<RData> rdatas)
    {
        var list = new List<RData>(rdatas);
        list.Sort(RData.CompareCanonical);
        int kept = 0;
        for (int i = 0; i < list.Count; i++)
        {
            if (kept > 0 && RData.CompareCanonical(list[kept - 1], list[i]) == 0) continue;
            list[kept++] = list[i];
        }
        list.RemoveRange(kept, list.Count - kept);
        return list;
    }

    /// <summary>
    /// Writes <c>owner | type | class | TTL | RDLENGTH | RDATA</c> for each distinct RDATA in canonical order.
    /// <paramref name="writer"/> must be in <see cref="NameWriteMode.Canonical"/> mode.
    /// </summary>
    public static void WriteRRset(ref WireWriter writer, DnsName owner, RRType type, RRClass rrclass, uint originalTtl, IEnumerable<RData> rdatas)
    {
        if (writer.Mode != NameWriteMode.Canonical) throw new ArgumentException("the writer must be in canonical mode", nameof(writer));
        foreach (var data in Order(rdatas))
        {
            if (data.Type != type) throw new ArgumentException($"{data.Type} RDATA in a {type} RRset", nameof(rdatas));
            writer.WriteName(owner, lowercaseInCanonical: true);
            writer.WriteUInt16((ushort)type);
            writer.WriteUInt16((ushort)rrclass);
            writer.WriteUInt32(originalTtl);
            int lengthAt = writer.Position;
            writer.WriteUInt16(0);
            data.WriteTo(ref writer);
            writer.PatchUInt16(lengthAt, (ushort)(writer.Position - lengthAt - 2));
        }
    }

    /// <summary>The canonical form of an RRset (all records share owner, type and class) with the given TTL.</summary>
    public static byte[] RRset(IReadOnlyList<ResourceRecord> rrset, uint originalTtl, DnsName? owner = null)
    {
        if (rrset.Count == 0) return [];
        var first = rrset[0];
        return Build(null, owner ?? first.Name, first.Type, first.Class, originalTtl, rrset);
    }

    /// <summary>
    /// The owner name that was signed: the RRSIG labels field counts the labels of the original owner, so a
    /// smaller count means the answer was synthesised from a wildcard, whose owner is <c>*.</c> plus the
    /// rightmost <paramref name="labels"/> labels (RFC 4035 §5.3.2).
    /// </summary>
    public static DnsName SignedOwner(DnsName owner, byte labels)
    {
        if (labels > owner.LabelCount)
            throw new DnsFormatException($"RRSIG labels field {labels} exceeds the {owner.LabelCount} labels of {owner}");
        if (labels == owner.LabelCount) return owner;
        return owner.GetAncestor(labels).Prepend("*");
    }

    /// <summary>
    /// The data an RRSIG signs (RFC 4034 §3.1.8.1): its RDATA without the signature (signer lowercased),
    /// then the covered RRset in canonical form under the reconstructed owner and the original TTL.
    /// </summary>
    public static byte[] SignedData(RrsigData signature, IReadOnlyList<ResourceRecord> rrset)
    {
        if (rrset.Count == 0) throw new ArgumentException("empty RRset", nameof(rrset));
        var first = rrset[0];
        if (first.Type != signature.TypeCovered)
            throw new ArgumentException($"RRSIG covers {signature.TypeCovered}, not {first.Type}", nameof(rrset));
        var owner = SignedOwner(first.Name, signature.Labels);
        return Build(signature, owner, first.Type, first.Class, signature.OriginalTtl, rrset);
    }

    /// <summary>Writes the RRSIG RDATA prefix of the signed data (no signature, signer lowercased).</summary>
    public static byte[] SignedDataPrefix(RrsigData signature) =>
        Build(signature, DnsName.Root, signature.TypeCovered, RRClass.IN, 0, []);

    private static byte[] Build(RrsigData? signature, DnsName owner, RRType type, RRClass rrclass, uint ttl, IReadOnlyList<ResourceRecord> rrset)
    {
        int size = signature is null ? 0 : 18 + signature.SignerName.WireLength;
        var rdatas = new RData[rrset.Count];
        for (int i = 0; i < rrset.Count; i++)
        {
            var rr = rrset[i];
            if (!rr.Name.Equals(rrset[0].Name) || rr.Type != type || rr.Class != rrclass)
                throw new ArgumentException("records of different RRsets", nameof(rrset));
            rdatas[i] = rr.Data;
            size += owner.WireLength + 10 + rr.Data.CanonicalLength;
        }
        byte[] rented = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var writer = new WireWriter(rented, NameWriteMode.Canonical);
            signature?.WriteSignedFields(ref writer);
            WriteRRset(ref writer, owner, type, rrclass, ttl, rdatas);
            return writer.Written.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}

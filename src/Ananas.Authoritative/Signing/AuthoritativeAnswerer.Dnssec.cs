using Ananas.Authoritative.Signing;
using Ananas.Authoritative.Store;
using Ananas.Dns;

namespace Ananas.Authoritative.Answering;

/// <summary>
/// Online signing in the answer path: for a DO query to a zone with keys, every RRset put in the answer or
/// authority section gets its RRSIGs (from <see cref="OnlineSigner"/>'s cache or made now), and denials are the
/// compact ones of RFC 9824: one NSEC at the query name whose next name is its immediate successor.
/// </summary>
public sealed partial class AuthoritativeAnswerer
{
    /// <summary>RFC 9824 §4: the "Compact Answers OK" EDNS header flag (bit 1, after DO).</summary>
    internal const uint CompactOkFlag = 0x4000;

    /// <summary>Whether this answer is signed in <paramref name="zone"/>: DO set, signing on, the zone has keys.</summary>
    private static bool Signs(ZoneEntry zone, Scratch s)
    {
        if (!s.Dnssec || zone.Keys is null) return false;
        s.Signed = true;
        return true;
    }

    /// <summary>The RRSIGs of one RRset of a node, just written with <paramref name="owner"/> (signed as <paramref name="signedOwner"/>).</summary>
    private void SignSet(ref ResponseBuilder response, Section section, Scratch s, ZoneEntry zone, ReadOnlySpan<byte> owner,
        ReadOnlySpan<byte> signedOwner, NodeView node, int set)
    {
        if (!Signs(zone, s)) return;
        ref readonly var rrset = ref node.Set(set);
        var image = s.Image.AsSpan();
        int p = RRsetImage.Begin(image, signedOwner, rrset.Type, rrset.Ttl);
        for (int i = 0; i < rrset.Count; i++) p = RRsetImage.Add(image, p, node.Record(rrset.First + i));
        if (p > 0) AddSignatures(ref response, section, zone, owner, rrset.Ttl, image[..p]);
    }

    private void AddSignatures(ref ResponseBuilder response, Section section, ZoneEntry zone, ReadOnlySpan<byte> owner, uint ttl, ReadOnlySpan<byte> image)
    {
        var entry = _signer.Sign(zone.Id, zone.Keys!, image);
        if (entry is null) return;
        foreach (var rrsig in entry.Rrsigs) response.AddRecord(section, owner, RRType.RRSIG, ttl, rrsig);
    }

    /// <summary>The DNSKEY RRset at the apex of a signed zone, made from the store's keys.</summary>
    private Step AnswerDnskey(ref ResponseBuilder response, Scratch s, ZoneEntry zone, ReadOnlySpan<byte> owner)
    {
        var keys = zone.Keys!;
        uint ttl = Options.Signing.DnskeyTtl;
        foreach (var rdata in keys.DnskeyRdata)
        {
            if (!response.AddRecord(Section.Answer, owner, RRType.DNSKEY, ttl, rdata)) return Step.Done;
        }
        if (!Signs(zone, s)) return Step.Done;
        var image = s.Image.AsSpan();
        int p = RRsetImage.Begin(image, owner, RRType.DNSKEY, ttl);
        foreach (var rdata in keys.DnskeyRdata) p = RRsetImage.Add(image, p, rdata);
        if (p > 0) AddSignatures(ref response, Section.Answer, zone, owner, ttl, image[..p]);
        return Step.Done;
    }

    /// <summary>RFC 2308 §3 SOA in the authority section, with its RRSIGs when signed (original TTL: the SOA's own).</summary>
    private void AddNegativeSoa(ref ResponseBuilder response, Scratch s, ZoneEntry zone)
    {
        FlushProofs(ref response, s);
        AddNegativeSoa(ref response, zone);
        if (!Signs(zone, s)) return;
        var apex = zone.Apex.Wire;
        var image = s.Image.AsSpan();
        int p = RRsetImage.Add(image, RRsetImage.Begin(image, apex, RRType.SOA, zone.SoaTtl), zone.SoaRdata);
        if (p > 0) AddSignatures(ref response, Section.Authority, zone, apex, zone.NegativeTtl, image[..p]);
    }

    /// <summary>
    /// NODATA (RFC 2308 §2.2): the SOA, and when signed the RFC 9824 §3.2 NSEC at the name listing the types it
    /// has (none for an empty non-terminal, §3.3; the wildcard's for a name a wildcard covers), RRSIG and NSEC.
    /// </summary>
    private Step NoData(ref ResponseBuilder response, Scratch s, ZoneEntry zone, NodeView node, ReadOnlySpan<byte> owner, bool apex)
    {
        AddNegativeSoa(ref response, s, zone);
        if (Signs(zone, s)) AddNodeNsec(ref response, Section.Authority, s, zone, node, owner, apex);
        return Step.Done;
    }

    /// <summary>The NSEC at an existing name (or one a wildcard makes exist): next name its successor, its types.</summary>
    private void AddNodeNsec(ref ResponseBuilder response, Section section, Scratch s, ZoneEntry zone, NodeView node, ReadOnlySpan<byte> owner, bool apex)
    {
        Span<ushort> types = stackalloc ushort[node.SetCount + 3];
        int n = 0;
        for (int i = 0; i < node.SetCount; i++) types[n++] = (ushort)node.Set(i).Type;
        if (apex) types[n++] = (ushort)RRType.DNSKEY;
        types[n++] = (ushort)RRType.RRSIG;
        types[n++] = (ushort)RRType.NSEC;
        AddMadeUpNsec(ref response, section, s, zone, owner, types[..n]);
    }

    /// <summary>
    /// A name that does not exist, signed (RFC 9824 §3.1): NOERROR with the SOA and an NSEC at the name whose
    /// types are RRSIG, NSEC and NXNAME; NXDOMAIN instead when the client set the CO flag (§4).
    /// </summary>
    private void CompactNameError(ref ResponseBuilder response, Scratch s, ZoneEntry zone, ReadOnlySpan<byte> current)
    {
        Interlocked.Increment(ref _signer.CompactDenials);
        if (s.CompactOk) response.Rcode = Dns.Rcode.NXDomain;
        AddNegativeSoa(ref response, s, zone);
        Span<ushort> types = [(ushort)RRType.RRSIG, (ushort)RRType.NSEC, (ushort)RRType.NXNAME];
        AddMadeUpNsec(ref response, Section.Authority, s, zone, current, types);
    }

    /// <summary>
    /// A referral without DS, signed: the NSEC at the cut (its types: NS and whatever else the parent holds
    /// there, never DS) proves the child insecure (RFC 4035 §3.1.4.1). The NS RRset itself is never signed.
    /// </summary>
    private void NoDsProof(ref ResponseBuilder response, Scratch s, ZoneEntry zone, NodeView cut, ReadOnlySpan<byte> cutOwner) =>
        AddNodeNsec(ref response, Section.Authority, s, zone, cut, cutOwner, apex: false);

    /// <summary>
    /// The proof that goes with a wildcard answer (RFC 4035 §3.1.3.3): the query name does not exist. An NSEC
    /// from the immediate predecessor of the next closer name to the first name after it and its subtree (RFC
    /// 4470 style) covers exactly the names that do not exist between the closest encloser and the query name, so
    /// a validator finds the wildcard's closest encloser and nothing of the zone is shown. It belongs in the
    /// authority section, so it waits until the answer section is complete (<see cref="FlushProofs"/>).
    /// </summary>
    private static void AddWildcardProof(Scratch s, ZoneEntry zone, ReadOnlySpan<byte> current, int closestEncloserLabels)
    {
        if (!Signs(zone, s) || s.ProofCount == Scratch.MaxProofs) return;
        var nextCloser = current[SkipLabels(current, CountLabels(current) - closestEncloserLabels - 1)..];
        var lower = s.Proof.AsSpan(0, nextCloser.Length);
        nextCloser.CopyTo(lower);
        ToLower(lower);
        var proof = s.Proofs[s.ProofCount];
        proof.OwnerLength = CompactDenial.Predecessor(lower, proof.Owner);
        proof.NextLength = CompactDenial.LabelSuccessor(lower, proof.Next);
        // A next closer name of 0x00 or 0xFF octets only has no such neighbours: the answer goes unproven.
        if (proof.OwnerLength < 0 || proof.NextLength < 0) return;
        proof.Zone = zone;
        s.ProofCount++;
    }

    /// <summary>Writes the wildcard proofs held back, before anything else goes into the authority section.</summary>
    private void FlushProofs(ref ResponseBuilder response, Scratch s)
    {
        for (int i = 0; i < s.ProofCount; i++)
        {
            var proof = s.Proofs[i];
            Span<ushort> types = [(ushort)RRType.RRSIG, (ushort)RRType.NSEC];
            AddNsec(ref response, Section.Authority, s, proof.Zone!, proof.Owner.AsSpan(0, proof.OwnerLength), proof.Next.AsSpan(0, proof.NextLength), types);
            proof.Zone = null;
        }
        s.ProofCount = 0;
    }

    private static int CountLabels(ReadOnlySpan<byte> wire)
    {
        int labels = 0;
        for (int p = 0; wire[p] != 0; p += wire[p] + 1) labels++;
        return labels;
    }

    /// <summary>A wildcard proof waiting for the authority section.</summary>
    private sealed class PendingProof
    {
        public readonly byte[] Owner = new byte[DnsName.MaxWireLength];
        public readonly byte[] Next = new byte[DnsName.MaxWireLength];
        public int OwnerLength;
        public int NextLength;
        public ZoneEntry? Zone;
    }

    /// <summary>An NSEC owned by <paramref name="owner"/> (as written in the reply) whose next name is its successor.</summary>
    private void AddMadeUpNsec(ref ResponseBuilder response, Section section, Scratch s, ZoneEntry zone, ReadOnlySpan<byte> owner, scoped Span<ushort> types)
    {
        var lower = s.NsecOwner.AsSpan(0, owner.Length);
        owner.CopyTo(lower);
        ToLower(lower);
        int nextLength = CompactDenial.Successor(lower, s.NsecNext);
        if (nextLength < 0) return;
        AddNsec(ref response, section, s, zone, owner, s.NsecNext.AsSpan(0, nextLength), types);
    }

    private void AddNsec(ref ResponseBuilder response, Section section, Scratch s, ZoneEntry zone, ReadOnlySpan<byte> owner,
        ReadOnlySpan<byte> next, scoped Span<ushort> types)
    {
        int count = CompactDenial.SortDistinct(types);
        var rdata = s.NsecRdata.AsSpan();
        next.CopyTo(rdata);
        int length = next.Length + Dns.Records.TypeBitmap.Encode(types[..count], rdata[next.Length..]);
        uint ttl = zone.NegativeTtl;
        if (!response.AddRecord(section, owner, RRType.NSEC, ttl, rdata[..length])) return;
        var image = s.Image.AsSpan();
        int p = RRsetImage.Add(image, RRsetImage.Begin(image, owner, RRType.NSEC, ttl), rdata[..length]);
        if (p > 0) AddSignatures(ref response, section, zone, owner, ttl, image[..p]);
    }
}

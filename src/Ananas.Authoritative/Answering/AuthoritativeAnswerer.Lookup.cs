using System.Text;
using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Authoritative.Answering;

public sealed partial class AuthoritativeAnswerer
{
    private enum Step : byte
    {
        Done,
        Follow,
    }

    /// <summary>Answers an IN query, following CNAME and DNAME redirections through every zone we serve.</summary>
    private void Resolve(ref ResponseBuilder response, in QueryView q, Scratch s, ZoneIndex index)
    {
        q.Name.CopyTo(s.Current);
        for (int chain = 0; ; chain++)
        {
            int length = RDataWriter.NameLength(s.Current);
            var current = s.Current.AsSpan(0, length);
            var lower = s.Lower.AsSpan(0, length);
            current.CopyTo(lower);
            ToLower(lower);
            // DS belongs to the parent side of a cut (RFC 4035 §3.1.4.1): at a zone's apex, ask the parent zone.
            var zone = index.Find(lower, out int apexOffset);
            if (zone is not null && apexOffset == 0 && q.Type == RRType.DS && index.FindParentSide(lower, out int parentOffset) is { } parent)
            {
                zone = parent;
                apexOffset = parentOffset;
            }
            if (zone is null)
            {
                // Outside every zone: refuse the question; a redirection out of our zones ends the answer there.
                if (chain == 0) response.Rcode = Rcode.Refused;
                break;
            }
            if (chain == 0) response.Authoritative = true;
            if (chain >= Options.MaxChain || Lookup(ref response, q, s, zone, current) == Step.Done) break;
        }
        FlushProofs(ref response, s);
    }

    /// <summary>One name in one zone: answer, redirect (the new name is left in <c>s.Current</c>), refer or deny.</summary>
    private Step Lookup(ref ResponseBuilder response, in QueryView q, Scratch s, ZoneEntry zone, ReadOnlySpan<byte> current)
    {
        var offsets = s.Offsets.AsSpan();
        int relLength = NodeKey.EncodeRelative(current, zone.Apex.LabelCount, s.Relative, offsets);
        var rel = s.Relative.AsSpan(0, relLength);
        int depth = NodeKey.Depth(rel);
        var node = s.Node;
        if (!s.Reader.Seek(zone.Id, rel, node, out bool exact) || !node.Valid) return Corrupt(zone, s);

        if (exact)
        {
            var flags = node.AncestorFlags;
            if (flags.Length != depth + 1) return Corrupt(zone, s);
            // The shallowest cut or DNAME above the name decides (names under them are glue or redirected).
            for (int d = 0; d < depth; d++)
            {
                var f = (NodeFlags)flags[d];
                if (d > 0 && (f & NodeFlags.Cut) != 0) return ReferAbove(ref response, q, s, zone, current, rel, depth, d);
                if ((f & NodeFlags.Dname) != 0) return RedirectAbove(ref response, q, s, zone, current, rel, depth, d);
            }
            if (depth > 0 && ((NodeFlags)flags[depth] & NodeFlags.Cut) != 0 && q.Type != RRType.DS)
                return Refer(ref response, q, s, zone, node, current);
            if (depth == 0 && q.Type == RRType.DNSKEY && zone.Keys is not null && Options.Signing.Enabled) return AnswerDnskey(ref response, s, zone, current);
            return q.Type == RRType.NSEC3 ? NoData(ref response, s, zone, node, current, apex: depth == 0) : AnswerFrom(ref response, q, s, zone, node, current, depth == 0, -1);
        }

        // Not there: the key the cursor landed on names the previous key, whose ancestors hold the closest encloser.
        if (!node.HasPrevious) return Corrupt(zone, s);
        var previous = node.Previous;
        int encloser = NodeKey.CommonDepth(rel, previous);
        var previousFlags = node.PreviousFlags;
        if (encloser >= depth || previousFlags.Length <= encloser) return Corrupt(zone, s);
        for (int d = 0; d <= encloser; d++)
        {
            var f = (NodeFlags)previousFlags[d];
            if (d > 0 && (f & NodeFlags.Cut) != 0) return ReferAbove(ref response, q, s, zone, current, rel, depth, d);
            if ((f & NodeFlags.Dname) != 0) return RedirectAbove(ref response, q, s, zone, current, rel, depth, d);
        }
        if (((NodeFlags)previousFlags[encloser] & NodeFlags.WildcardChild) != 0)
        {
            // RFC 4592 §3.3.1: the source of synthesis is the closest encloser's "*" child.
            int prefix = NodeKey.PrefixOf(rel, encloser);
            var key = s.Key.AsSpan();
            rel[..prefix].CopyTo(key);
            key[prefix] = (byte)'*';
            key[prefix + 1] = 0;
            if (!s.Reader.Get(zone.Id, key[..(prefix + 2)], node) || !node.Valid) return Corrupt(zone, s);
            Interlocked.Increment(ref Counters.Wildcards);
            int closestEncloserLabels = zone.Apex.LabelCount + encloser;
            if (q.Type == RRType.NSEC3) return NoData(ref response, s, zone, node, current, apex: false);
            return AnswerFrom(ref response, q, s, zone, node, current, apex: false, closestEncloserLabels);
        }
        if (Signs(zone, s))
        {
            CompactNameError(ref response, s, zone, current);
            return Step.Done;
        }
        response.Rcode = Rcode.NXDomain;
        AddNegativeSoa(ref response, s, zone);
        return Step.Done;
    }

    /// <summary>
    /// The data of an existing name, or of the wildcard that covers <paramref name="owner"/> when
    /// <paramref name="wildcardEncloser"/> (the closest encloser's label count) is not -1. NSEC3 records are
    /// proofs, not data anyone looks up by name (RFC 5155 §7.2.8): that type is NODATA, like NSD (see the callers).
    /// </summary>
    private Step AnswerFrom(ref ResponseBuilder response, in QueryView q, Scratch s, ZoneEntry zone, NodeView node, ReadOnlySpan<byte> owner,
        bool apex, int wildcardEncloser)
    {
        // A wildcard's RRsets are signed as the wildcard's (RFC 4035 §3.1.3.3): the RRSIG labels field says so.
        var signedOwner = owner;
        if (wildcardEncloser >= 0 && Signs(zone, s))
        {
            var encloser = owner[SkipLabels(owner, CountLabels(owner) - wildcardEncloser)..];
            s.Wildcard[0] = 1;
            s.Wildcard[1] = (byte)'*';
            encloser.CopyTo(s.Wildcard.AsSpan(2));
            signedOwner = s.Wildcard.AsSpan(0, encloser.Length + 2);
        }
        int answer = -1;
        if (q.Type == RRType.ANY && node.SetCount > 0)
        {
            // RFC 8482 §4.2: one RRset stands for the whole node (the CNAME if there is one, else the first).
            int chosen = node.Find(RRType.CNAME);
            answer = chosen >= 0 ? chosen : 0;
        }
        else answer = node.Find(q.Type);
        if (answer >= 0)
        {
            if (!response.AddRRset(Section.Answer, owner, node, answer)) return Step.Done;
            SignSet(ref response, Section.Answer, s, zone, owner, signedOwner, node, answer);
            if (wildcardEncloser >= 0) AddWildcardProof(s, zone, owner, wildcardEncloser);
            // The addresses of a zone's own name servers go with its NS RRset (as with a referral's glue).
            if (q.Type == RRType.NS)
            {
                FlushProofs(ref response, s);
                AddAddresses(ref response, s, zone, node, answer);
            }
            return Step.Done;
        }
        int cname = node.Find(RRType.CNAME);
        if (cname >= 0)
        {
            if (!response.AddRRset(Section.Answer, owner, node, cname)) return Step.Done;
            SignSet(ref response, Section.Answer, s, zone, owner, signedOwner, node, cname);
            if (wildcardEncloser >= 0) AddWildcardProof(s, zone, owner, wildcardEncloser);
            var target = node.Record(node.Set(cname).First);
            if (RDataWriter.NameLength(target) != target.Length) return Step.Done;
            target.CopyTo(s.Current);
            return Step.Follow;
        }
        if (q.Type == RRType.NSEC && Signs(zone, s))
        {
            // The NSEC of a signed zone is made up per name: asked for, it is the answer (and proves itself).
            AddNodeNsec(ref response, Section.Answer, s, zone, node, owner, apex);
            return Step.Done;
        }
        return NoData(ref response, s, zone, node, owner, apex);
    }

    /// <summary>A referral from the cut at depth <paramref name="cutDepth"/> above the name (second read: the cut's NS).</summary>
    private Step ReferAbove(ref ResponseBuilder response, in QueryView q, Scratch s, ZoneEntry zone, ReadOnlySpan<byte> current,
        ReadOnlySpan<byte> rel, int depth, int cutDepth)
    {
        if (!s.Reader.Get(zone.Id, rel[..NodeKey.PrefixOf(rel, cutDepth)], s.Node) || !s.Node.Valid) return Corrupt(zone, s);
        return Refer(ref response, q, s, zone, s.Node, current[SkipLabels(current, depth - cutDepth)..]);
    }

    /// <summary>
    /// A referral (RFC 1034 §4.3.2 step 3b): the parent-side NS in the authority section, DS when the client
    /// asked for DNSSEC, and the addresses of name servers that lie in this zone (glue) as additional data. AA
    /// stays set only when a redirection already put authoritative data in the answer (as NSD does).
    /// </summary>
    private Step Refer(ref ResponseBuilder response, in QueryView q, Scratch s, ZoneEntry zone, NodeView cut, ReadOnlySpan<byte> cutOwner)
    {
        Interlocked.Increment(ref Counters.Referrals);
        response.Authoritative = response.AnswerCount > 0;
        FlushProofs(ref response, s);
        int ns = cut.Find(RRType.NS);
        if (ns < 0) return Corrupt(zone, s);
        response.AddRRset(Section.Authority, cutOwner, cut, ns);
        int ds = cut.Find(RRType.DS);
        if (ds >= 0 && q.DnssecOk)
        {
            if (response.AddRRset(Section.Authority, cutOwner, cut, ds)) SignSet(ref response, Section.Authority, s, zone, cutOwner, cutOwner, cut, ds);
        }
        else if (Signs(zone, s)) NoDsProof(ref response, s, zone, cut, cutOwner);
        AddAddresses(ref response, s, zone, cut, ns);
        return Step.Done;
    }

    /// <summary>A and AAAA of the NS targets of <paramref name="nameServers"/> that lie in the zone, as additional data.</summary>
    private static void AddAddresses(ref ResponseBuilder response, Scratch s, ZoneEntry zone, NodeView node, int nameServers)
    {
        ref readonly var set = ref node.Set(nameServers);
        var glue = s.Other;
        var apex = zone.Apex.Wire;
        Span<int> offsets = stackalloc int[128];
        for (int i = 0; i < set.Count && !response.Full; i++)
        {
            var target = node.Record(set.First + i);
            if (!IsAtOrBelow(target, apex)) continue;
            int length = NodeKey.EncodeRelative(target, zone.Apex.LabelCount, s.Key, offsets);
            if (length < 0 || !s.Reader.Get(zone.Id, s.Key.AsSpan(0, length), glue) || !glue.Valid) continue;
            int a = glue.Find(RRType.A);
            if (a >= 0) response.AddRRset(Section.Additional, target, glue, a);
            int aaaa = glue.Find(RRType.AAAA);
            if (aaaa >= 0) response.AddRRset(Section.Additional, target, glue, aaaa);
        }
    }

    /// <summary>
    /// DNAME substitution (RFC 6672 §3.1): the DNAME RRset, a CNAME synthesized from the name to the name under
    /// the target (TTL of the DNAME), then the new name is followed (unless the question is for CNAME, which the
    /// synthesized record answers); YXDOMAIN when the new name would be too long.
    /// </summary>
    private Step RedirectAbove(ref ResponseBuilder response, in QueryView q, Scratch s, ZoneEntry zone, ReadOnlySpan<byte> current,
        ReadOnlySpan<byte> rel, int depth, int dnameDepth)
    {
        var node = s.Node;
        if (!s.Reader.Get(zone.Id, rel[..NodeKey.PrefixOf(rel, dnameDepth)], node) || !node.Valid) return Corrupt(zone, s);
        int dname = node.Find(RRType.DNAME);
        if (dname < 0) return Corrupt(zone, s);
        int ownerAt = SkipLabels(current, depth - dnameDepth);
        if (!response.AddRRset(Section.Answer, current[ownerAt..], node, dname)) return Step.Done;
        // The DNAME is signed; the CNAME made from it is not (RFC 6672 §5.3.1).
        SignSet(ref response, Section.Answer, s, zone, current[ownerAt..], current[ownerAt..], node, dname);
        ref readonly var set = ref node.Set(dname);
        var target = node.Record(set.First);
        int length = ownerAt + target.Length;
        if (RDataWriter.NameLength(target) != target.Length) return Corrupt(zone, s);
        if (length > DnsName.MaxWireLength)
        {
            response.Rcode = Rcode.YXDomain;
            return Step.Done;
        }
        current[..ownerAt].CopyTo(s.Next);
        target.CopyTo(s.Next.AsSpan(ownerAt));
        if (!response.AddSynthesizedCname(current, set.Ttl, s.Next.AsSpan(0, length)) || q.Type == RRType.CNAME) return Step.Done;
        s.Next.AsSpan(0, length).CopyTo(s.Current);
        return Step.Follow;
    }

    /// <summary>RFC 2308 §3: the zone's SOA in the authority section, with the negative TTL.</summary>
    private static void AddNegativeSoa(ref ResponseBuilder response, ZoneEntry zone) =>
        response.AddRecord(Section.Authority, zone.Apex.Wire, RRType.SOA, zone.NegativeTtl, zone.SoaRdata);

    private static Step Corrupt(ZoneEntry zone, Scratch s)
    {
        s.Corrupt = true;
        s.CorruptZone = zone.Apex;
        return Step.Done;
    }

    /// <summary>CH TXT id.server / version.bind (RFC 4892): answered only when configured, else refused.</summary>
    private void Chaos(ref ResponseBuilder response, in QueryView q)
    {
        string? text = null;
        if (q.Type == RRType.TXT)
        {
            var name = DnsName.FromWire(q.Name).ToString().ToLowerInvariant();
            text = name switch
            {
                "id.server." or "hostname.bind." => Options.Identity,
                "version.bind." or "version.server." => Options.Version,
                _ => null,
            };
        }
        if (text is null)
        {
            response.Rcode = Rcode.Refused;
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(text);
        var rdata = new byte[1 + Math.Min(bytes.Length, 255)];
        rdata[0] = (byte)(rdata.Length - 1);
        bytes.AsSpan(0, rdata.Length - 1).CopyTo(rdata.AsSpan(1));
        response.Authoritative = true;
        response.AddRecord(Section.Answer, q.Name, RRType.TXT, 0, rdata, RRClass.CH);
    }

    private static int SkipLabels(ReadOnlySpan<byte> wire, int labels)
    {
        int p = 0;
        for (int i = 0; i < labels; i++) p += wire[p] + 1;
        return p;
    }

    private static bool IsAtOrBelow(ReadOnlySpan<byte> name, ReadOnlySpan<byte> apex)
    {
        int p = 0;
        while (true)
        {
            if (name.Length - p == apex.Length && EqualsIgnoreCase(name[p..], apex)) return true;
            if (p >= name.Length || name[p] == 0) return false;
            p += name[p] + 1;
        }
    }

    private static bool EqualsIgnoreCase(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        for (int i = 0; i < a.Length; i++)
        {
            if (Lower(a[i]) != Lower(b[i])) return false;
        }
        return true;
    }

    private static byte Lower(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;

    private static void ToLower(Span<byte> bytes)
    {
        for (int i = 0; i < bytes.Length; i++) bytes[i] = Lower(bytes[i]);
    }
}

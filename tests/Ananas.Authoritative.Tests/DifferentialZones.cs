using System.Text;
using Ananas.Dns;

namespace Ananas.Authoritative.Tests;

/// <summary>
/// Generated zones for the differential test against NSD: a parent zone <c>diff.</c> delegating to and serving
/// <c>z0.diff.</c> … <c>zN.diff.</c>, each with every record type our parser reads, wildcards (at the apex of
/// some zones, below names in all), empty non-terminals, delegations with in-zone and out-of-zone name servers
/// and DS, DNAME into the next zone, CNAME chains inside a zone, across zones and out of our zones.
/// Deterministic for a seed.
/// </summary>
internal static class DifferentialZones
{
    public const string Parent = "diff.";

    /// <summary>Record types of every generated node, for the "every name and type" questions.</summary>
    public static readonly RRType[] Types =
    [
        RRType.A, RRType.AAAA, RRType.NS, RRType.CNAME, RRType.SOA, RRType.PTR, RRType.MX, RRType.TXT, RRType.SPF, RRType.HINFO,
        RRType.SRV, RRType.NAPTR, RRType.CAA, RRType.DS, RRType.CDS, RRType.DNSKEY, RRType.CDNSKEY, RRType.TLSA, RRType.SMIMEA,
        RRType.SSHFP, RRType.SVCB, RRType.HTTPS, RRType.DNAME, RRType.NSEC, RRType.RRSIG, RRType.NSEC3, RRType.NSEC3PARAM,
        RRType.ZONEMD, (RRType)65280,
    ];

    public static string ZoneName(int i) => $"z{i}.{Parent}";

    /// <summary>(zone name, zone file text) for the parent and <paramref name="count"/> children.</summary>
    public static List<(string Name, string Text)> Generate(int count, int seed)
    {
        var random = new Random(seed);
        var zones = new List<(string, string)>();
        var parent = new StringBuilder($"$ORIGIN {Parent}\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n");
        for (int i = 0; i < count; i++)
        {
            parent.Append($"z{i} IN NS ns1.z{i}\nns1.z{i} IN A 192.0.2.{(i % 250) + 1}\n");
            if (i % 3 == 0) parent.Append($"z{i} IN DS {1000 + i} 13 2 {Hex(random, 32)}\n");
        }
        parent.Append("plain IN A 192.0.2.200\n*.wild IN A 192.0.2.201\n");
        zones.Add((Parent, parent.ToString()));
        for (int i = 0; i < count; i++) zones.Add((ZoneName(i), Child(i, count, random)));
        return zones;
    }

    private static string Child(int i, int count, Random random)
    {
        string next = ZoneName((i + 1) % count);
        var z = new StringBuilder();
        z.Append($"$ORIGIN {ZoneName(i)}\n$TTL {300 + i}\n");
        z.Append($"@ IN SOA ns1 hostmaster.{ZoneName(i)} {2024000 + i} 7200 3600 1209600 {60 + i}\n");
        z.Append("@ IN NS ns1\n@ IN NS ns2.example.net.\n");
        z.Append($"ns1 IN A 192.0.2.{(i % 250) + 1}\nns1 IN AAAA 2001:db8::{i + 1:x}\n");
        z.Append("@ IN MX 10 mail\n@ IN MX 20 mail.example.net.\nmail IN A 192.0.2.25\n");
        z.Append($"@ IN TXT \"v=spf1 -all\" \"zone {i}\"\n@ IN DNSKEY 257 3 13 {Base64(random, 64)}\n@ IN CDNSKEY 257 3 13 {Base64(random, 64)}\n");
        z.Append($"@ IN CDS {2000 + i} 13 2 {Hex(random, 32)}\n@ IN CAA 0 issue \"ca.example.net\"\n");
        z.Append($"@ IN ZONEMD {2024000 + i} 1 1 {Hex(random, 48)}\n");
        for (int h = 0; h < 6; h++)
        {
            z.Append($"host{h} IN A 198.51.100.{random.Next(1, 255)}\n");
            if (h % 2 == 0) z.Append($"host{h} IN AAAA 2001:db8:{i:x}::{h + 1:x}\n");
            if (h % 3 == 0) z.Append($"host{h} IN TXT \"host {h} of zone {i}\"\n");
        }
        z.Append("www IN CNAME host0\nalias2 IN CNAME www\nalias3 IN CNAME alias2\n");
        z.Append($"cross IN CNAME host1.{next}\nexternal IN CNAME www.example.org.\ndangling IN CNAME nothere\n");
        z.Append("_sip._tcp IN SRV 10 60 5060 host1\n_sip._udp IN SRV 10 60 5060 sip.example.net.\n");
        z.Append("sip IN NAPTR 100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp\n");
        z.Append($"_443._tcp.www IN TLSA 3 1 1 {Hex(random, 32)}\n");
        z.Append($"smime._smimecert IN SMIMEA 3 0 1 {Hex(random, 32)}\n");
        z.Append($"host1 IN SSHFP 4 2 {Hex(random, 32)}\nhost1 IN HINFO \"PC\" \"Linux\"\nhost2 IN SPF \"v=spf1 a -all\"\n");
        z.Append("svc IN SVCB 1 host1 alpn=h2,h3 port=8443\nsvc IN HTTPS 1 . alpn=h2\n");
        z.Append($"ptr IN PTR host2.{ZoneName(i)}\n");
        z.Append($"sigs IN NSEC host0.{ZoneName(i)} A RRSIG NSEC\n");
        z.Append($"sigs IN RRSIG A 13 4 300 20300101000000 20200101000000 {1000 + i} {ZoneName(i)} {Base64(random, 64)}\n");
        z.Append($"sigs IN NSEC3 1 0 10 AABBCCDD {Base32(random)} A RRSIG\nsigs IN NSEC3PARAM 1 0 10 AABBCCDD\n");
        z.Append($"opaque IN TYPE65280 \\# 4 0A0B0C0D\n");
        // Wildcards: below a name in every zone (with a CNAME in some), at the apex in every fourth zone.
        z.Append("*.wild IN A 192.0.2.77\n*.wild IN TXT \"synthesized\"\n");
        if (i % 2 == 0) z.Append("*.wcname IN CNAME host0\n");
        if (i % 4 == 0) z.Append("* IN A 192.0.2.78\n* IN MX 10 mail\n");
        z.Append("exists.wild IN A 192.0.2.79\n");
        // Empty non-terminals: b.ent and c.b.ent exist only as ancestors; a wildcard beside them.
        z.Append("a.c.b.ent IN A 192.0.2.90\n*.ent IN TXT \"ent wildcard\"\n");
        // Delegations: glue in the zone and an out-of-zone name server; DS for some.
        z.Append("sub IN NS ns.sub\nsub IN NS ns.example.net.\nns.sub IN A 192.0.2.53\nns.sub IN AAAA 2001:db8::53\n");
        if (i % 2 == 1) z.Append($"sub IN DS {3000 + i} 13 2 {Hex(random, 32)}\n");
        z.Append("deleg2 IN NS ns1\n");
        // DNAME into the next zone, and one whose target is out of our zones.
        z.Append($"dn IN DNAME {next}\ndn IN TXT \"beside the dname\"\nout IN DNAME example.org.\n");
        return z.ToString();
    }

    /// <summary>Names that exist in zone <paramref name="i"/> (owners, empty non-terminals, glue, names under wildcards and cuts).</summary>
    public static string[] Names(int i)
    {
        string o = ZoneName(i);
        string[] relative =
        [
            "", "ns1.", "mail.", "host0.", "host1.", "host2.", "host3.", "host4.", "host5.", "www.", "alias2.", "alias3.", "cross.",
            "external.", "dangling.", "_sip._tcp.", "_sip._udp.", "_tcp.", "sip.", "_443._tcp.www.", "_tcp.www.", "smime._smimecert.", "svc.", "ptr.",
            "sigs.", "opaque.", "wild.", "*.wild.", "exists.wild.", "x.wild.", "y.x.wild.", "x.wcname.", "*.ent.", "ent.", "b.ent.",
            "c.b.ent.", "a.c.b.ent.", "z.b.ent.", "q.ent.", "sub.", "ns.sub.", "www.sub.", "deleg2.", "x.deleg2.", "dn.", "x.dn.",
            "host1.dn.", "a.b.dn.", "out.", "www.out.", "*.", "random-apex-wild.",
        ];
        return [.. relative.Select(r => r + o)];
    }

    private static string Hex(Random random, int bytes)
    {
        var b = new byte[bytes];
        random.NextBytes(b);
        return Convert.ToHexString(b);
    }

    private static string Base64(Random random, int bytes)
    {
        var b = new byte[bytes];
        random.NextBytes(b);
        return Convert.ToBase64String(b);
    }

    private static string Base32(Random random)
    {
        const string alphabet = "0123456789abcdefghijklmnopqrstuv";
        var chars = new char[32];
        for (int k = 0; k < chars.Length; k++) chars[k] = alphabet[random.Next(32)];
        return new string(chars);
    }
}

using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Dnssec;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>Signed fake zones: signing every authoritative RRset, and serving them with RRSIGs and NSEC proofs to DO queries.</summary>
internal static class SignedZones
{
    /// <summary>The DS record of <paramref name="key"/> as the DNSKEY of <paramref name="owner"/> (SHA-256 digest).</summary>
    public static DsData Ds(DnsName owner, Kit.TestKey key) =>
        new(RRType.DS, key.Dnskey().KeyTag, key.Algorithm, DsMatcher.Sha256, DsMatcher.ComputeDigest(owner, key.Dnskey(), DsMatcher.Sha256)!);

    /// <summary>Trust anchors holding only the root's DS for <paramref name="rootKey"/>.</summary>
    public static TrustAnchors RootAnchor(Kit.TestKey rootKey)
    {
        var anchors = new TrustAnchors();
        anchors.Add(new ResourceRecord(DnsName.Root, RRClass.IN, 0, Ds(DnsName.Root, rootKey)));
        return anchors;
    }

    /// <summary>Signs every authoritative RRset of the zone (not delegation NS sets or glue).</summary>
    public static void Sign(FakeZone zone, Kit.TestKey key, uint inception, uint expiration)
    {
        var sets = zone.Records.Where(r => r.Type != RRType.RRSIG).GroupBy(r => (r.Name, r.Type)).ToList();
        foreach (var set in sets)
        {
            var (owner, type) = set.Key;
            bool belowCut = zone.Records.Exists(r => r.Type == RRType.NS && !r.Name.Equals(zone.Origin) && owner.IsSubdomainOf(r.Name));
            if (belowCut && !(type is RRType.DS or RRType.NSEC && IsCut(zone, owner))) continue;
            var records = set.ToList();
            var sig = key.SignRRset(records, zone.Origin, inception, expiration, originalTtl: records[0].Ttl);
            zone.Records.Add(new ResourceRecord(owner, RRClass.IN, records[0].Ttl, sig));
        }
    }

    /// <summary>Flips a bit in the signature of the RRSIG over (owner, covered): that RRset no longer verifies.</summary>
    public static void Tamper(FakeZone zone, string owner, RRType covered)
    {
        int i = zone.Records.FindIndex(r => r.Data is RrsigData s && s.TypeCovered == covered && r.Name.Equals(DnsName.Parse(owner)));
        var sig = (RrsigData)zone.Records[i].Data;
        zone.Records[i] = new ResourceRecord(zone.Records[i].Name, RRClass.IN, zone.Records[i].Ttl, Kit.WithSignature(sig, Kit.Flip(sig.Signature.Span, 5)));
    }

    private static bool IsCut(FakeZone zone, DnsName name) => zone.Records.Exists(r => r.Type == RRType.NS && r.Name.Equals(name) && !name.Equals(zone.Origin));

    /// <summary>The fake authority's answer, with the RRSIGs of every RRset and the NSEC proofs of a negative answer when DO is set.</summary>
    public static void Serve(FakeAuthority authority, string address, FakeZone zone)
    {
        var server = authority.Server(address);
        server.Zones.Add(zone);
        server.Respond = request =>
        {
            var response = FakeAuthority.Answer(server, request.Query);
            if (request.Query.Edns?.DnssecOk != true) return response;
            var q = request.Query.Question;
            if (response.Answers.Count == 0 && response.Has(HeaderFlags.AA))
                foreach (var nsec in zone.Records.Where(r => r.Type == RRType.NSEC && (r.Name.Equals(q.Name) || NsecProofs.Covers(r, q.Name) || NsecProofs.Covers(r, zone.Origin.Prepend("*")))))
                    if (!response.Authority.Contains(nsec)) response.Authority.Add(nsec);
            // An NSEC3 zone (UseNsec3) sends its whole chain with a denial: a superset of every proof.
            if (response.Answers.Count == 0 && response.Has(HeaderFlags.AA))
                response.Authority.AddRange(zone.Records.Where(r => r.Type == RRType.NSEC3));
            AddSignatures(zone, response.Answers);
            AddSignatures(zone, response.Authority);
            return response;
        };
    }

    public static void AddSignatures(FakeZone zone, List<ResourceRecord> section)
    {
        foreach (var (name, type) in section.Select(r => (r.Name, r.Type)).Distinct().ToList())
            section.AddRange(zone.Records.Where(r => r.Data is RrsigData s && s.TypeCovered == type && r.Name.Equals(name)));
    }
}

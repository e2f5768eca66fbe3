using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Resolver.Dnssec;
using static Ananas.Resolver.Tests.Dnssec.Kit;

namespace Ananas.Resolver.Tests.Dnssec;

public sealed class TrustAnchorAndCorpusTests
{
    [Fact]
    public void Default_anchors_are_the_two_root_ksks()
    {
        var anchors = TrustAnchors.CreateDefault();
        var root = anchors.FindClosest(N("www.example.com."));
        Assert.NotNull(root);
        Assert.Equal(DnsName.Root, root.Zone);
        Assert.Equal([20326, 38696], root.DsRecords.Select(d => (int)d.KeyTag).Order());
        Assert.All(root.DsRecords, d => Assert.Equal((8, 2, 32), (d.Algorithm, d.DigestType, d.Digest.Length)));
    }

    [Fact]
    public void Anchors_load_from_zone_and_unbound_text_and_the_closest_wins()
    {
        var anchors = TrustAnchors.CreateDefault();
        anchors.Load(new StringReader("""
            ; comment line
            example.com. 3600 IN DS 50354 7 1 4BAD1572F3C729F6F04749D8B19E00D8356E3871 ; trailing comment
            trust-anchor: "example.net. IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA=="
            sub.example.org. IN DNSKEY 257 3 15 (
                l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4= )
            """));
        Assert.Equal(N("example.com."), anchors.FindClosest(N("a.b.example.com."))!.Zone);
        Assert.Single(anchors.FindClosest(N("example.com."))!.DsRecords);
        Assert.Equal(55648, anchors.FindClosest(N("www.example.net."))!.Keys.Single().KeyTag);
        Assert.Equal(3613, anchors.Get(N("sub.example.org."))!.Keys.Single().KeyTag);
        Assert.Equal(DnsName.Root, anchors.FindClosest(N("example.org."))!.Zone);

        Assert.Throws<FormatException>(() => anchors.Load(new StringReader("example.com. IN A 192.0.2.1")));
        Assert.Throws<FormatException>(() => anchors.Load(new StringReader("example.com. IN DS (")));
    }

    [Fact]
    public void Negative_trust_anchors_cover_names_below_them()
    {
        var anchors = TrustAnchors.CreateDefault();
        anchors.AddNegative(N("broken.example."));
        Assert.True(anchors.IsUnderNegativeAnchor(N("www.Broken.example.")));
        Assert.True(anchors.IsUnderNegativeAnchor(N("broken.example.")));
        Assert.False(anchors.IsUnderNegativeAnchor(N("example.")));
        Assert.False(anchors.IsUnderNegativeAnchor(N("notbroken.example.")));
        Assert.True(anchors.RemoveNegative(N("broken.example.")));
        Assert.False(anchors.IsUnderNegativeAnchor(N("www.broken.example.")));
    }

    // ---- Real signed zones from the deckard corpus (read at test time when present; not copied here) ----

    private const string CorpusDirectory = "/work/shared/corpus/deckard";

    private sealed class Corpus
    {
        public required DateTimeOffset Now { get; init; }
        public required List<ResourceRecord> Records { get; init; }

        public List<ResourceRecord> RRset(string owner, RRType type) =>
            [.. Records.Where(r => r.Type == type && r.Name.Equals(N(owner)))];

        public List<RrsigData> Sigs(string owner, RRType covered) =>
            [.. Records.Where(r => r.Name.Equals(N(owner))).Select(r => r.Data).OfType<RrsigData>().Where(s => s.TypeCovered == covered)];

        public List<DnskeyData> Keys(string zone) => [.. RRset(zone, RRType.DNSKEY).Select(r => (DnskeyData)r.Data)];
    }

    private static Corpus? Load(string file)
    {
        var path = Path.Combine(CorpusDirectory, file);
        if (!File.Exists(path)) return null;
        var records = new List<ResourceRecord>();
        DateTimeOffset now = default;
        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.Trim();
            if (line.StartsWith("val-override-date:", StringComparison.Ordinal))
                now = DateTimeOffset.FromUnixTimeSeconds(Time(line.Split('"')[1]));
            if (line.Length == 0 || !line.Contains('.') || line.StartsWith(';') || !char.IsAsciiLetterOrDigit(line[0]) && line[0] != '.' && line[0] != '*')
                continue;
            ResourceRecord rr;
            try
            {
                rr = Rr(line);
            }
            catch (Exception)
            {
                continue; // not a record line (questions, directives)
            }
            if (!records.Any(r => r.Name.Equals(rr.Name) && r.Type == rr.Type && r.Data.Equals(rr.Data))) records.Add(rr);
        }
        return new Corpus { Now = now, Records = records };
    }

    [Fact]
    public void Deckard_val_secds_chain_validates_from_its_trust_anchor()
    {
        var corpus = Load("val_secds.rpl");
        if (corpus is null) return; // the corpus is not on this machine
        var clock = new FixedClock(corpus.Now);
        var verifier = new RRsetVerifier(clock);
        var budget = new ValidationBudget();
        var registry = DnssecAlgorithmRegistry.Default;

        // Trust anchor (from the scenario's config): example.com. DS 50354 7 1 (SHA-1).
        var anchor = (DsData)Rr("example.com. 3600 IN DS 50354 7 1 4BAD1572F3C729F6F04749D8B19E00D8356E3871").Data;
        var apexKeys = corpus.Keys("example.com.");
        var selected = DsMatcher.SelectKeys(N("example.com."), apexKeys, [anchor], registry);
        Assert.Equal(DsSelectionStatus.KeysMatched, selected.Status);
        var dnskeys = verifier.Verify(corpus.RRset("example.com.", RRType.DNSKEY), corpus.Sigs("example.com.", RRType.DNSKEY), N("example.com."), selected.Keys, budget);
        Assert.True(dnskeys.IsSecure, dnskeys.Reason);

        var ds = verifier.Verify(corpus.RRset("sub.example.com.", RRType.DS), corpus.Sigs("sub.example.com.", RRType.DS), N("example.com."), apexKeys, budget);
        Assert.True(ds.IsSecure, ds.Reason);
        var subKeys = corpus.Keys("sub.example.com.");
        var subSelected = DsMatcher.SelectKeys(N("sub.example.com."), subKeys,
            corpus.RRset("sub.example.com.", RRType.DS).Select(r => (DsData)r.Data), registry);
        Assert.Equal(DsSelectionStatus.KeysMatched, subSelected.Status);
        var subDnskeys = verifier.Verify(corpus.RRset("sub.example.com.", RRType.DNSKEY), corpus.Sigs("sub.example.com.", RRType.DNSKEY), N("sub.example.com."), subSelected.Keys, budget);
        Assert.True(subDnskeys.IsSecure, subDnskeys.Reason);

        var answer = verifier.Verify(corpus.RRset("www.sub.example.com.", RRType.A), corpus.Sigs("www.sub.example.com.", RRType.A), N("sub.example.com."), subKeys, budget);
        Assert.True(answer.IsSecure, answer.Reason);

        // A month later the same signatures have expired.
        var late = new RRsetVerifier(new FixedClock(corpus.Now.AddDays(60)))
            .Verify(corpus.RRset("www.sub.example.com.", RRType.A), corpus.Sigs("www.sub.example.com.", RRType.A), N("sub.example.com."), subKeys, new ValidationBudget());
        Assert.Equal(EdeCode.SignatureExpired, late.Ede);
    }

    [Fact]
    public void Deckard_dsa_signatures_validate_only_when_dsa_is_asked_for()
    {
        var corpus = Load("val_adcopy.rpl"); // DSA signatures in DER, as old signers wrote them
        if (corpus is null) return;
        var keys = corpus.Keys("example.com.");
        var rrset = corpus.RRset("www.example.com.", RRType.A);
        var sigs = corpus.Sigs("www.example.com.", RRType.A);
        Assert.Equal(3, sigs[0].Algorithm);
        var withDsa = new RRsetVerifier(SignatureVerifier.WithDsa, new FixedClock(corpus.Now)).Verify(rrset, sigs, N("example.com."), keys, new ValidationBudget());
        Assert.True(withDsa.IsSecure, withDsa.Reason);
        // RFC 8624: by default DSA is an unsupported algorithm (insecure), never bogus.
        var byDefault = new RRsetVerifier(new FixedClock(corpus.Now)).Verify(rrset, sigs, N("example.com."), keys, new ValidationBudget());
        Assert.Equal(RRsetStatus.UnsupportedAlgorithm, byDefault.Status);

        var altered = rrset.ConvertAll(r => r with { Data = new AddressData(System.Net.IPAddress.Parse("10.20.30.41")) });
        var forged = new RRsetVerifier(SignatureVerifier.WithDsa, new FixedClock(corpus.Now)).Verify(altered, sigs, N("example.com."), keys, new ValidationBudget());
        Assert.Equal(RRsetStatus.Bogus, forged.Status);
    }

    [Fact]
    public void Deckard_val_minimal_noerror_root_keys_validate()
    {
        var corpus = Load("val_minimal_noerror.rpl");
        if (corpus is null) return;
        var anchor = (DsData)Rr(". IN DS 49060 8 2 E7B1EB56D7D5791B3D45630FEAA9C823DB84B385ACEEAC5F44DD08885C36700F").Data;
        var keys = corpus.Keys(".");
        var selected = DsMatcher.SelectKeys(DnsName.Root, keys, [anchor], DnssecAlgorithmRegistry.Default);
        Assert.Equal(DsSelectionStatus.KeysMatched, selected.Status);
        var verifier = new RRsetVerifier(new FixedClock(corpus.Now));
        var budget = new ValidationBudget();
        Assert.True(verifier.Verify(corpus.RRset(".", RRType.DNSKEY), corpus.Sigs(".", RRType.DNSKEY), DnsName.Root, selected.Keys, budget).IsSecure);
        Assert.True(verifier.Verify(corpus.RRset(".", RRType.NS), corpus.Sigs(".", RRType.NS), DnsName.Root, keys, budget).IsSecure);
    }
}

using Ananas.Authoritative.Signing;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Dnssec;

namespace Ananas.Authoritative.Tests;

public sealed class SigningTests
{
    [Theory]
    [InlineData(SigningKey.EcdsaP256Sha256)]
    [InlineData(SigningKey.Ed25519)]
    public void Every_RRset_of_every_kind_of_signed_answer_verifies_with_the_validators_code(byte algorithm)
    {
        using var zone = SignedZoneFixture.Create(null, algorithm);
        (string Name, RRType Type, int MinSets)[] questions =
        [
            ("www.example.com.", RRType.A, 1),            // positive
            ("Mixed.EXAMPLE.com.", RRType.TXT, 1),        // owner in another case than the key
            ("example.com.", RRType.MX, 1),
            ("example.com.", RRType.DNSKEY, 1),           // the DNSKEY RRset made from the store's keys
            ("alias.example.com.", RRType.A, 2),          // CNAME chain
            ("x.wild.example.com.", RRType.A, 2),         // wildcard answer and its proof
            ("wc.example.com.", RRType.TXT, 3),           // CNAME to a wildcard
            ("www.example.com.", RRType.AAAA, 0),         // answer
            ("www.example.com.", RRType.MX, 2),           // NODATA: SOA, NSEC
            ("b.ent.example.com.", RRType.A, 2),          // empty non-terminal
            ("nothere.example.com.", RRType.A, 2),        // compact NXDOMAIN
            ("x.y.wild.example.com.", RRType.MX, 2),      // wildcard NODATA
            ("www.child.example.com.", RRType.A, 1),      // referral with DS
            ("www.plain.example.com.", RRType.A, 1),      // referral without DS: NSEC at the cut
            ("child.example.com.", RRType.DS, 1),         // DS at the cut
            ("plain.example.com.", RRType.DS, 2),         // no DS at the cut: NODATA
            ("y.red.example.com.", RRType.A, 1),          // DNAME (its CNAME unsigned)
            ("example.com.", RRType.NSEC, 1),             // the made-up NSEC asked for
        ];
        foreach (var (name, type, minSets) in questions)
        {
            var m = zone.Ask(name, type);
            Assert.True(m.Rcode == Rcode.NoError, $"{name} {type}: {m.Rcode}");
            Assert.True(zone.AssertSigned(m) >= minSets, $"{name} {type}: fewer than {minSets} signed RRsets\n{m}");
        }
    }

    [Fact]
    public void A_missing_name_is_a_compact_denial_nodata_with_an_NXNAME_NSEC_at_the_name_and_no_neighbour()
    {
        using var zone = SignedZoneFixture.Create();
        var m = zone.Ask("NoThere.example.com.", RRType.A);
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.Empty(m.Answers);
        var nsec = SignedZoneFixture.SingleNsec(m, out var record);
        Assert.Equal(DnsName.Parse("nothere.example.com."), record.Name);
        Assert.Equal(DnsName.Parse("nothere.example.com.").Prepend([0]), nsec.NextDomainName);
        Assert.Equal([RRType.RRSIG, RRType.NSEC, RRType.NXNAME], nsec.Types.Types);
        Assert.Equal(300u, record.Ttl);
        // It proves NODATA for the type asked, the way validators that know nothing of RFC 9824 check it.
        Assert.True(NsecProofs.ProveNoData(DnsName.Parse("nothere.example.com."), RRType.A, [record], SignedZoneFixture.Apex).IsProven);
        Assert.Equal(1, zone.Answerer.Signer.CompactDenials);
    }

    [Fact]
    public void The_CO_flag_restores_NXDOMAIN_and_is_echoed_and_without_DO_a_missing_name_is_a_plain_NXDOMAIN()
    {
        using var zone = SignedZoneFixture.Create();
        var compact = zone.Ask("nothere.example.com.", RRType.A, compactOk: true);
        Assert.Equal(Rcode.NXDomain, compact.Rcode);
        Assert.Equal((ushort)0x4000, compact.Edns!.OtherFlags);
        Assert.Contains(SignedZoneFixture.SingleNsec(compact, out _).Types.Types, t => t == RRType.NXNAME);
        zone.AssertSigned(compact);

        var legacy = zone.Ask("nothere.example.com.", RRType.A, dnssecOk: false);
        Assert.Equal(Rcode.NXDomain, legacy.Rcode);
        Assert.DoesNotContain(legacy.Authority, r => r.Type is RRType.NSEC or RRType.RRSIG);
        Assert.Equal((ushort)0, legacy.Edns!.OtherFlags);
    }

    [Fact]
    public void NODATA_lists_the_names_types_an_empty_non_terminal_none_and_the_apex_its_DNSKEY()
    {
        using var zone = SignedZoneFixture.Create();
        Assert.Equal([RRType.A, RRType.AAAA, RRType.RRSIG, RRType.NSEC], SignedZoneFixture.SingleNsec(zone.Ask("www.example.com.", RRType.MX), out _).Types.Types);
        Assert.Equal([RRType.RRSIG, RRType.NSEC], SignedZoneFixture.SingleNsec(zone.Ask("b.ent.example.com.", RRType.A), out _).Types.Types);
        Assert.Equal([RRType.NS, RRType.SOA, RRType.MX, RRType.RRSIG, RRType.NSEC, RRType.DNSKEY],
            SignedZoneFixture.SingleNsec(zone.Ask("example.com.", RRType.TXT), out _).Types.Types);
        // A referral without DS proves the child insecure: NS, no DS, no SOA.
        var referral = zone.Ask("www.plain.example.com.", RRType.A);
        var cut = SignedZoneFixture.SingleNsec(referral, out var at);
        Assert.Equal(DnsName.Parse("plain.example.com."), at.Name);
        Assert.True(NsecProofs.ProveInsecureDelegation(at.Name, [at], SignedZoneFixture.Apex).IsProven);
        Assert.Equal([RRType.NS, RRType.RRSIG, RRType.NSEC], cut.Types.Types);
    }

    [Fact]
    public void A_wildcard_answer_is_signed_as_the_wildcard_with_a_proof_that_covers_no_name_of_the_zone()
    {
        using var zone = SignedZoneFixture.Create();
        var qname = DnsName.Parse("q.r.wild.example.com.");
        var m = zone.Ask(qname.ToString(), RRType.A);
        var sig = (RrsigData)Assert.Single(m.Answers, r => r.Type == RRType.RRSIG).Data;
        Assert.Equal(3, sig.Labels); // *.wild.example.com.
        var proof = Assert.Single(m.Authority, r => r.Type == RRType.NSEC);
        Assert.True(NsecProofs.ProveWildcardAnswer(qname, sig.Labels, [proof], SignedZoneFixture.Apex).IsProven);
        // No existing name lies in the span, so aggressive use of the NSEC (RFC 8198) denies nothing real.
        foreach (var existing in new[] { "wild.example.com.", "*.wild.example.com.", "www.example.com.", "wc.example.com.", "example.com.", "a.b.ent.example.com." })
            Assert.False(NsecProofs.Covers(proof, DnsName.Parse(existing)), existing);
        zone.AssertSigned(m);
    }

    [Fact]
    public void Signatures_are_dated_back_by_the_inception_offset_and_expire_within_the_validity_less_jitter()
    {
        var time = new ManualTime(DateTimeOffset.Parse("2026-03-01T00:00:00Z"));
        var options = new SigningOptions { Time = time, Validity = TimeSpan.FromDays(4), Jitter = TimeSpan.FromHours(12), InceptionOffset = TimeSpan.FromHours(2) };
        using var zone = SignedZoneFixture.Create(options);
        long now = time.GetUtcNow().ToUnixTimeSeconds();
        var expirations = new HashSet<uint>();
        for (int i = 0; i < 20; i++)
        {
            var sig = (RrsigData)zone.Ask($"n{i}.example.com.", RRType.A).Authority.Last(r => r.Data is RrsigData { TypeCovered: RRType.NSEC }).Data;
            Assert.Equal((uint)(now - 7200), sig.Inception);
            Assert.InRange(sig.Expiration, (uint)(now + 4 * 86400 - 12 * 3600), (uint)(now + 4 * 86400));
            expirations.Add(sig.Expiration);
        }
        Assert.True(expirations.Count > 1, "expirations are jittered");
    }

    [Fact]
    public void Signatures_are_reused_from_the_cache_until_a_quarter_of_their_validity_has_passed()
    {
        var time = new ManualTime(DateTimeOffset.Parse("2026-03-01T00:00:00Z"));
        using var zone = SignedZoneFixture.Create(new SigningOptions { Time = time, Validity = TimeSpan.FromDays(8) });
        var signer = zone.Answerer.Signer;
        var first = zone.Ask("www.example.com.", RRType.A);
        long made = signer.SignaturesMade;
        Assert.Equal(1, made);
        var again = zone.Ask("www.example.com.", RRType.A);
        Assert.Equal(made, signer.SignaturesMade);
        Assert.Equal(1, signer.CacheHits);
        Assert.Equal(first.Answers.Single(r => r.Type == RRType.RRSIG).Data, again.Answers.Single(r => r.Type == RRType.RRSIG).Data);
        time.Advance(TimeSpan.FromDays(2) + TimeSpan.FromSeconds(1));
        var later = zone.Ask("www.example.com.", RRType.A);
        Assert.Equal(made + 1, signer.SignaturesMade);
        Assert.True(((RrsigData)later.Answers.Single(r => r.Type == RRType.RRSIG).Data).Inception > ((RrsigData)first.Answers.Single(r => r.Type == RRType.RRSIG).Data).Inception);
    }

    [Fact]
    public void The_signature_cache_stays_within_its_size_when_clients_ask_for_thousands_of_missing_names()
    {
        using var zone = SignedZoneFixture.Create(new SigningOptions { CacheSize = 64 });
        var signer = zone.Answerer.Signer;
        for (int i = 0; i < 3000; i++) zone.Ask($"missing-{i}.example.com.", RRType.A);
        Assert.True(signer.Cache.Count <= 64, $"{signer.Cache.Count} entries");
        Assert.Equal(64, signer.Cache.Capacity);
        // Every missing name had its own NSEC signed; the SOA's signature was reused from the cache throughout.
        Assert.True(signer.SignaturesMade >= 3000);
        Assert.True(signer.CacheHits >= 2000, $"{signer.CacheHits} hits");
        zone.AssertSigned(zone.Ask("www.example.com.", RRType.A));
    }

    [Fact]
    public void A_zone_without_keys_or_with_signing_off_is_answered_unsigned_and_without_DNSKEY()
    {
        using var off = SignedZoneFixture.Create(new SigningOptions { Enabled = false });
        var m = off.Ask("www.example.com.", RRType.A);
        Assert.DoesNotContain(m.Answers, r => r.Type == RRType.RRSIG);
        Assert.Empty(off.Ask("example.com.", RRType.DNSKEY).Answers);
        Assert.Equal(Rcode.NXDomain, off.Ask("nothere.example.com.", RRType.A).Rcode);

        using var zone = SignedZoneFixture.Create();
        var unsigned = zone.Ask("y.example.net.", RRType.A);
        Assert.DoesNotContain(unsigned.Answers, r => r.Type == RRType.RRSIG);
        Assert.Equal(Rcode.NXDomain, zone.Ask("nothere.example.net.", RRType.A).Rcode);
    }

    [Fact]
    public void Removing_the_last_key_unsigns_the_zone_on_the_next_refresh()
    {
        using var zone = SignedZoneFixture.Create();
        Assert.True(KeyTable.Remove(zone.Store.Store, SignedZoneFixture.Apex, zone.Keys[0].KeyTag));
        Assert.True(zone.Answerer.Refresh());
        Assert.DoesNotContain(zone.Ask("www.example.com.", RRType.A).Answers, r => r.Type == RRType.RRSIG);
        Assert.Throws<KeyTableException>(() => KeyTable.Generate(zone.Store.Store, DnsName.Parse("not-imported.org."), SigningKey.Ed25519, DateTimeOffset.UtcNow));
    }
}

/// <summary>A clock the test moves.</summary>
internal sealed class ManualTime(DateTimeOffset now) : TimeProvider
{
    private DateTimeOffset _now = now;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

using Ananas.Resolver.Tests.Fakes;
using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;

namespace Ananas.Resolver.Tests.Cache;

public sealed class RecordCacheArcTests
{
    private static readonly DnsName Www = DnsName.Parse("www.example.com.");

    private static RRset A(string name, uint ttl, params string[] addresses) =>
        new(DnsName.Parse(name), RRType.A, RRClass.IN, ttl, [.. addresses.Select(a => (RData)new AddressData(IPAddress.Parse(a)))]);

    private static NegativeAnswer NoData(string name, RRType type, uint ttl) =>
        new(NegativeKind.NoData, DnsName.Parse(name), type, RRClass.IN,
            new ResourceRecord(DnsName.Parse("example.com."), ttl, new SoaData(DnsName.Parse("ns.example.com."), DnsName.Parse("h.example.com."), 1, 7200, 3600, 1209600, ttl)));

    [Fact]
    public void Byte_bound_holds_with_real_RRsets_and_each_entry_is_charged_at_least_its_wire_size()
    {
        var clock = new VirtualClock();
        var cache = new RecordCache(clock, new RecordCacheOptions { CapacityBytes = 64 * 1024, ShardCount = 1 });
        var one = A("host0.example.com.", 300, "192.0.2.1", "192.0.2.2");
        // Owner (18 octets of wire) and two addresses: the charge covers them plus object overheads.
        Assert.InRange(RecordCost.Of(one), 18 + 8, 1024);
        for (int i = 0; i < 5000; i++) cache.Store(A($"host{i}.example.com.", 300, "192.0.2.1", "192.0.2.2"), TrustRank.AuthoritativeAnswer);

        var stats = cache.GetStatistics();
        Assert.InRange(stats.ResidentBytes, 1, 64 * 1024);
        Assert.True(stats.Evictions > 0);
        Assert.Equal(stats.EntryCount, cache.Count);
        Assert.InRange(stats.EntryCount, 100, 4999);
        // The most recent ones are resident.
        Assert.NotNull(cache.Get(DnsName.Parse("host4999.example.com."), RRType.A, RRClass.IN));
    }

    [Fact]
    public void TTL_zero_is_not_stored_and_drops_what_was_held_min_TTL_raises_short_TTLs()
    {
        var clock = new VirtualClock();
        var cache = new RecordCache(clock, new RecordCacheOptions { MinTtl = TimeSpan.FromSeconds(60), ShardCount = 1 });
        cache.Store(A("www.example.com.", 5, "192.0.2.1"), TrustRank.AuthoritativeAnswer);
        Assert.Equal(60u, cache.Get(Www, RRType.A, RRClass.IN)!.RemainingTtl);
        cache.Store(A("www.example.com.", 0, "192.0.2.9"), TrustRank.AuthoritativeAnswer);
        Assert.Null(cache.Get(Www, RRType.A, RRClass.IN));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Positive_data_replaces_an_expired_NODATA_of_any_rank_but_not_an_unexpired_higher_one()
    {
        var clock = new VirtualClock();
        var cache = new RecordCache(clock, new RecordCacheOptions { StaleRetention = TimeSpan.FromHours(1), ShardCount = 1 });
        cache.StoreNegative(NoData("www.example.com.", RRType.A, 10), TrustRank.AuthoritativeAuthority);
        cache.Store(A("www.example.com.", 300, "192.0.2.1"), TrustRank.NonAuthoritativeAnswer);
        Assert.NotNull(cache.GetNegative(Www, RRType.A, RRClass.IN)); // unexpired, higher rank: kept
        clock.Advance(TimeSpan.FromSeconds(11));
        Assert.NotNull(cache.GetNegative(Www, RRType.A, RRClass.IN, TimeSpan.FromHours(1))); // stale, still retained
        cache.Store(A("www.example.com.", 0, "192.0.2.1"), TrustRank.NonAuthoritativeAnswer);
        Assert.Null(cache.GetNegative(Www, RRType.A, RRClass.IN, TimeSpan.FromHours(1)));
    }

    [Fact]
    public void Stale_lookups_return_expired_entries_within_the_window_only()
    {
        var clock = new VirtualClock();
        var cache = new RecordCache(clock, new RecordCacheOptions { StaleRetention = TimeSpan.FromSeconds(100), ShardCount = 1 });
        cache.Store(A("www.example.com.", 60, "192.0.2.1"), TrustRank.AuthoritativeAnswer);
        clock.Advance(TimeSpan.FromSeconds(54));
        var fresh = cache.Get(Www, RRType.A, RRClass.IN)!;
        Assert.Equal((6u, 60u, false), (fresh.RemainingTtl, fresh.OriginalTtl, fresh.Stale));
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Null(cache.Get(Www, RRType.A, RRClass.IN));
        var stale = cache.Get(Www, RRType.A, RRClass.IN, TimeSpan.FromSeconds(100))!;
        Assert.Equal((0u, true), (stale.RemainingTtl, stale.Stale));
        clock.Advance(TimeSpan.FromSeconds(100));
        Assert.Null(cache.Get(Www, RRType.A, RRClass.IN, TimeSpan.FromSeconds(100)));
        var stats = cache.GetStatistics();
        Assert.Equal((1L, 1L, 2L), (stats.Hits, stats.StaleHits, stats.Misses));
    }

    [Fact]
    public void Purge_by_name_by_name_and_type_and_by_subtree()
    {
        var clock = new VirtualClock();
        var cache = new RecordCache(clock);
        cache.Store(A("www.example.com.", 300, "192.0.2.1"), TrustRank.AuthoritativeAnswer);
        cache.Store(new RRset(Www, RRType.TXT, RRClass.IN, 300, [new TxtData(RRType.TXT, ["hello"u8.ToArray()])]), TrustRank.AuthoritativeAnswer);
        cache.StoreNegative(NoData("www.example.com.", RRType.AAAA, 300), TrustRank.AuthoritativeAuthority);
        cache.Store(A("a.b.example.com.", 300, "192.0.2.2"), TrustRank.AuthoritativeAnswer);
        cache.Store(A("example.com.", 300, "192.0.2.3"), TrustRank.AuthoritativeAnswer);
        cache.Store(A("example.net.", 300, "192.0.2.4"), TrustRank.AuthoritativeAnswer);

        Assert.Equal(1, cache.Purge(Www, RRType.TXT));
        Assert.NotNull(cache.Get(Www, RRType.A, RRClass.IN));
        Assert.Equal(2, cache.Purge(DnsName.Parse("WWW.example.com.")));
        Assert.Null(cache.GetNegative(Www, RRType.AAAA, RRClass.IN));
        Assert.Equal(2, cache.PurgeSubtree(DnsName.Parse("example.com.")));
        Assert.Null(cache.Get(DnsName.Parse("a.b.example.com."), RRType.A, RRClass.IN));
        Assert.NotNull(cache.Get(DnsName.Parse("example.net."), RRType.A, RRClass.IN));
    }

    [Fact]
    public void CachePurger_purges_the_record_cache_and_the_answer_cache_together()
    {
        var clock = new VirtualClock();
        var records = new RecordCache(clock);
        var answers = new AnswerCache(new AnswerCacheOptions(), clock);
        records.Store(A("www.example.com.", 300, "192.0.2.1"), TrustRank.AuthoritativeAnswer);
        var query = DnsMessage.CreateQuery(1, Www, RRType.A);
        var response = query.CreateResponse();
        response.Answers.Add(new ResourceRecord(Www, 300, new AddressData(IPAddress.Parse("192.0.2.1"))));
        Assert.True(answers.Store(query.ToArray(), response.ToArray()));

        var purged = new CachePurger(records, answers).PurgeSubtree(DnsName.Parse("example.com."));
        Assert.Equal(new PurgeResult(1, 1), purged);
        Assert.Null(records.Get(Www, RRType.A, RRClass.IN));
        Assert.False(answers.TryAnswer(query.ToArray(), new byte[512], out _));
    }
    private static RrsigData Sig(byte labels, byte fill) =>
        new(RRType.A, 13, labels, 300, 2_000_000_000, 1_000_000_000, 4711, DnsName.Parse("example.com."), Enumerable.Repeat(fill, 64).ToArray());

    [Fact]
    public void Names_expanded_from_a_cached_wildcard_share_its_records_and_signatures_instead_of_holding_copies()
    {
        var cache = new RecordCache(new VirtualClock(), new RecordCacheOptions { ShardCount = 1 });
        cache.Store(A("*.example.com.", 300, "192.0.2.1"), TrustRank.AuthoritativeAnswer, ValidationState.Secure, [Sig(2, 7)]);
        var wildcard = cache.Get(DnsName.Parse("*.example.com."), RRType.A, RRClass.IN)!;

        // Each expansion arrives as its own parse: equal records and an equal RRSIG (labels 2 < 3), new objects.
        cache.Store(A("a.example.com.", 300, "192.0.2.1"), TrustRank.AuthoritativeAnswer, ValidationState.Secure, new List<RrsigData> { Sig(2, 7) });
        cache.Store(A("b.example.com.", 300, "192.0.2.1"), TrustRank.AuthoritativeAnswer, ValidationState.Secure, new List<RrsigData> { Sig(2, 7) });

        foreach (var name in (string[])["a.example.com.", "b.example.com."])
        {
            var expansion = cache.Get(DnsName.Parse(name), RRType.A, RRClass.IN)!;
            Assert.Equal(name, expansion.RRset.Name.ToString());
            Assert.Same(wildcard.RRset.Data, expansion.RRset.Data);
            Assert.Same(wildcard.Signatures, expansion.Signatures);
        }
    }

    [Fact]
    public void An_expansion_whose_records_or_signatures_differ_from_the_cached_wildcard_keeps_its_own_in_exact_size_arrays()
    {
        var cache = new RecordCache(new VirtualClock(), new RecordCacheOptions { ShardCount = 1 });
        cache.Store(A("*.example.com.", 300, "192.0.2.1"), TrustRank.AuthoritativeAnswer, ValidationState.Secure, [Sig(2, 7)]);

        cache.Store(A("a.example.com.", 300, "192.0.2.2"), TrustRank.AuthoritativeAnswer, ValidationState.Secure, new List<RrsigData> { Sig(2, 7) });
        cache.Store(A("b.example.com.", 300, "192.0.2.1"), TrustRank.AuthoritativeAnswer, ValidationState.Secure, new List<RrsigData> { Sig(2, 9) });
        var rrset = new RRset(DnsName.Parse("c.example.com."), RRType.A, RRClass.IN, 300, new List<RData> { new AddressData(IPAddress.Parse("192.0.2.3")) });
        cache.Store(rrset, TrustRank.AuthoritativeAnswer, ValidationState.Secure, new List<RrsigData> { Sig(3, 5) });

        var a = cache.Get(DnsName.Parse("a.example.com."), RRType.A, RRClass.IN)!;
        var b = cache.Get(DnsName.Parse("b.example.com."), RRType.A, RRClass.IN)!;
        var c = cache.Get(DnsName.Parse("c.example.com."), RRType.A, RRClass.IN)!;
        Assert.Equal(new AddressData(IPAddress.Parse("192.0.2.2")), Assert.Single(a.RRset.Data));
        Assert.Equal(Sig(2, 9), Assert.Single(b.Signatures));
        Assert.Equal(Sig(3, 5), Assert.Single(c.Signatures));
        // No growable list (with its spare capacity) is kept: the lists a parse built are copied to exact arrays.
        Assert.All((object[])[a.RRset.Data, b.RRset.Data, c.RRset.Data], data => Assert.IsType<RData[]>(data));
        Assert.All((object[])[a.Signatures, b.Signatures, c.Signatures], sigs => Assert.IsType<RrsigData[]>(sigs));
    }
    private static RrsigData SignedBy(string signer, RRType covered) =>
        new(covered, 13, 2, 300, 2_000_000_000, 1_000_000_000, 4711, DnsName.Parse(signer), Enumerable.Repeat((byte)3, 64).ToArray());

    [Fact]
    public void Cached_RRSIGs_name_their_signer_through_the_zone_name_the_cache_holds_when_its_letters_match()
    {
        var cache = new RecordCache(new VirtualClock(), new RecordCacheOptions { ShardCount = 1 });
        var keys = new RRset(DnsName.Parse("example.com."), RRType.DNSKEY, RRClass.IN, 300,
            [new DnskeyData(257, 3, 13, Enumerable.Repeat((byte)1, 64).ToArray())]);
        cache.Store(keys, TrustRank.AuthoritativeAnswer, ValidationState.Secure, [SignedBy("example.com.", RRType.DNSKEY)]);
        cache.Store(A("www.example.com.", 300, "192.0.2.1"), TrustRank.AuthoritativeAnswer, ValidationState.Secure, [SignedBy("example.com.", RRType.A)]);
        cache.Store(A("mail.example.com.", 300, "192.0.2.2"), TrustRank.AuthoritativeAnswer, ValidationState.Secure, [SignedBy("EXAMPLE.com.", RRType.A)]);

        var zone = cache.Get(DnsName.Parse("example.com."), RRType.DNSKEY, RRClass.IN)!;
        var www = cache.Get(DnsName.Parse("www.example.com."), RRType.A, RRClass.IN)!;
        var mail = cache.Get(DnsName.Parse("mail.example.com."), RRType.A, RRClass.IN)!;
        Assert.Same(zone.RRset.Name, Assert.Single(zone.Signatures).SignerName);
        Assert.Same(zone.RRset.Name, Assert.Single(www.Signatures).SignerName);
        Assert.Equal(SignedBy("example.com.", RRType.A), www.Signatures[0]);
        // Another letter case is kept as it came: what a DO client is shown does not change.
        Assert.Equal("EXAMPLE.com.", Assert.Single(mail.Signatures).SignerName.ToString());
        Assert.Equal(SignedBy("EXAMPLE.com.", RRType.A).Signature.ToArray(), mail.Signatures[0].Signature.ToArray());
    }
}

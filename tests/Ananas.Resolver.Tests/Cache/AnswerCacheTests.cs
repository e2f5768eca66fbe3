using Ananas.Resolver.Tests.Fakes;
using Ananas.Tests.Shared;
using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;

namespace Ananas.Resolver.Tests.Cache;

public sealed class AnswerCacheTests
{
    private static readonly CacheOptions Small = new() { CapacityBytes = 1 << 20, ShardCount = 4 };

    private static AnswerCache NewCache(VirtualClock clock, TimeSpan? staleRetention = null) =>
        new(new AnswerCacheOptions { Storage = Small with { StaleRetention = staleRetention ?? TimeSpan.Zero } }, clock);

    private static DnsMessage QueryMessage(string name, RRType type = RRType.A, ushort id = 1, bool dnssecOk = false, bool checkingDisabled = false, bool edns = true, bool recursionDesired = true)
    {
        var query = DnsMessage.CreateQuery(id, DnsName.Parse(name), type, dnssecOk: dnssecOk, recursionDesired: recursionDesired);
        if (!edns) query.Edns = null;
        query.Set(HeaderFlags.CD, checkingDisabled);
        return query;
    }

    private static byte[] Query(string name, RRType type = RRType.A, ushort id = 1, bool dnssecOk = false, bool checkingDisabled = false, bool edns = true, bool recursionDesired = true) =>
        QueryMessage(name, type, id, dnssecOk, checkingDisabled, edns, recursionDesired).ToArray();

    /// <summary>A positive answer: two A records (TTLs 300 and 120) and an NS in authority (TTL 3600).</summary>
    private static byte[] Answer(string name, ushort id = 1, bool dnssecOk = false, bool checkingDisabled = false, uint firstTtl = 300, uint secondTtl = 120)
    {
        var response = QueryMessage(name, RRType.A, id, dnssecOk, checkingDisabled).CreateResponse();
        response.Set(HeaderFlags.RA);
        var owner = DnsName.Parse(name);
        response.Answers.Add(new ResourceRecord(owner, firstTtl, new AddressData(IPAddress.Parse("192.0.2.1"))));
        response.Answers.Add(new ResourceRecord(owner, secondTtl, new AddressData(IPAddress.Parse("192.0.2.2"))));
        response.Authority.Add(new ResourceRecord(owner.Parent, 3600, new NameData(RRType.NS, DnsName.Parse("ns1.example."))));
        return response.ToArray();
    }

    private static DnsMessage Hit(AnswerCache cache, byte[] query)
    {
        var buffer = new byte[4096];
        Assert.True(cache.TryAnswer(query, buffer, out int written));
        return DnsMessage.Parse(buffer.AsSpan(0, written));
    }

    [Theory]
    [InlineData(10, 0)]  // COOKIE of 0 octets (RFC 7873 §5.2.2: FORMERR)
    [InlineData(10, 5)]  // COOKIE of 5 octets
    [InlineData(8, 2)]   // Client Subnet shorter than 4 octets (RFC 7871 §7.1: FORMERR)
    [InlineData(11, 8)]  // edns-tcp-keepalive of 8 octets (RFC 7828 §3.2.1)
    public void A_query_with_a_malformed_known_option_is_never_answered_from_the_cache(ushort code, int length)
    {
        var cache = NewCache(new VirtualClock());
        Assert.True(cache.Store(Query("www.example.com."), Answer("www.example.com.")));
        var query = QueryMessage("www.example.com.");
        query.Edns!.Options.Add(new RawEdnsOption((EdnsOptionCode)code, new byte[length]));
        var wire = query.ToArray();
        // The full parser answers it with FORMERR; the cache must not answer it first.
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(wire));
        Assert.False(cache.TryAnswer(wire, new byte[4096], out _));
        // The same question with a well-formed option is still a hit.
        var good = QueryMessage("www.example.com.");
        good.Edns!.Options.Add(new CookieOption([1, 2, 3, 4, 5, 6, 7, 8]));
        Assert.True(cache.TryAnswer(good.ToArray(), new byte[4096], out _));
    }

    [Fact]
    public void A_plain_querys_answer_stored_without_AD_is_not_served_to_a_client_that_asks_for_AD()
    {
        var cache = NewCache(new VirtualClock());
        // The recursor clears AD for a client that asked neither DO nor AD (RFC 6840 §5.8), so the stored copy has none.
        Assert.True(cache.Store(Query("www.example.com."), Answer("www.example.com.")));
        var askingForAd = QueryMessage("www.example.com.");
        askingForAd.Set(HeaderFlags.AD);
        Assert.False(cache.TryAnswer(askingForAd.ToArray(), new byte[4096], out _));

        // The AD client's own answer, validated and stored with AD, is served with AD to the next such client only.
        var secure = DnsMessage.Parse(Answer("www.example.com."));
        secure.Set(HeaderFlags.AD);
        Assert.True(cache.Store(askingForAd.ToArray(), secure.ToArray()));
        Assert.True(Hit(cache, askingForAd.ToArray()).Has(HeaderFlags.AD));
        Assert.False(Hit(cache, Query("www.example.com.")).Has(HeaderFlags.AD));
    }

    [Fact]
    public void StoredResponse_IsAnsweredWithTheNewQueryId()
    {
        var cache = NewCache(new VirtualClock());
        Assert.True(cache.Store(Query("www.example.com.", id: 7), Answer("www.example.com.", id: 7)));
        var answer = Hit(cache, Query("www.example.com.", id: 0xBEEF));
        Assert.Equal(0xBEEF, answer.Id);
        Assert.True(answer.IsResponse);
        Assert.Equal(2, answer.Answers.Count);
        Assert.Equal(DnsName.Parse("www.example.com."), answer.Question.Name);
        Assert.NotNull(answer.Edns);
    }

    [Fact]
    public void Ttls_DecreaseByTheElapsedVirtualTime_AndTheOptRecordIsLeftAlone()
    {
        var clock = new VirtualClock();
        var cache = NewCache(clock);
        cache.Store(Query("www.example.com.", dnssecOk: true), Answer("www.example.com.", dnssecOk: true));
        clock.Advance(TimeSpan.FromSeconds(100.7)); // whole seconds elapsed: 100
        var answer = Hit(cache, Query("www.example.com.", dnssecOk: true));
        Assert.Equal(200u, answer.Answers[0].Ttl);
        Assert.Equal(20u, answer.Answers[1].Ttl);
        Assert.Equal(3500u, answer.Authority[0].Ttl);
        Assert.True(answer.Edns!.DnssecOk);
        Assert.Equal(0, answer.Edns.Version);
    }

    [Fact]
    public void Entry_ExpiresAfterTheMinimumTtl()
    {
        var clock = new VirtualClock();
        var cache = NewCache(clock);
        cache.Store(Query("www.example.com."), Answer("www.example.com."));
        clock.Advance(TimeSpan.FromSeconds(119));
        var answer = Hit(cache, Query("www.example.com."));
        Assert.Equal(1u, answer.Answers[1].Ttl);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryAnswer(Query("www.example.com."), new byte[4096], out _));
    }

    [Fact]
    public void DnssecOk_CheckingDisabled_AndEdns_ArePartOfTheKey()
    {
        var cache = NewCache(new VirtualClock());
        cache.Store(Query("www.example.com."), Answer("www.example.com."));
        var buffer = new byte[4096];
        Assert.True(cache.TryAnswer(Query("www.example.com."), buffer, out _));
        Assert.False(cache.TryAnswer(Query("www.example.com.", dnssecOk: true), buffer, out _));
        Assert.False(cache.TryAnswer(Query("www.example.com.", checkingDisabled: true), buffer, out _));
        Assert.False(cache.TryAnswer(Query("www.example.com.", edns: false), buffer, out _));
        Assert.False(cache.TryAnswer(Query("www.example.com.", RRType.AAAA), buffer, out _));

        cache.Store(Query("www.example.com.", dnssecOk: true, checkingDisabled: true), Answer("www.example.com.", dnssecOk: true, checkingDisabled: true));
        Assert.True(cache.TryAnswer(Query("www.example.com.", dnssecOk: true, checkingDisabled: true), buffer, out _));
        Assert.False(cache.TryAnswer(Query("www.example.com.", dnssecOk: true), buffer, out _));
    }

    [Fact]
    public void Names_AreCaseInsensitive_AndTheQuerySpellingIsEchoed()
    {
        var cache = NewCache(new VirtualClock());
        cache.Store(Query("www.example.com."), Answer("www.example.com."));
        var answer = Hit(cache, Query("WwW.ExAmPlE.cOm."));
        Assert.True(answer.Question.Name.EqualsExactCase(DnsName.Parse("WwW.ExAmPlE.cOm.")));
    }

    [Fact]
    public void Names_WithOctetsAbove127_AreStillMatchedCaseInsensitively()
    {
        var cache = new AnswerCache(new AnswerCacheOptions { Storage = Small }, new VirtualClock());
        var lower = DnsName.FromWire([3, 0xC3, (byte)'a', (byte)'b', 7, (byte)'e', (byte)'x', (byte)'a', (byte)'m', (byte)'p', (byte)'l', (byte)'e', 0]);
        var upper = DnsName.FromWire([3, 0xC3, (byte)'A', (byte)'B', 7, (byte)'E', (byte)'x', (byte)'a', (byte)'m', (byte)'p', (byte)'l', (byte)'e', 0]);
        var query = DnsMessage.CreateQuery(1, lower, RRType.A);
        var response = query.CreateResponse();
        response.Answers.Add(new ResourceRecord(lower, 60, new AddressData(IPAddress.Parse("192.0.2.9"))));
        Assert.True(cache.Store(query.ToArray(), response.ToArray()));
        var answer = Hit(cache, DnsMessage.CreateQuery(2, upper, RRType.A).ToArray());
        Assert.True(answer.Question.Name.EqualsExactCase(upper));
    }

    [Fact]
    public void RecursionDesired_IsCopiedFromTheQuery()
    {
        var cache = NewCache(new VirtualClock());
        cache.Store(Query("www.example.com."), Answer("www.example.com."));
        Assert.False(Hit(cache, Query("www.example.com.", recursionDesired: false)).Has(HeaderFlags.RD));
        Assert.True(Hit(cache, Query("www.example.com.", recursionDesired: true)).Has(HeaderFlags.RD));
    }

    [Fact]
    public void NegativeAnswer_LivesAsTheCallerSays_ButNoLongerThanItsSoaTtl()
    {
        var clock = new VirtualClock();
        var cache = NewCache(clock);
        var query = QueryMessage("nx.example.com.");
        var response = query.CreateResponse(Rcode.NXDomain);
        var soa = new SoaData(DnsName.Parse("ns1.example.com."), DnsName.Parse("hostmaster.example.com."), 1, 3600, 600, 86400, 60);
        response.Authority.Add(new ResourceRecord(DnsName.Parse("example.com."), 60, soa));
        Assert.True(cache.Store(query.ToArray(), response.ToArray(), TimeSpan.FromSeconds(30)));
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(Rcode.NXDomain, Hit(cache, query.ToArray()).Rcode);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryAnswer(query.ToArray(), new byte[4096], out _));

        // A lifetime longer than the SOA's TTL is cut to it.
        cache.Store(query.ToArray(), response.ToArray(), TimeSpan.FromHours(1));
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.False(cache.TryAnswer(query.ToArray(), new byte[4096], out _));
    }

    [Fact]
    public void TtlZero_Truncated_Mismatched_AndNonQueries_AreNotCached()
    {
        var cache = NewCache(new VirtualClock());
        var query = Query("www.example.com.");
        Assert.False(cache.Store(query, Answer("www.example.com.", firstTtl: 0)));
        var truncated = DnsMessage.Parse(Answer("www.example.com."));
        truncated.Set(HeaderFlags.TC);
        Assert.False(cache.Store(query, truncated.ToArray()));
        Assert.False(cache.Store(query, Answer("other.example.com.")));
        Assert.False(cache.Store(Answer("www.example.com."), Answer("www.example.com."))); // a response is not a query
        Assert.False(cache.Store(query, [1, 2, 3]));
        var empty = QueryMessage("www.example.com.").CreateResponse().ToArray(); // no records: no TTL to go by
        Assert.False(cache.Store(query, empty));
        Assert.True(cache.Store(query, empty, TimeSpan.FromSeconds(5)));
        Assert.True(cache.Purge(DnsName.Parse("www.example.com.")) == 1);
        Assert.False(cache.TryAnswer(query, new byte[4096], out _));
        Assert.False(cache.TryAnswer([0, 1, 0], new byte[4096], out _));
        Assert.Equal(0, cache.GetStatistics().EntryCount);
    }

    [Fact]
    public void TtlZero_DropsTheOlderAnswer()
    {
        var cache = NewCache(new VirtualClock());
        var query = Query("www.example.com.");
        Assert.True(cache.Store(query, Answer("www.example.com.")));
        Assert.False(cache.Store(query, Answer("www.example.com.", secondTtl: 0)));
        Assert.False(cache.TryAnswer(query, new byte[4096], out _));
    }

    [Fact]
    public void DestinationTooSmall_IsAMiss()
    {
        var cache = NewCache(new VirtualClock());
        var response = Answer("www.example.com.");
        cache.Store(Query("www.example.com."), response);
        Assert.False(cache.TryAnswer(Query("www.example.com."), new byte[response.Length - 1], out _));
        Assert.True(cache.TryAnswer(Query("www.example.com."), new byte[response.Length], out int written));
        Assert.Equal(response.Length, written);
    }

    [Fact]
    public void StaleAnswer_IsServedWithinTheWindow_WithTheStaleTtl()
    {
        var clock = new VirtualClock();
        var cache = NewCache(clock, staleRetention: TimeSpan.FromHours(1));
        cache.Store(Query("www.example.com."), Answer("www.example.com."));
        clock.Advance(TimeSpan.FromSeconds(500));
        var buffer = new byte[4096];
        Assert.False(cache.TryAnswer(Query("www.example.com."), buffer, out _));
        Assert.Equal(CacheLookup.Stale, cache.TryAnswer(Query("www.example.com."), buffer, TimeSpan.FromMinutes(10), out int written));
        var answer = DnsMessage.Parse(buffer.AsSpan(0, written));
        Assert.All(answer.Answers, rr => Assert.Equal(30u, rr.Ttl));
        Assert.Equal(CacheLookup.Miss, cache.TryAnswer(Query("www.example.com."), buffer, TimeSpan.FromMinutes(5), out _));
    }

    /// <summary>alias.example.com CNAME www.example.com, www's A record, and example.net's SOA in authority (compressed names).</summary>
    private static (byte[] Query, byte[] Response) AliasAnswer(string qname = "alias.example.com.")
    {
        var query = QueryMessage(qname);
        var response = query.CreateResponse();
        var www = DnsName.Parse("WWW.Example.com.");
        response.Answers.Add(new ResourceRecord(DnsName.Parse(qname), 300, NameData.Cname(www)));
        response.Answers.Add(new ResourceRecord(www, 300, new AddressData(IPAddress.Parse("192.0.2.80"))));
        response.Authority.Add(new ResourceRecord(DnsName.Parse("example.net."), 300, new UnknownData(RRType.TXT, [3, (byte)'a', (byte)'b', (byte)'c'])));
        return (query.ToArray(), response.ToArray());
    }

    [Fact]
    public void Purge_RemovesAnswersHoldingRecordsOfThePurgedName_NotOnlyThoseAskedForIt()
    {
        var cache = NewCache(new VirtualClock());
        var (query, response) = AliasAnswer();
        bool Cached() => cache.TryAnswer(query, new byte[4096], out _);
        void Restore() => Assert.True(cache.Store(query, response));

        Restore();
        Assert.Equal(0, cache.Purge(DnsName.Parse("other.example.com.")));
        Assert.Equal(0, cache.Purge(DnsName.Parse("www.example.com."), RRType.AAAA));
        Assert.Equal(0, cache.PurgeSubtree(DnsName.Parse("w.example.com.")));
        Assert.True(Cached());

        Assert.Equal(1, cache.Purge(DnsName.Parse("www.example.com.")));
        Assert.False(Cached());

        Restore();
        Assert.Equal(1, cache.Purge(DnsName.Parse("www.EXAMPLE.com."), RRType.A));
        Assert.False(Cached());

        Restore();
        Assert.Equal(1, cache.PurgeSubtree(DnsName.Parse("example.net."))); // an authority-section owner counts too
        Assert.False(Cached());

        Restore();
        Assert.Equal(1, cache.PurgeSubtree(DnsName.Parse("www.example.com.")));
        Assert.False(Cached());
    }

    [Fact]
    public void Purge_ByName_ByNameAndType_AndBySubtree()
    {
        var cache = NewCache(new VirtualClock());
        void Store(string name, RRType type)
        {
            var query = QueryMessage(name, type);
            var response = query.CreateResponse();
            response.Answers.Add(new ResourceRecord(DnsName.Parse(name), 300, new UnknownData(type, [1, 2, 3, 4])));
            Assert.True(cache.Store(query.ToArray(), response.ToArray()));
        }
        bool Cached(string name, RRType type) => cache.TryAnswer(Query(name, type), new byte[4096], out _);

        Store("a.example.com.", RRType.A);
        Store("a.example.com.", RRType.AAAA);
        Store("b.example.com.", RRType.A);
        Store("x.b.example.com.", RRType.A);
        Store("example.com.", RRType.A);
        Store("notexample.com.", RRType.A);

        Assert.Equal(1, cache.Purge(DnsName.Parse("A.example.com."), RRType.AAAA));
        Assert.True(Cached("a.example.com.", RRType.A));
        Assert.False(Cached("a.example.com.", RRType.AAAA));

        Assert.Equal(1, cache.Purge(DnsName.Parse("a.example.com.")));
        Assert.False(Cached("a.example.com.", RRType.A));

        Assert.Equal(3, cache.PurgeSubtree(DnsName.Parse("Example.COM.")));
        Assert.False(Cached("b.example.com.", RRType.A));
        Assert.False(Cached("x.b.example.com.", RRType.A));
        Assert.False(Cached("example.com.", RRType.A));
        Assert.True(Cached("notexample.com.", RRType.A));
    }

    [Fact]
    public void Hit_AllocatesNothing()
    {
        var clock = new VirtualClock();
        var cache = NewCache(clock);
        var queries = new byte[64][];
        for (int i = 0; i < queries.Length; i++)
        {
            string name = $"host{i}.example.com.";
            queries[i] = Query(name, id: (ushort)i);
            Assert.True(cache.Store(queries[i], Answer(name, id: (ushort)i)));
        }
        var buffer = new byte[4096];
        for (int i = 0; i < 10_000; i++) cache.TryAnswer(queries[i % queries.Length], buffer, out _);
        clock.Advance(TimeSpan.FromSeconds(5));

        int calls = 0, hits = 0;
        long allocated = AllocationProbe.BytesPerRound(() =>
        {
            if (cache.TryAnswer(queries[calls++ % queries.Length], buffer, out _)) hits++;
        }, callsPerRound: 100_000);
        Assert.Equal(calls, hits);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void ConcurrentStoresAndHits_NeverMixUpAnswers()
    {
        var clock = new VirtualClock();
        var cache = new AnswerCache(new AnswerCacheOptions { Storage = new CacheOptions { CapacityBytes = 64 * 1024, ShardCount = 4 } }, clock);
        const int Names = 500;
        var queries = new byte[Names][];
        var responses = new byte[Names][];
        for (int i = 0; i < Names; i++)
        {
            var name = DnsName.Parse($"n{i}.example.");
            var query = DnsMessage.CreateQuery(0, name, RRType.A);
            var response = query.CreateResponse();
            response.Answers.Add(new ResourceRecord(name, 300, new AddressData(new IPAddress(i + 1))));
            queries[i] = query.ToArray();
            responses[i] = response.ToArray();
        }
        long wrong = 0, hits = 0;
        var threads = new Thread[4];
        for (int t = 0; t < threads.Length; t++)
        {
            bool writer = t < 2;
            int seed = t;
            threads[t] = new Thread(() =>
            {
                var random = new Random(seed);
                var buffer = new byte[512];
                for (int op = 0; op < 20_000; op++)
                {
                    int i = random.Next(Names);
                    if (writer)
                    {
                        cache.Store(queries[i], responses[i]);
                        if (op % 4000 == 0) cache.PurgeSubtree(DnsName.Parse("example."));
                        continue;
                    }
                    var query = (byte[])queries[i].Clone();
                    query[0] = (byte)seed;
                    query[1] = (byte)op;
                    if (!cache.TryAnswer(query, buffer, out int written)) continue;
                    Interlocked.Increment(ref hits);
                    var answer = DnsMessage.Parse(buffer.AsSpan(0, written));
                    bool right = answer.Id == (ushort)((seed << 8) | (byte)op)
                        && answer.Question.Name == DnsName.Parse($"n{i}.example.")
                        && ((AddressData)answer.Answers[0].Data).Address.Equals(new IPAddress(i + 1));
                    if (!right) Interlocked.Increment(ref wrong);
                }
            });
            threads[t].Start();
        }
        foreach (var thread in threads) thread.Join();
        Assert.Equal(0, wrong);
        Assert.True(hits > 0);
        Assert.True(cache.GetStatistics().ResidentBytes <= 64 * 1024);
    }
}

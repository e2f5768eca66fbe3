using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Tests.Shared;

namespace Ananas.Authoritative.Tests;

public sealed class AllocationTests
{
    private const string Zone = StoreFixture.ExampleZone + """

        alias    IN CNAME www
        *.wild   IN A   192.0.2.99
        child    IN NS  ns.child
        ns.child IN A   192.0.2.53
        """;

    [Theory]
    [InlineData("www.example.com.", RRType.A)]
    [InlineData("alias.example.com.", RRType.A)]
    [InlineData("nothere.example.com.", RRType.A)]
    [InlineData("www.example.com.", RRType.MX)]
    [InlineData("x.wild.example.com.", RRType.A)]
    [InlineData("www.child.example.com.", RRType.A)]
    [InlineData("www.example.org.", RRType.A)]
    public void Answering_from_the_store_allocates_nothing_per_query(string name, RRType type)
    {
        using var store = StoreFixture.With(Zone);
        var query = DnsMessage.CreateQuery(1, DnsName.Parse(name), type).ToArray();
        var reply = new byte[1232];
        var answerer = store.Answerer;
        long bytes = AllocationProbe.BytesPerRound(() => answerer.Answer(query, reply, reply.Length, out _));
        Assert.Equal(0, bytes);
    }

    [Theory]
    [InlineData("www.example.com.", RRType.A)]
    [InlineData("nothere.example.com.", RRType.A)]
    [InlineData("x.wild.example.com.", RRType.A)]
    public void Answering_through_the_reply_cache_allocates_nothing_on_a_hit_or_a_miss(string name, RRType type)
    {
        using var store = StoreFixture.With(new Answering.AuthoritativeOptions { ReplyCacheSize = 64 }, Zone);
        var query = DnsMessage.CreateQuery(1, DnsName.Parse(name), type).ToArray();
        var reply = new byte[1232];
        var answerer = store.Answerer;
        Assert.Equal(0, AllocationProbe.BytesPerRound(() => answerer.Answer(query, reply, reply.Length, out _)));
        Assert.True(answerer.Replies!.Hits > 0);
        // Misses: names that rotate through more keys than the cache holds, each answer made and stored again.
        var missing = Enumerable.Range(0, 500).Select(i => DnsMessage.CreateQuery(1, DnsName.Parse($"n{i}.example.com."), type).ToArray()).ToArray();
        long misses = answerer.Replies.Misses;
        int next = 0;
        Assert.Equal(0, AllocationProbe.BytesPerRound(() => answerer.Answer(missing[next++ % missing.Length], reply, reply.Length, out _)));
        Assert.True(answerer.Replies.Misses - misses > 1000);
    }
}

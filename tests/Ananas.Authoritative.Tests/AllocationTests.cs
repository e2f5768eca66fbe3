using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Tests.Shared;

namespace Ananas.Authoritative.Tests;

public sealed class AllocationTests
{
    private const string Zone = """
        $ORIGIN example.com.
        $TTL 3600
        @        IN SOA ns1 hostmaster 1 7200 3600 1209600 300
        @        IN NS  ns1
        ns1      IN A   192.0.2.1
        www      IN A   192.0.2.80
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
}

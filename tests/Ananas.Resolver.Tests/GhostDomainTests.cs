using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Tests.Fakes;
using static Ananas.Resolver.Tests.Fakes.TestWorld;

namespace Ananas.Resolver.Tests;

/// <summary>
/// Ghost domains (CVE-2022-30698, CVE-2022-30699): the child zone's NS set, cached with a long TTL, must not keep a
/// delegation alive after the parent removed or moved it. The delegation is used only while the parent's TTL
/// lasts; then the parent is asked again.
/// </summary>
public sealed class GhostDomainTests
{
    private const string NewServer = "192.0.2.77";

    /// <summary>com delegates example.com for 600 s; the child's own NS set says 86400 s and has been cached.</summary>
    private static async Task<(TestWorld World, Recursor Recursor)> CachedChildNsAsync()
    {
        var world = new TestWorld();
        Replace(world.Com, DnsName.Parse("example.com."), "example.com. 600 NS ns1.example.com.", "ns1.example.com. 600 A 192.0.2.53");
        Replace(world.ExampleCom, DnsName.Parse("example.com."), "@ 86400 NS ns1", "ns1 86400 A 192.0.2.53");
        var recursor = world.Recursor(world.Options());
        Assert.Equal(Rcode.NoError, (await world.Resolve(recursor, "www.example.com.")).Message.Rcode);
        var ns = await world.Resolve(recursor, "example.com.", RRType.NS);
        Assert.Equal(86400u, ns.Message.Answers[0].Ttl);
        return (world, recursor);
    }

    /// <summary>Replaces the NS records at <paramref name="owner"/> and their targets' addresses.</summary>
    private static void Replace(FakeZone zone, DnsName owner, params string[] lines)
    {
        var targets = zone.At(owner, RRType.NS).ConvertAll(r => ((NameData)r.Data).Target);
        zone.Records.RemoveAll(r => (r.Type == RRType.NS && r.Name.Equals(owner)) || (r.Type == RRType.A && targets.Exists(r.Name.Equals)));
        foreach (var line in lines) zone.Records.Add(RecordText.Parse(line, zone.Origin, 300));
    }

    [Fact]
    public async Task Within_the_parent_TTL_the_cached_delegation_is_used_without_asking_the_parent()
    {
        var (world, recursor) = await CachedChildNsAsync();
        world.Clock.Advance(TimeSpan.FromSeconds(400));
        world.Authority.Queries.Clear();
        await world.Resolve(recursor, "www.example.com.");
        Assert.Equal([$"{Ns1} www.example.com A"], world.Authority.Log);
    }

    [Fact]
    public async Task A_delegation_the_parent_removed_ends_with_the_parent_TTL_however_long_the_child_NS_set_is_cached()
    {
        var (world, recursor) = await CachedChildNsAsync();
        world.Com.Records.RemoveAll(r => r.Name.IsSubdomainOf(DnsName.Parse("example.com.")));

        world.Clock.Advance(TimeSpan.FromSeconds(601));
        world.Authority.Queries.Clear();
        var response = await world.Resolve(recursor, "www.example.com.");

        Assert.Equal(Rcode.NXDomain, response.Message.Rcode);
        Assert.Equal([$"{Gtld} www.example.com A"], world.Authority.Log);
    }

    [Fact]
    public async Task A_delegation_the_parent_moved_is_followed_after_the_parent_TTL_and_the_old_child_NS_set_is_dropped()
    {
        var (world, recursor) = await CachedChildNsAsync();
        var moved = new FakeZone("example.com.",
            "@ 3600 SOA ns3 hostmaster 2 7200 3600 1209600 300",
            "@ 600 NS ns3",
            "ns3 600 A " + NewServer,
            "www 300 A 203.0.113.9");
        world.Authority.Serve(NewServer, moved);
        Replace(world.Com, DnsName.Parse("example.com."), "example.com. 600 NS ns3.example.com.", "ns3.example.com. 600 A " + NewServer);

        world.Clock.Advance(TimeSpan.FromSeconds(601));
        world.Authority.Queries.Clear();
        var response = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal(["www.example.com A 203.0.113.9"], Answers.Lines(response.Message.Answers));
        Assert.Equal([$"{Gtld} www.example.com A", $"{NewServer} www.example.com A"], world.Authority.Log);

        // The parent's new NS set replaced the child's old one (86400 s): the next miss goes to the new server only.
        world.Clock.Advance(TimeSpan.FromSeconds(301));
        world.Authority.Queries.Clear();
        await world.Resolve(recursor, "www.example.com.");
        Assert.Equal([$"{NewServer} www.example.com A"], world.Authority.Log);
    }
}

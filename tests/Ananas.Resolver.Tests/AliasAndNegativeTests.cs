using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Tests.Fakes;
using static Ananas.Resolver.Tests.Fakes.TestWorld;

namespace Ananas.Resolver.Tests;

public sealed class AliasAndNegativeTests
{
    [Fact]
    public async Task CNAME_inside_the_zone_is_answered_with_the_whole_chain()
    {
        var world = new TestWorld();
        var response = await world.Resolve(world.Recursor(world.Options()), "alias.example.com.");
        Assert.Equal(["alias.example.com CNAME www.example.com.", "www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));
        Assert.Empty(response.Message.Authority);
    }

    [Fact]
    public async Task CNAME_across_zones_restarts_iteration_at_the_target_and_uses_the_cache_along_the_way()
    {
        var world = new TestWorld();
        var response = await world.Resolve(world.Recursor(world.Options()), "outside.example.com.");
        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Equal(["outside.example.com CNAME www.example.net.", "www.example.net A 198.51.100.7"], Answers.Lines(response.Message.Answers));
        Assert.Equal(
            [
                $"{Root} outside.example.com A", $"{Gtld} outside.example.com A", $"{Ns1} outside.example.com A",
                // net is served by the same (cached) gtld server, but its delegation was not cached: from the root again.
                $"{Root} www.example.net A", $"{Gtld} www.example.net A", $"{NetNs} www.example.net A",
            ],
            world.Authority.Log);
    }

    [Fact]
    public async Task DNAME_is_answered_with_the_synthesised_CNAME()
    {
        var world = new TestWorld();
        var recursor = world.Recursor(world.Options());
        var response = await world.Resolve(recursor, "x.old.example.com.");
        Assert.Equal(
            ["old.example.com DNAME example.net.", "x.old.example.com CNAME x.example.net.", "x.example.net A 198.51.100.8"],
            Answers.Lines(response.Message.Answers));

        // The DNAME is cached: another name below it is synthesised without asking example.com again.
        world.Authority.Queries.Clear();
        var other = await world.Resolve(recursor, "www.old.example.com.");
        Assert.Equal(["old.example.com DNAME example.net.", "www.old.example.com CNAME www.example.net.", "www.example.net A 198.51.100.7"],
            Answers.Lines(other.Message.Answers));
        Assert.Equal([$"{NetNs} www.example.net A"], world.Authority.Log);
    }

    [Fact]
    public async Task DNAME_substitution_that_overflows_the_name_is_YXDOMAIN()
    {
        var world = new TestWorld();
        var longTarget = string.Join('.', Enumerable.Repeat(new string('t', 60), 3)) + ".example.net.";
        world.ExampleCom.Records.Add(Dns.Zones.RecordText.Parse($"long DNAME {longTarget}", world.ExampleCom.Origin));
        var name = new string('a', 60) + "." + new string('b', 10) + ".long.example.com.";
        var response = await world.Resolve(world.Recursor(world.Options()), name);
        Assert.Equal(Rcode.YXDomain, response.Message.Rcode);
    }

    [Fact]
    public async Task NXDOMAIN_carries_the_SOA_with_the_negative_TTL_and_is_cached_with_an_RFC8020_cut()
    {
        var world = new TestWorld();
        var recursor = world.Recursor(world.Options());
        var response = await world.Resolve(recursor, "nope.example.com.");
        Assert.Equal(Rcode.NXDomain, response.Message.Rcode);
        Assert.Empty(response.Message.Answers);
        var soa = Assert.Single(response.Message.Authority);
        Assert.Equal(RRType.SOA, soa.Type);
        Assert.Equal(300u, soa.Ttl); // min(SOA TTL 3600, MINIMUM 300)

        world.Authority.Queries.Clear();
        var again = await world.Resolve(recursor, "nope.example.com.", RRType.MX);
        var below = await world.Resolve(recursor, "deep.below.nope.example.com.");
        Assert.Empty(world.Authority.Queries);
        Assert.Equal(Rcode.NXDomain, again.Message.Rcode);
        Assert.Equal(Rcode.NXDomain, below.Message.Rcode);
        Assert.Equal(RRType.SOA, Assert.Single(below.Message.Authority).Type);

        world.Clock.Advance(TimeSpan.FromSeconds(301));
        await world.Resolve(recursor, "nope.example.com.");
        Assert.Equal([$"{Ns1} nope.example.com A"], world.Authority.Log);
    }

    [Fact]
    public async Task NODATA_is_NOERROR_with_an_empty_answer_and_the_SOA_and_is_cached()
    {
        var world = new TestWorld();
        var recursor = world.Recursor(world.Options());
        var response = await world.Resolve(recursor, "www.example.com.", RRType.AAAA);
        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Empty(response.Message.Answers);
        Assert.Equal(RRType.SOA, Assert.Single(response.Message.Authority).Type);

        world.Authority.Queries.Clear();
        var again = await world.Resolve(recursor, "www.example.com.", RRType.AAAA);
        Assert.Empty(world.Authority.Queries);
        Assert.Equal(RRType.SOA, Assert.Single(again.Message.Authority).Type);
        // The A RRset at the same name is unaffected.
        var a = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(a.Message.Answers));
    }

    [Fact]
    public async Task CNAME_to_a_missing_name_in_the_same_zone_is_NXDOMAIN_with_the_chain()
    {
        var world = new TestWorld();
        world.ExampleCom.Records.Add(Dns.Zones.RecordText.Parse("dangling CNAME gone", world.ExampleCom.Origin));
        var response = await world.Resolve(world.Recursor(world.Options()), "dangling.example.com.");
        Assert.Equal(Rcode.NXDomain, response.Message.Rcode);
        Assert.Equal(["dangling.example.com CNAME gone.example.com."], Answers.Lines(response.Message.Answers));
        Assert.Equal(RRType.SOA, Assert.Single(response.Message.Authority).Type);
    }
}

using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Tests.Fakes;
using static Ananas.Resolver.Tests.Fakes.TestWorld;

namespace Ananas.Resolver.Tests;

public sealed class WorkBoundTests
{
    [Fact]
    public async Task An_endless_chain_of_referrals_stops_at_the_referral_depth_limit()
    {
        var world = new TestWorld();
        // ns1 delegates every name it is asked about one level deeper, to itself.
        world.Authority.Server(Ns1).Respond = request =>
        {
            var referral = request.Query.CreateResponse();
            var name = request.Query.Question.Name;
            referral.Authority.Add(new ResourceRecord(name, 300, NameData.Ns(DnsName.Parse("ns1.example.com."))));
            return referral;
        };
        var name = string.Join('.', Enumerable.Range(0, 50).Select(i => $"l{i}")) + ".example.com.";
        var options = world.Options(qmin: true);
        var response = await world.Resolve(world.Recursor(options), name);

        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        var ede = Answers.Ede(response.Message)!;
        Assert.Equal("referral depth limit (30) reached", ede.ExtraText);
        Assert.True(world.Authority.Queries.Count <= options.Limits.MaxUpstreamQueries);
    }

    [Fact]
    public async Task The_upstream_query_budget_bounds_the_work_of_one_client_query()
    {
        var world = new TestWorld();
        world.Authority.Server(Ns1).Respond = request =>
        {
            var referral = request.Query.CreateResponse();
            referral.Authority.Add(new ResourceRecord(request.Query.Question.Name, 300, NameData.Ns(DnsName.Parse("ns1.example.com."))));
            return referral;
        };
        var name = string.Join('.', Enumerable.Range(0, 50).Select(i => $"l{i}")) + ".example.com.";
        var options = world.Options(qmin: true) with { Limits = Limits.Default with { MaxUpstreamQueries = 10 } };
        var response = await world.Resolve(world.Recursor(options), name);

        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.Equal("upstream queries limit (10) reached", Answers.Ede(response.Message)!.ExtraText);
        Assert.Equal(10, world.Authority.Queries.Count);
        Assert.Equal(10, response.UpstreamQueries);
    }

    [Fact]
    public async Task A_CNAME_loop_is_SERVFAIL_with_an_EDE()
    {
        var world = new TestWorld();
        world.ExampleCom.Records.Add(RecordText.Parse("loop1 CNAME loop2", world.ExampleCom.Origin));
        world.ExampleCom.Records.Add(RecordText.Parse("loop2 CNAME loop1", world.ExampleCom.Origin));
        var response = await world.Resolve(world.Recursor(world.Options()), "loop1.example.com.");

        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.Contains("alias loop", Answers.Ede(response.Message)!.ExtraText);
        Assert.True(world.Authority.Queries.Count <= 4);
    }

    [Fact]
    public async Task A_long_CNAME_chain_stops_at_the_alias_chain_limit()
    {
        var world = new TestWorld();
        for (int i = 0; i < 30; i++)
        {
            // Alternate between zones so that every link costs a new iteration.
            var zone = i % 2 == 0 ? world.ExampleCom : world.ExampleNet;
            var nextZone = i % 2 == 0 ? "example.net." : "example.com.";
            zone.Records.Add(RecordText.Parse($"c{i} CNAME c{i + 1}.{nextZone}", zone.Origin));
        }
        var response = await world.Resolve(world.Recursor(world.Options()), "c0.example.com.");

        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.Equal("alias chain limit (12) reached", Answers.Ede(response.Message)!.ExtraText);
        Assert.True(world.Authority.Queries.Count <= 20, $"{world.Authority.Queries.Count} queries");
    }

    [Fact]
    public async Task A_referral_to_many_glueless_NS_names_resolves_only_a_few_of_them()
    {
        var world = new TestWorld();
        // NXNS: attacker.com delegates to 20 glueless names under a victim zone, none of which exists.
        for (int i = 0; i < 20; i++)
            world.Com.Records.Add(RecordText.Parse($"attacker.com. NS ns{i}.victim.net.", DnsName.Root));
        world.Net.Records.Add(RecordText.Parse("victim.net. NS ns.example.net.", DnsName.Root));
        world.Authority.Serve(NetNs, new FakeZone("victim.net.", "@ SOA ns.example.net. x. 1 2 3 4 300", "@ NS ns.example.net."));
        var options = world.Options();
        var response = await world.Resolve(world.Recursor(options), "www.attacker.com.");

        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.Equal("glueless NS lookups per delegation limit (4) reached", Answers.Ede(response.Message)!.ExtraText);
        var victimQueries = world.Authority.Queries.Count(q => q.Query.Question.Name.IsSubdomainOf(DnsName.Parse("victim.net.")));
        Assert.True(victimQueries <= 4 * 3, $"{victimQueries} queries about victim.net");
        Assert.Equal(4, world.Authority.Queries.Count(q => q.Server.Address.ToString() == NetNs));
    }

    [Fact]
    public async Task A_passed_deadline_stops_the_work()
    {
        var world = new TestWorld();
        var recursor = world.Recursor(world.Options());
        var request = new Request(Query("www.example.com.", RRType.A)) { Deadline = world.Clock.UtcNow };
        var response = await recursor.ResolveAsync(request, world.Authority);
        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.Empty(world.Authority.Queries);
        Assert.Contains("resolution time limit", Answers.Ede(response.Message)!.ExtraText);
    }

    [Fact]
    public async Task Cancellation_stops_the_work()
    {
        var world = new TestWorld();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var response = await world.Recursor(world.Options()).ResolveAsync(new Request(Query("www.example.com.", RRType.A)), world.Authority, cts.Token);
        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.Empty(world.Authority.Queries);
    }
}

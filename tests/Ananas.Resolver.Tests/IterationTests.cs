using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver.Tests.Fakes;
using static Ananas.Resolver.Tests.Fakes.TestWorld;

namespace Ananas.Resolver.Tests;

public sealed class IterationTests
{
    [Fact]
    public async Task Iterates_from_the_root_following_glue_and_answers_minimally()
    {
        var world = new TestWorld();
        var response = await world.Resolve(world.Recursor(world.Options(qmin: false)), "WWW.Example.com.");

        Assert.Equal(
            [$"{Root} www.example.com A", $"{Gtld} www.example.com A", $"{Ns1} www.example.com A"],
            world.Authority.Log);
        var m = response.Message;
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.True(m.Has(HeaderFlags.QR) && m.Has(HeaderFlags.RA) && m.Has(HeaderFlags.RD));
        Assert.False(m.Has(HeaderFlags.AA));
        Assert.Equal("WWW.Example.com.", m.Question.Name.ToString()); // the client's case, echoed
        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(m.Answers));
        Assert.Empty(m.Authority);
        Assert.Empty(m.Additional);
        Assert.NotNull(m.Edns);
        Assert.Equal(3, response.UpstreamQueries);
        Assert.All(world.Authority.Queries, q => Assert.False(q.Query.Has(HeaderFlags.RD)));
    }

    [Fact]
    public async Task Second_query_is_answered_from_cache_and_TTL_decreases_with_the_clock_until_expiry()
    {
        var world = new TestWorld();
        var recursor = world.Recursor(world.Options());
        await world.Resolve(recursor, "www.example.com.");
        world.Authority.Queries.Clear();

        world.Clock.Advance(TimeSpan.FromSeconds(100));
        var cached = await world.Resolve(recursor, "www.example.com.");
        Assert.Empty(world.Authority.Queries);
        Assert.Equal(0, cached.UpstreamQueries);
        Assert.Equal(200u, cached.Message.Answers[0].Ttl);

        world.Clock.Advance(TimeSpan.FromSeconds(201));
        var again = await world.Resolve(recursor, "www.example.com.");
        // The A RRset expired; the example.com delegation (TTL 172800) is still cached: one query, straight to it.
        Assert.Equal([$"{Ns1} www.example.com A"], world.Authority.Log);
        Assert.Equal(300u, again.Message.Answers[0].Ttl);
    }

    [Fact]
    public async Task Qname_minimisation_sends_NS_probes_with_only_the_next_label()
    {
        var world = new TestWorld();
        var response = await world.Resolve(world.Recursor(world.Options(qmin: true)), "www.example.com.");

        Assert.Equal(
            [$"{Root} com NS", $"{Gtld} example.com NS", $"{Ns1} www.example.com A"],
            world.Authority.Log);
        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));
    }

    [Fact]
    public async Task Qname_minimisation_continues_past_empty_non_terminals()
    {
        var world = new TestWorld();
        world.ExampleCom.Records.Add(Dns.Zones.RecordText.Parse("a.b.c A 192.0.2.1", world.ExampleCom.Origin));
        var response = await world.Resolve(world.Recursor(world.Options(qmin: true)), "a.b.c.example.com.");

        Assert.Equal(
            [$"{Root} com NS", $"{Gtld} example.com NS", $"{Ns1} c.example.com NS", $"{Ns1} b.c.example.com NS", $"{Ns1} a.b.c.example.com A"],
            world.Authority.Log);
        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Single(response.Message.Answers);
    }

    [Fact]
    public async Task Qname_minimisation_stops_at_an_authoritative_NXDOMAIN_probe()
    {
        var world = new TestWorld();
        var response = await world.Resolve(world.Recursor(world.Options(qmin: true)), "a.b.nope.example.com.");

        Assert.Equal([$"{Root} com NS", $"{Gtld} example.com NS", $"{Ns1} nope.example.com NS"], world.Authority.Log);
        Assert.Equal(Rcode.NXDomain, response.Message.Rcode);
        Assert.Equal(RRType.SOA, Assert.Single(response.Message.Authority).Type);
    }

    [Fact]
    public async Task Qname_minimisation_falls_back_to_the_full_name_when_probes_fail()
    {
        var world = new TestWorld();
        // ns1 answers NS probes with a non-authoritative NXDOMAIN and no SOA (deckard iter_minim_a_nxdomain).
        var ns1 = world.Authority.Server(Ns1);
        ns1.Respond = request =>
        {
            if (request.Query.Question.Type != RRType.NS) return FakeAuthority.Answer(ns1, request.Query);
            var bad = request.Query.CreateResponse(Rcode.NXDomain);
            return bad;
        };
        world.ExampleCom.Records.Add(Dns.Zones.RecordText.Parse("sub.www A 192.0.2.81", world.ExampleCom.Origin));
        var response = await world.Resolve(world.Recursor(world.Options(qmin: true) with { }), "sub.www.example.com.");

        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Equal(["sub.www.example.com A 192.0.2.81"], Answers.Lines(response.Message.Answers));
        Assert.Contains($"{Ns1} sub.www.example.com A", world.Authority.Log);
    }

    [Fact]
    public async Task Glueless_NS_names_are_resolved_A_only_when_IPv6_is_off()
    {
        var world = new TestWorld();
        var org = new FakeZone("org.",
            "@ SOA a.gtld-servers.net. x. 1 2 3 4 300",
            "example.org. NS ns.example.net.");
        world.RootZone.Records.Add(Dns.Zones.RecordText.Parse("org. NS a0.org-servers.test.", DnsName.Root));
        world.RootZone.Records.Add(Dns.Zones.RecordText.Parse("a0.org-servers.test. A 192.0.2.200", DnsName.Root));
        world.Authority.Serve("192.0.2.200", org);
        world.Authority.Serve(NetNs, new FakeZone("example.org.", "@ SOA ns.example.net. x. 1 2 3 4 300", "@ NS ns.example.net.", "www A 203.0.113.9"));

        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.org.");

        Assert.Equal(["www.example.org A 203.0.113.9"], Answers.Lines(response.Message.Answers));
        Assert.Equal(
            [
                $"{Root} www.example.org A",
                "192.0.2.200 www.example.org A",
                $"{Root} ns.example.net A",
                $"{Gtld} ns.example.net A",
                $"{NetNs} ns.example.net A",
                $"{NetNs} www.example.org A",
            ],
            world.Authority.Log);
        Assert.DoesNotContain(world.Authority.Queries, q => q.Query.Question.Type == RRType.AAAA);
    }

    [Fact]
    public async Task Stub_zone_sends_queries_for_the_zone_straight_to_its_servers()
    {
        var world = new TestWorld();
        var options = world.Options() with
        {
            StubZones = [new StubZone(DnsName.Parse("example.com."), [new System.Net.IPEndPoint(System.Net.IPAddress.Parse(Ns2), 53)])],
        };
        var response = await world.Resolve(world.Recursor(options), "www.example.com.");
        Assert.Equal([$"{Ns2} www.example.com A"], world.Authority.Log);
        Assert.Equal(Rcode.NoError, response.Message.Rcode);
    }

    [Fact]
    public async Task Truncated_UDP_answer_is_retried_over_TCP()
    {
        var world = new TestWorld();
        var ns1 = world.Authority.Server(Ns1);
        ns1.Respond = request =>
        {
            var full = FakeAuthority.Answer(ns1, request.Query);
            if (request.Transport == UpstreamTransport.Tcp) return full;
            var truncated = request.Query.CreateResponse();
            truncated.Set(HeaderFlags.AA | HeaderFlags.TC);
            return truncated;
        };
        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.");
        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));
        var toNs1 = world.Authority.Queries.Where(q => q.Server.Address.ToString() == Ns1).Select(q => q.Transport).ToList();
        Assert.Equal([UpstreamTransport.Udp, UpstreamTransport.Tcp], toNs1);
    }
}

public sealed class DelegationRefreshTests
{
    [Fact]
    public async Task A_cached_delegation_whose_glue_expired_is_refreshed_from_the_parent()
    {
        var world = new TestWorld();
        world.Com.Records.RemoveAll(r => r.Type == RRType.A);
        world.Com.Records.Add(Dns.Zones.RecordText.Parse("ns1.example.com. 10 A 192.0.2.53", DnsName.Root));
        world.Com.Records.Add(Dns.Zones.RecordText.Parse("ns2.example.com. 10 A 192.0.2.54", DnsName.Root));
        var recursor = world.Recursor(world.Options());
        await world.Resolve(recursor, "www.example.com.");

        world.Clock.Advance(TimeSpan.FromSeconds(20));
        world.Authority.Queries.Clear();
        var response = await world.Resolve(recursor, "alias.example.com.");

        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Equal(["alias.example.com CNAME www.example.com.", "www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));
        Assert.True(world.Authority.Queries.Count <= 4, string.Join(" | ", world.Authority.Log));
    }

    [Fact]
    public async Task An_address_the_zone_itself_gave_for_its_name_server_is_preferred_over_the_parents_glue()
    {
        // com's glue for ns1.example.com is stale (nothing answers there); example.com says 192.0.2.53.
        var world = new TestWorld();
        world.Com.Records.RemoveAll(r => r.Name.IsSubdomainOf(DnsName.Parse("example.com.")));
        foreach (var line in new[] { "example.com. 600 NS ns1.example.com.", "example.com. 600 NS ns2.example.com.",
                     "ns1.example.com. 600 A 192.0.2.66", "ns2.example.com. 600 A 192.0.2.54" })
            world.Com.Records.Add(Ananas.Dns.Zones.RecordText.Parse(line, DnsName.Root, 300));
        world.ExampleCom.Records.RemoveAll(r => r.Type == RRType.A && r.Name.Equals(DnsName.Parse("ns1.example.com.")));
        world.ExampleCom.Records.Add(Ananas.Dns.Zones.RecordText.Parse("ns1.example.com. 86400 A 192.0.2.53", DnsName.Root, 300));
        var recursor = world.Recursor(world.Options());
        var ns1 = await world.Resolve(recursor, "ns1.example.com.");
        Assert.Equal(["ns1.example.com A 192.0.2.53"], Answers.Lines(ns1.Message.Answers));

        // Past the parent's TTL the referral brings the stale glue again; the authoritative address is asked first.
        world.Clock.Advance(TimeSpan.FromSeconds(601));
        world.Authority.Queries.Clear();
        var www = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(www.Message.Answers));
        Assert.Equal([$"{Gtld} www.example.com A", $"{Ns1} www.example.com A"], world.Authority.Log);
    }
}

using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Tests.Fakes;
using static Ananas.Resolver.Tests.Fakes.TestWorld;

namespace Ananas.Resolver.Tests;

/// <summary>
/// Behaviour first checked only by peer scenarios: recursion-lame answers (Unbound REC_LAME), the zone's own NS set
/// from an authoritative answer (RFC 2181 §5.4.1), forward-first and TCP-only upstreams.
/// </summary>
public sealed class RecentFixesTests
{
    private static ResourceRecord Rr(string text) => RecordText.Parse(text, DnsName.Root);

    /// <summary>A server that answers www.example.com like a recursive resolver: RA=1, AA=0, with its own (stale) data.</summary>
    private static void Recursive(TestWorld world, string address, string answer)
    {
        var server = world.Authority.Server(address);
        server.Respond = request =>
        {
            var response = request.Query.CreateResponse();
            response.Set(HeaderFlags.RA);
            response.Answers.Add(Rr($"{request.Query.Question.Name} 300 A {answer}"));
            return response;
        };
    }

    [Fact]
    public async Task A_recursion_lame_answer_gives_way_to_an_authoritative_one()
    {
        // Unbound iter_reclame_one: RA=1 AA=0 from a server asked as an authority is REC_LAME; the other server answers.
        var world = new TestWorld();
        Recursive(world, Ns1, "10.9.9.9");

        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.");

        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));
        Assert.Equal(1, world.Authority.CountTo(Ns1));
        Assert.Equal(1, world.Authority.CountTo(Ns2));
    }

    [Fact]
    public async Task When_every_server_is_recursion_lame_its_answer_is_used()
    {
        // Unbound iter_reclame_two (and deckard): all servers recursion-lame, so their answer is the last resort.
        var world = new TestWorld();
        Recursive(world, Ns1, "10.9.9.9");
        Recursive(world, Ns2, "10.9.9.9");

        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.");

        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Equal(["www.example.com A 10.9.9.9"], Answers.Lines(response.Message.Answers));
    }

    [Fact]
    public async Task The_zones_own_NS_set_from_an_authoritative_answer_replaces_the_referral_copy()
    {
        // RFC 2181 §5.4.1 (Unbound iter_pcnamech): com. delegates example.com to ns1 only; the zone itself also names
        // ns.example.net. Once ns1 dies, the zone's own NS set finds ns.example.net. (Only without promiscuous scrubbing.)
        var world = new TestWorld();
        world.Com.Records.RemoveAll(r => r.Name.Equals(DnsName.Parse("example.com.")) && r.Data.ToString() == "ns2.example.com.");
        world.ExampleCom.Records.RemoveAll(r => r.Type == RRType.NS && r.Data.ToString() == "ns2.example.com.");
        world.ExampleCom.Records.Add(Rr("example.com. 3600 NS ns.example.net."));
        world.Authority.Serve(NetNs, world.ExampleCom);
        var ns1 = world.Authority.Server(Ns1);
        ns1.Respond = request =>
        {
            var response = FakeAuthority.Answer(ns1, request.Query);
            if (response.Answers.Count > 0) response.Authority.AddRange(world.ExampleCom.At(DnsName.Parse("example.com."), RRType.NS));
            return response;
        };
        var recursor = world.Recursor(world.Options() with { ScrubPromiscuous = false });

        Assert.Equal(Rcode.NoError, (await world.Resolve(recursor, "www.example.com.")).Message.Rcode);
        var cached = world.Cache.Get(DnsName.Parse("example.com."), RRType.NS, RRClass.IN);
        Assert.NotNull(cached);
        Assert.Equal(TrustRank.AuthoritativeAuthority, cached.Rank);
        Assert.Equal(2, cached.RRset.Data.Count);

        ns1.Respond = null;
        ns1.Silent = true;
        var later = await world.Resolve(recursor, "alias.example.com.");
        Assert.Equal(["alias.example.com CNAME www.example.com.", "www.example.com A 192.0.2.80"], Answers.Lines(later.Message.Answers));
        Assert.True(world.Authority.CountTo(NetNs) >= 2); // the address of ns.example.net, then the question
    }

    [Fact]
    public async Task The_zones_NS_set_in_a_non_authoritative_answer_is_not_cached_as_authoritative()
    {
        var world = new TestWorld();
        var ns1 = world.Authority.Server(Ns1);
        ns1.Respond = request =>
        {
            var response = FakeAuthority.Answer(ns1, request.Query);
            response.Set(HeaderFlags.AA, false);
            response.Authority.Add(Rr("example.com. 3600 NS ns.evil.example.com."));
            return response;
        };

        await world.Resolve(world.Recursor(world.Options() with { ScrubPromiscuous = false }), "www.example.com.");

        var cached = world.Cache.Get(DnsName.Parse("example.com."), RRType.NS, RRClass.IN);
        Assert.NotNull(cached);
        Assert.DoesNotContain(cached.RRset.Data, d => d.ToString() == "ns.evil.example.com.");
    }

    [Fact]
    public async Task Promiscuous_scrubbing_ignores_the_NS_set_of_a_positive_answer()
    {
        // Unbound iter_scrub_promiscuous "pollute1" (CVE-2025-11411): an authoritative answer names an attacker's
        // server for the zone; later queries must still go to the delegated servers.
        var world = new TestWorld();
        var ns1 = world.Authority.Server(Ns1);
        ns1.Respond = request =>
        {
            var response = FakeAuthority.Answer(ns1, request.Query);
            if (response.Answers.Count > 0) response.Authority.Add(Rr("example.com. 86400 NS ns.example.net."));
            return response;
        };
        world.Authority.Serve(NetNs, new FakeZone("example.com.", "@ 3600 SOA ns hostmaster 1 7200 3600 1209600 300", "@ NS ns.example.net.", "alias A 10.6.6.6"));
        var recursor = world.Recursor(world.Options());

        await world.Resolve(recursor, "www.example.com.");
        var cached = world.Cache.Get(DnsName.Parse("example.com."), RRType.NS, RRClass.IN);
        Assert.NotNull(cached);
        Assert.DoesNotContain(cached.RRset.Data, d => d.ToString() == "ns.example.net.");

        var check = await world.Resolve(recursor, "alias.example.com.");
        Assert.Equal(["alias.example.com CNAME www.example.com.", "www.example.com A 192.0.2.80"], Answers.Lines(check.Message.Answers));
        Assert.Equal(0, world.Authority.CountTo(NetNs));
    }

    [Fact]
    public async Task YXDOMAIN_without_a_DNAME_is_a_server_failure()
    {
        // RFC 6672 §2.2: YXDOMAIN only reports a DNAME substitution that overflows. Unbound iter_scrub_promiscuous
        // "pollute4": YXDOMAIN with a plain A record (and a poisoning NS set) is SERVFAIL, and nothing is cached.
        var world = new TestWorld();
        foreach (var address in new[] { Ns1, Ns2 })
        {
            world.Authority.Server(address).Respond = request =>
            {
                var response = request.Query.CreateResponse(Rcode.YXDomain);
                response.Set(HeaderFlags.AA);
                response.Answers.Add(Rr($"{request.Query.Question.Name} 86400 A 1.2.3.4"));
                response.Authority.Add(Rr("example.com. 86400 NS ns.example.net."));
                return response;
            };
        }

        var response = await world.Resolve(world.Recursor(world.Options() with { ScrubPromiscuous = false }), "www.example.com.");

        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.Empty(response.Message.Answers);
        Assert.Null(world.Cache.Get(DnsName.Parse("www.example.com."), RRType.A, RRClass.IN));
    }

    private static RecursorOptions ForwardTo(TestWorld world, string forwarder, bool first, bool tcp = false) => world.Options() with
    {
        ForwardZones = [new ForwardZone(DnsName.Root, [new IPEndPoint(IPAddress.Parse(forwarder), 53)]) { First = first, Tcp = tcp }],
    };

    [Fact]
    public async Task Forward_first_iterates_when_the_forwarders_fail()
    {
        // Unbound forward-first: a silent forwarder, then resolution from the root.
        var world = new TestWorld();
        world.Authority.Server("192.0.2.1").Silent = true;

        var response = await world.Resolve(world.Recursor(ForwardTo(world, "192.0.2.1", first: true)), "www.example.com.");

        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));
        Assert.Equal("192.0.2.1 www.example.com A", world.Authority.Log[0]);
        Assert.Contains($"{Root} www.example.com A", world.Authority.Log);
    }

    [Fact]
    public async Task Without_forward_first_a_failing_forwarder_is_SERVFAIL()
    {
        var world = new TestWorld();
        world.Authority.Server("192.0.2.1").Silent = true;

        var response = await world.Resolve(world.Recursor(ForwardTo(world, "192.0.2.1", first: false)), "www.example.com.");

        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.DoesNotContain(world.Authority.Queries, q => q.Server.Address.ToString() == Root);
    }

    [Fact]
    public async Task Tcp_upstream_sends_every_query_over_TCP()
    {
        var world = new TestWorld();

        var response = await world.Resolve(world.Recursor(world.Options() with { TcpUpstream = true }), "www.example.com.");

        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.NotEmpty(world.Authority.Queries);
        Assert.All(world.Authority.Queries, q => Assert.Equal(UpstreamTransport.Tcp, q.Transport));
    }

    [Fact]
    public async Task Forward_tcp_upstream_asks_only_the_forwarders_over_TCP()
    {
        // Unbound forward-tcp-upstream: the forwarder over TCP; iteration after forward-first keeps UDP.
        var world = new TestWorld();
        world.Authority.Server("192.0.2.1").Silent = true;

        await world.Resolve(world.Recursor(ForwardTo(world, "192.0.2.1", first: true, tcp: true)), "www.example.com.");

        Assert.All(world.Authority.Queries, q =>
            Assert.Equal(q.Server.Address.ToString() == "192.0.2.1" ? UpstreamTransport.Tcp : UpstreamTransport.Udp, q.Transport));
    }

    private static void EmptyAnswers(TestWorld world, string address)
    {
        world.Authority.Server(address).Respond = request =>
        {
            var response = request.Query.CreateResponse();
            response.Set(HeaderFlags.AA);
            return response;
        };
    }

    [Fact]
    public async Task An_empty_authoritative_answer_without_SOA_gives_way_to_another_server()
    {
        // Unbound iter_ignore_empty: AA NOERROR with nothing in it; the other server has the data.
        var world = new TestWorld();
        EmptyAnswers(world, Ns1);

        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.");

        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));
        Assert.Equal(1, world.Authority.CountTo(Ns2));
    }

    [Fact]
    public async Task When_every_server_answers_empty_the_answer_is_NODATA()
    {
        var world = new TestWorld();
        EmptyAnswers(world, Ns1);
        EmptyAnswers(world, Ns2);

        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.");

        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Empty(response.Message.Answers);
    }
}

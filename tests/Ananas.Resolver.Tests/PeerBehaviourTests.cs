using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Tests.Fakes;
using static Ananas.Resolver.Tests.Fakes.TestWorld;

namespace Ananas.Resolver.Tests;

/// <summary>Behaviour the peer resolvers share and their test corpora check (deckard and Unbound scenarios).</summary>
public sealed class PeerBehaviourTests
{
    private static ResourceRecord Rr(string text) => RecordText.Parse(text, DnsName.Root);

    [Fact]
    public async Task Parent_side_glue_is_the_last_resort_when_the_childs_address_for_the_NS_fails()
    {
        // deckard iter_pcdiff: net. gives ns.example.net glue 192.0.2.99, example.net itself says 192.0.2.98 (dead).
        var world = new TestWorld();
        world.ExampleNet.Records.RemoveAll(r => r.Type == RRType.A && r.Name.Equals(DnsName.Parse("ns.example.net.")));
        world.ExampleNet.Records.Add(Rr("ns.example.net. 3600 A 192.0.2.98"));
        world.Com.Records.Add(Rr("shop.com. 172800 NS ns.example.net."));
        var shop = new FakeZone("shop.com.", "@ 3600 SOA ns.example.net. hostmaster 1 7200 3600 1209600 300", "@ NS ns.example.net.", "www A 203.0.113.5");
        world.Authority.Serve(NetNs, world.ExampleNet, shop);

        var response = await world.Resolve(world.Recursor(world.Options()), "www.shop.com.");

        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Equal(["www.shop.com A 203.0.113.5"], Answers.Lines(response.Message.Answers));
        Assert.Equal(1, world.Authority.CountTo("192.0.2.98"));
    }

    [Fact]
    public async Task An_authoritative_empty_answer_with_an_upward_referral_is_lame()
    {
        // deckard iter_lame_aaaa: the server answers AAAA with AA and the root NS set in the authority section.
        var world = new TestWorld();
        foreach (var address in new[] { Ns1, Ns2 })
        {
            var server = world.Authority.Server(address);
            server.Respond = request =>
            {
                if (request.Query.Question.Type != RRType.AAAA) return FakeAuthority.Answer(server, request.Query);
                var upward = request.Query.CreateResponse();
                upward.Set(HeaderFlags.AA);
                upward.Authority.Add(Rr(". 3600000 NS a.root-servers.net."));
                return upward;
            };
        }
        var recursor = world.Recursor(world.Options());

        Assert.Equal(Rcode.NoError, (await world.Resolve(recursor, "www.example.com.")).Message.Rcode);
        Assert.Equal(Rcode.ServFail, (await world.Resolve(recursor, "www.example.com.", RRType.AAAA)).Message.Rcode);
    }

    [Fact]
    public async Task A_negative_answer_keeps_the_zones_authority_records_fresh_and_from_the_cache()
    {
        // deckard iter_domain_sale: kresd passes on the in-bailiwick authority section of a final negative answer.
        var world = new TestWorld();
        foreach (var address in new[] { Ns1, Ns2 })
        {
            var server = world.Authority.Server(address);
            server.Respond = request =>
            {
                var response = FakeAuthority.Answer(server, request.Query);
                if (response.Rcode == Rcode.NXDomain)
                {
                    response.Authority.Add(Rr("example.com. 3600 NS ns1.example.com."));
                    response.Authority.Add(Rr("evil.org. 3600 NS ns.evil.org."));
                }
                return response;
            };
        }
        var recursor = world.Recursor(world.Options());

        foreach (var _ in new[] { "fresh", "cached" })
        {
            var response = await world.Resolve(recursor, "nx.example.com.");
            Assert.Equal(Rcode.NXDomain, response.Message.Rcode);
            Assert.Equal(["example.com SOA", "example.com NS"], response.Message.Authority.Select(r => $"{Answers.Text(r.Name)} {r.Type}"));
        }
        // Root, com, example.com once: the second answer came from the cache.
        Assert.Equal(3, world.Authority.Log.Count(l => l.EndsWith("nx.example.com A")));
    }

    [Fact]
    public async Task A_CNAME_loop_is_SERVFAIL_with_the_chain_shown_once()
    {
        var world = new TestWorld();
        world.ExampleCom.Records.Add(RecordText.Parse("loop1 CNAME loop2", world.ExampleCom.Origin));
        world.ExampleCom.Records.Add(RecordText.Parse("loop2 CNAME loop1", world.ExampleCom.Origin));

        var response = await world.Resolve(world.Recursor(world.Options()), "loop1.example.com.");

        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.Equal(["loop1.example.com CNAME loop2.example.com.", "loop2.example.com CNAME loop1.example.com."], Answers.Lines(response.Message.Answers));
    }

    [Fact]
    public async Task A_CNAME_loop_without_the_chain_is_SERVFAIL_with_empty_sections_and_an_EDE_naming_the_loop()
    {
        // Unbound val_cname_loop1-3: Unbound sends no partial chain with a failure.
        var world = new TestWorld();
        world.ExampleCom.Records.Add(RecordText.Parse("loop1 CNAME loop2", world.ExampleCom.Origin));
        world.ExampleCom.Records.Add(RecordText.Parse("loop2 CNAME loop1", world.ExampleCom.Origin));

        var response = await world.Resolve(world.Recursor(world.Options(), peer: new PeerCompatibility { AliasLoopShowsChain = false }), "loop1.example.com.");

        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.Empty(response.Message.Answers);
        Assert.Empty(response.Message.Authority);
        var ede = Assert.Single(response.Message.Edns!.Options.OfType<ExtendedErrorOption>());
        Assert.Contains("alias loop", ede.ExtraText);
    }

    [Fact]
    public async Task A_DNAME_applied_twice_in_one_chain_is_sent_once()
    {
        // deckard iter_dname_insec "shortloop": d.example.com DNAME example.com, asked a.d.d.example.com.
        var world = new TestWorld();
        world.ExampleCom.Records.Add(RecordText.Parse("d DNAME example.com.", world.ExampleCom.Origin));
        world.ExampleCom.Records.Add(RecordText.Parse("a A 192.0.2.1", world.ExampleCom.Origin));

        var response = await world.Resolve(world.Recursor(world.Options()), "a.d.d.example.com.");

        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Equal(
            [
                "d.example.com DNAME example.com.", "a.d.d.example.com CNAME a.d.example.com.", "a.d.example.com CNAME a.example.com.",
                "a.example.com A 192.0.2.1",
            ],
            Answers.Lines(response.Message.Answers));
    }

    [Fact]
    public async Task A_minimisation_probe_answered_empty_without_SOA_is_followed_by_the_full_name()
    {
        // deckard iter_dname_insec: an NS probe for an empty non-terminal gets AA NOERROR with nothing at all.
        var world = new TestWorld();
        world.ExampleCom.Records.Add(RecordText.Parse("a.b.c A 192.0.2.2", world.ExampleCom.Origin));
        foreach (var address in new[] { Ns1, Ns2 })
        {
            var server = world.Authority.Server(address);
            server.Respond = request =>
            {
                if (request.Query.Question.Type != RRType.NS || request.Query.Question.Name.LabelCount <= 2)
                    return FakeAuthority.Answer(server, request.Query);
                var empty = request.Query.CreateResponse();
                empty.Set(HeaderFlags.AA);
                return empty;
            };
        }

        var response = await world.Resolve(world.Recursor(world.Options(qmin: true)), "a.b.c.example.com.");

        Assert.Equal(["a.b.c.example.com A 192.0.2.2"], Answers.Lines(response.Message.Answers));
        Assert.Equal([$"{Ns1} c.example.com NS", $"{Ns1} a.b.c.example.com A"], world.Authority.Log.Where(l => l.StartsWith(Ns1)));
    }

    [Fact]
    public async Task Without_RD_only_the_cache_answers()
    {
        // RFC 1034 §4.3.1; deckard iter_badraw sends an RD=0 query no range scripts.
        var world = new TestWorld();
        var recursor = world.Recursor(world.Options());
        var nonRecursive = Query("www.example.com.", RRType.A);
        nonRecursive.Flags &= ~HeaderFlags.RD;

        var refused = await recursor.ResolveAsync(new Request(nonRecursive), world.Authority);
        Assert.Equal(Rcode.Refused, refused.Message.Rcode);
        Assert.Empty(world.Authority.Queries);

        await world.Resolve(recursor, "www.example.com.");
        int upstream = world.Authority.Queries.Count;
        var cached = await recursor.ResolveAsync(new Request(nonRecursive), world.Authority);
        Assert.Equal(Rcode.NoError, cached.Message.Rcode);
        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(cached.Message.Answers));
        Assert.Equal(upstream, world.Authority.Queries.Count);
    }

    [Fact]
    public async Task Parent_side_glue_learnt_by_an_earlier_query_is_still_the_last_resort()
    {
        // Unbound iter_pcnamerec: the glue came with one client query, the child's address fails for a later one.
        var world = new TestWorld();
        world.ExampleNet.Records.RemoveAll(r => r.Type == RRType.A && r.Name.Equals(DnsName.Parse("ns.example.net.")));
        world.ExampleNet.Records.Add(Rr("ns.example.net. 3600 A 192.0.2.98"));
        world.Com.Records.Add(Rr("shop.com. 172800 NS ns.example.net."));
        var shop = new FakeZone("shop.com.", "@ 3600 SOA ns.example.net. hostmaster 1 7200 3600 1209600 300", "@ NS ns.example.net.", "www A 203.0.113.5");
        world.Authority.Serve(NetNs, world.ExampleNet, shop);
        var recursor = world.Recursor(world.Options());
        await world.Resolve(recursor, "ns.example.net."); // caches the parent's glue and then the child's (dead) address

        var response = await world.Resolve(recursor, "www.shop.com.");

        Assert.Equal(["www.shop.com A 203.0.113.5"], Answers.Lines(response.Message.Answers));
    }

    [Fact]
    public async Task Minimisation_probes_use_the_configured_type()
    {
        // RFC 9156 §3 recommends A probes (Unbound); kresd and the deckard corpus use NS.
        var world = new TestWorld();
        var options = world.Options(qmin: true);
        var peer = new PeerCompatibility { MinimisationProbeType = RRType.A };
        world.ExampleCom.Records.Add(RecordText.Parse("a.b A 192.0.2.3", world.ExampleCom.Origin));

        var response = await world.Resolve(world.Recursor(options, peer: peer), "a.b.example.com.");

        Assert.Equal(["a.b.example.com A 192.0.2.3"], Answers.Lines(response.Message.Answers));
        Assert.Equal([$"{Root} com A", $"{Gtld} example.com A", $"{Ns1} b.example.com A", $"{Ns1} a.b.example.com A"], world.Authority.Log);
    }

    [Fact]
    public async Task Minimising_the_full_name_keeps_the_qtype_from_the_parent_zone()
    {
        // Unbound (iterator.c): with A probes, the full name is probed with A too unless the QTYPE is A or DS, so only
        // the zone that holds the name sees the QTYPE (RFC 9156 §2).
        var world = new TestWorld();
        var options = world.Options(qmin: true) with { MinimiseFullName = true };
        var peer = new PeerCompatibility { MinimisationProbeType = RRType.A };
        world.ExampleCom.Records.Add(RecordText.Parse("www AAAA 2001:db8::80", world.ExampleCom.Origin));

        var response = await world.Resolve(world.Recursor(options, peer: peer), "www.example.com.", RRType.AAAA);

        Assert.Equal(["www.example.com AAAA 2001:db8::80"], Answers.Lines(response.Message.Answers));
        Assert.Equal([$"{Root} com A", $"{Gtld} example.com A", $"{Ns1} www.example.com A", $"{Ns1} www.example.com AAAA"], world.Authority.Log);

        // A and DS are sent as they are at the last label.
        world.Authority.Queries.Clear();
        await world.Resolve(world.Recursor(options, peer: peer), "x.example.net.");
        Assert.Equal($"{NetNs} x.example.net A", world.Authority.Log[^1]);
    }

    [Fact]
    public async Task Priming_asks_the_hints_for_the_root_NS_set_once()
    {
        // RFC 8109: the root NS set and its glue come from a root server, not from the (possibly stale) hints.
        var world = new TestWorld();
        var recursor = world.Recursor(world.Options() with { PrimeRoot = true });

        var response = await world.Resolve(recursor, "www.example.com.");
        await world.Resolve(recursor, "www.example.net.");

        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));
        Assert.Equal($"{Root} . NS", world.Authority.Log[0]);
        Assert.Single(world.Authority.Log, l => l.EndsWith(" . NS", StringComparison.Ordinal));
    }
}

using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Tests.Fakes;
using static Ananas.Resolver.Tests.Fakes.TestWorld;

namespace Ananas.Resolver.Tests;

public sealed class RobustnessTests
{
    [Fact]
    public async Task A_refusing_server_is_marked_lame_and_skipped_for_the_zone_afterwards()
    {
        var world = new TestWorld();
        world.Authority.Server(Ns1).Respond = request => request.Query.CreateResponse(Rcode.Refused);
        var recursor = world.Recursor(world.Options());

        var first = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(first.Message.Answers));
        Assert.Equal(1, world.Authority.CountTo(Ns1));

        world.Authority.Queries.Clear();
        var second = await world.Resolve(recursor, "alias.example.com.");
        Assert.Equal(Rcode.NoError, second.Message.Rcode);
        Assert.Equal(0, world.Authority.CountTo(Ns1));
        Assert.Equal(1, world.Authority.CountTo(Ns2));
    }

    [Fact]
    public async Task A_sideways_referral_is_lame_and_the_next_server_is_tried()
    {
        var world = new TestWorld();
        // ns1 refers example.com to itself instead of answering (deckard iter_lame_noaa).
        world.Authority.Server(Ns1).Respond = request =>
        {
            var referral = request.Query.CreateResponse();
            referral.Authority.Add(RecordText.Parse("example.com. NS ns1.example.com.", DnsName.Root));
            return referral;
        };
        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.");
        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));
        Assert.Equal([$"{Root} www.example.com A", $"{Gtld} www.example.com A", $"{Ns1} www.example.com A", $"{Ns2} www.example.com A"], world.Authority.Log);
    }

    [Fact]
    public async Task Out_of_bailiwick_records_are_ignored_and_never_answered_from_cache()
    {
        var world = new TestWorld();
        var ns1 = world.Authority.Server(Ns1);
        ns1.Respond = request =>
        {
            var answer = FakeAuthority.Answer(ns1, request.Query);
            // Poisoning attempt: data for a name example.com's servers have no authority over.
            answer.Answers.Add(RecordText.Parse("www.bank.net. 86400 A 6.6.6.6", DnsName.Root));
            answer.Authority.Add(RecordText.Parse("bank.net. 86400 NS ns.evil.test.", DnsName.Root));
            answer.Additional.Add(RecordText.Parse("ns.evil.test. 86400 A 6.6.6.6", DnsName.Root));
            answer.Additional.Add(RecordText.Parse("a.gtld-servers.net. 86400 A 6.6.6.6", DnsName.Root));
            return answer;
        };
        world.Net.Records.Add(RecordText.Parse("bank.net. NS ns.example.net.", DnsName.Root));
        world.Authority.Serve(NetNs, new FakeZone("bank.net.", "@ SOA ns.example.net. x. 1 2 3 4 300", "@ NS ns.example.net.", "www A 192.0.2.200"));
        var recursor = world.Recursor(world.Options());

        var response = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));

        world.Authority.Queries.Clear();
        var bank = await world.Resolve(recursor, "www.bank.net.");
        Assert.Equal(["www.bank.net A 192.0.2.200"], Answers.Lines(bank.Message.Answers));
        Assert.NotEmpty(world.Authority.Queries);
        Assert.DoesNotContain(world.Authority.Queries, q => q.Server.Address.ToString() == "6.6.6.6");
    }

    [Fact]
    public async Task A_response_to_another_question_is_rejected()
    {
        var world = new TestWorld();
        var ns1 = world.Authority.Server(Ns1);
        ns1.Respond = request =>
        {
            var forged = DnsMessage.CreateQuery(request.Query.Id, DnsName.Parse("evil.example.com."), RRType.A).CreateResponse();
            forged.Set(HeaderFlags.AA);
            forged.Answers.Add(RecordText.Parse("evil.example.com. A 6.6.6.6", DnsName.Root));
            forged.Answers.Add(RecordText.Parse("www.example.com. A 6.6.6.6", DnsName.Root));
            return forged;
        };
        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.");
        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers)); // from ns2
        Assert.Equal(1, world.Authority.CountTo(Ns2));
    }

    [Fact]
    public async Task An_answer_without_question_fails_when_no_other_server_exists()
    {
        var world = new TestWorld();
        foreach (var ip in new[] { Ns1, Ns2 })
        {
            var server = world.Authority.Server(ip);
            server.Respond = request =>
            {
                var answer = FakeAuthority.Answer(server, request.Query);
                answer.Questions.Clear(); // deckard iter_req_qname
                return answer;
            };
        }
        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.");
        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.Empty(response.Message.Answers);
    }

    [Fact]
    public async Task A_timeout_moves_on_to_another_server()
    {
        var world = new TestWorld();
        world.Authority.Server(Ns1).Silent = true;
        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.");
        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));
        Assert.Equal([$"{Root} www.example.com A", $"{Gtld} www.example.com A", $"{Ns1} www.example.com A", $"{Ns2} www.example.com A"], world.Authority.Log);
    }

    [Fact]
    public async Task All_servers_failing_with_network_errors_is_SERVFAIL_with_EDE_23_and_a_silent_one_among_them_makes_it_22()
    {
        var world = new TestWorld();
        world.Authority.Server(Ns1).Unreachable = _ => true;
        world.Authority.Server(Ns2).Unreachable = _ => true;
        var recursor = world.Recursor(world.Options());
        var response = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.Equal(EdeCode.NetworkError, Answers.Ede(response.Message)?.InfoCode);
        Assert.Contains("example.com", Answers.Ede(response.Message)!.ExtraText);

        // One server silent: it may yet be reachable, so the authority is "not reachable" (22), not a network error.
        world.Authority.Server(Ns2).Unreachable = null;
        world.Authority.Server(Ns2).Silent = true;
        var mixed = await world.Resolve(world.Recursor(world.Options()), "other.example.com.");
        Assert.Equal(EdeCode.NoReachableAuthority, Answers.Ede(mixed.Message)?.InfoCode);
    }

    [Fact]
    public async Task All_servers_timing_out_is_SERVFAIL_with_EDE_22()
    {
        var world = new TestWorld();
        world.Authority.Server(Ns1).Silent = true;
        world.Authority.Server(Ns2).Silent = true;
        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.");
        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        var ede = Answers.Ede(response.Message);
        Assert.NotNull(ede);
        Assert.Equal(EdeCode.NoReachableAuthority, ede.InfoCode);
        Assert.Contains("example.com", ede.ExtraText);
    }

    [Fact]
    public async Task SERVFAIL_without_EDNS_in_the_query_carries_no_OPT()
    {
        var world = new TestWorld();
        world.Authority.Server(Root).Silent = true;
        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.");
        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        var noEdns = await world.Recursor(world.Options()).ResolveAsync(new Request(Query("www.example.com.", RRType.A, edns: false)), world.Authority);
        Assert.Null(noEdns.Message.Edns);
        Assert.Equal(Rcode.ServFail, noEdns.Message.Rcode);
    }

    [Fact]
    public async Task Loopback_addresses_from_referrals_are_never_queried_by_default()
    {
        var world = new TestWorld();
        world.Com.Records.RemoveAll(r => r.Type == RRType.A);
        world.Com.Records.Add(RecordText.Parse("ns1.example.com. A 127.0.0.2", DnsName.Root));
        world.Com.Records.Add(RecordText.Parse("ns2.example.com. A 127.255.255.255", DnsName.Root));
        world.Authority.Serve("127.0.0.2", world.ExampleCom);

        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.");
        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.DoesNotContain(world.Authority.Queries, q => IPAddress.IsLoopback(q.Server.Address));

        var lab = new TestWorld();
        lab.Com.Records.RemoveAll(r => r.Type == RRType.A);
        lab.Com.Records.Add(RecordText.Parse("ns1.example.com. A 127.0.0.2", DnsName.Root));
        lab.Authority.Serve("127.0.0.2", lab.ExampleCom);
        var allowed = await lab.Resolve(lab.Recursor(lab.Options() with { DoNotQueryLocalhost = false }), "www.example.com.");
        Assert.Equal(Rcode.NoError, allowed.Message.Rcode);
        Assert.Equal(1, lab.Authority.CountTo("127.0.0.2"));
    }

    [Fact]
    public async Task Out_of_bailiwick_glue_is_ignored_with_harden_glue_and_accepted_without()
    {
        // com's servers hand out glue for a name under net, outside their bailiwick.
        static TestWorld Build()
        {
            var world = new TestWorld();
            world.Com.Records.Add(RecordText.Parse("example2.com. NS ns.example.net.", DnsName.Root));
            world.Com.Records.Add(RecordText.Parse("ns.example.net. A 192.0.2.66", DnsName.Root));
            var zone = new FakeZone("example2.com.", "@ SOA ns.example.net. x. 1 2 3 4 300", "@ NS ns.example.net.", "www A 192.0.2.77");
            world.Authority.Serve(NetNs, zone);
            world.Authority.Serve("192.0.2.66", zone);
            return world;
        }

        var hardened = Build();
        var response = await hardened.Resolve(hardened.Recursor(hardened.Options()), "www.example2.com.");
        Assert.Equal(["www.example2.com A 192.0.2.77"], Answers.Lines(response.Message.Answers));
        Assert.Equal(0, hardened.Authority.CountTo("192.0.2.66"));

        var permissive = Build();
        await permissive.Resolve(permissive.Recursor(permissive.Options() with { HardenGlue = false }), "www.example2.com.");
        Assert.Equal(1, permissive.Authority.CountTo("192.0.2.66"));
    }

    [Fact]
    public async Task Trace_hook_sees_every_upstream_exchange()
    {
        var world = new TestWorld();
        var seen = new List<UpstreamExchange>();
        var perRequest = new List<UpstreamExchange>();
        var recursor = world.Recursor(world.Options() with { Trace = seen.Add });
        await recursor.ResolveAsync(new Request(Query("www.example.com.", RRType.A)) { Trace = perRequest.Add }, world.Authority);
        Assert.Equal(3, seen.Count);
        Assert.Equal(seen, perRequest);
        Assert.Equal(DnsName.Parse("example.com."), seen[2].ZoneCut);
        Assert.Equal(Rcode.NoError, seen[2].Rcode);
        Assert.Equal(ExchangeStatus.Response, seen[0].Status);
    }
}

public sealed class UnusualAnswerTests
{
    [Fact]
    public async Task Records_of_another_type_in_a_non_authoritative_answer_are_ignored_and_the_answer_is_NODATA()
    {
        var world = new TestWorld();
        var ns1 = world.Authority.Server(Ns1);
        ns1.Respond = request =>
        {
            var response = request.Query.CreateResponse();
            response.Answers.Add(RecordText.Parse("www.example.com. 0 A 2.2.2.2", DnsName.Root));
            return response;
        };
        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.", RRType.AAAA);
        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Empty(response.Message.Answers);
        Assert.Empty(response.Message.Authority);
    }

    [Fact]
    public async Task An_NS_answer_to_a_minimisation_probe_keeps_iterating_at_the_current_cut()
    {
        var world = new TestWorld();
        // The root answers "com NS" in its answer section (non-authoritatively) and answers the full name itself.
        var root = world.Authority.Server(Root);
        root.Respond = request =>
        {
            var q = request.Query.Question;
            var response = request.Query.CreateResponse();
            if (q.Type == RRType.NS && q.Name.Equals(DnsName.Parse("com.")))
            {
                response.Answers.Add(RecordText.Parse("com. NS a.gtld-servers.net.", DnsName.Root));
                response.Additional.Add(RecordText.Parse("a.gtld-servers.net. A 192.5.6.30", DnsName.Root));
                return response;
            }
            return FakeAuthority.Answer(root, request.Query);
        };
        world.RootZone.Records.RemoveAll(r => r.Type == RRType.NS && r.Name.Equals(DnsName.Parse("com.")));
        world.RootZone.Records.Add(RecordText.Parse("a.gtld-servers.com. A 192.0.2.9", DnsName.Root));
        var response = await world.Resolve(world.Recursor(world.Options(qmin: true)), "a.gtld-servers.com.");
        Assert.Equal(["a.gtld-servers.com A 192.0.2.9"], Answers.Lines(response.Message.Answers));
        Assert.Equal([$"{Root} com NS", $"{Root} gtld-servers.com NS", $"{Root} a.gtld-servers.com A"], world.Authority.Log);
    }
}

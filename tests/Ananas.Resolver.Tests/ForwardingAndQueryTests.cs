using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Tests.Fakes;
using static Ananas.Resolver.Tests.Fakes.TestWorld;

namespace Ananas.Resolver.Tests;

public sealed class ForwardingAndQueryTests
{
    private const string Forwarder = "192.0.2.1";

    private static (TestWorld World, Recursor Recursor) ForwardEverything()
    {
        var world = new TestWorld();
        // A recursive upstream: answers from the whole test tree, with RA and without AA.
        var forwarder = world.Authority.Server(Forwarder);
        forwarder.Respond = request =>
        {
            var q = request.Query.Question;
            var response = request.Query.CreateResponse();
            response.Set(HeaderFlags.RA);
            if (q.Name.Equals(DnsName.Parse("www.example.com.")))
                response.Answers.Add(RecordText.Parse("www.example.com. 300 A 192.0.2.80", DnsName.Root));
            else if (q.Name.Equals(DnsName.Parse("alias.example.com.")))
            {
                response.Answers.Add(RecordText.Parse("alias.example.com. 300 CNAME www.example.com.", DnsName.Root));
                response.Answers.Add(RecordText.Parse("www.example.com. 300 A 192.0.2.80", DnsName.Root));
            }
            else
            {
                response.Rcode = Rcode.NXDomain;
                response.Authority.Add(RecordText.Parse(". 900 SOA a.root-servers.net. x. 1 2 3 4 60", DnsName.Root));
            }
            return response;
        };
        var options = world.Options() with
        {
            ForwardZones = [new ForwardZone(DnsName.Root, [new IPEndPoint(IPAddress.Parse(Forwarder), 53)])],
        };
        return (world, world.Recursor(options));
    }

    [Fact]
    public async Task Forwarding_sends_RD_queries_to_the_forwarder_and_accepts_non_authoritative_answers()
    {
        var (world, recursor) = ForwardEverything();
        var response = await world.Resolve(recursor, "alias.example.com.");
        Assert.Equal([$"{Forwarder} alias.example.com A"], world.Authority.Log);
        Assert.True(world.Authority.Queries[0].Query.Has(HeaderFlags.RD));
        Assert.Equal(["alias.example.com CNAME www.example.com.", "www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));

        var nx = await world.Resolve(recursor, "nope.example.org.");
        Assert.Equal(Rcode.NXDomain, nx.Message.Rcode);
        Assert.Equal(60u, Assert.Single(nx.Message.Authority).Ttl);
        Assert.DoesNotContain(world.Authority.Queries, q => q.Server.Address.ToString() == Root);
    }

    [Fact]
    public async Task Unsupported_opcode_is_NOTIMP()
    {
        var world = new TestWorld();
        var query = Query("example.com.", RRType.SOA);
        query.Opcode = Opcode.Notify;
        var response = await world.Recursor(world.Options()).ResolveAsync(new Request(query), world.Authority);
        Assert.Equal(Rcode.NotImp, response.Message.Rcode);
        Assert.Empty(world.Authority.Queries);
    }

    [Fact]
    public async Task No_question_or_several_questions_is_FORMERR()
    {
        var world = new TestWorld();
        var recursor = world.Recursor(world.Options());
        var none = Query("example.com.", RRType.A);
        none.Questions.Clear();
        Assert.Equal(Rcode.FormErr, (await recursor.ResolveAsync(new Request(none), world.Authority)).Message.Rcode);
        var two = Query("example.com.", RRType.A);
        two.Questions.Add(new Question(DnsName.Parse("example.net."), RRType.A));
        Assert.Equal(Rcode.FormErr, (await recursor.ResolveAsync(new Request(two), world.Authority)).Message.Rcode);
        Assert.Empty(world.Authority.Queries);
    }

    [Fact]
    public async Task Class_other_than_IN_is_REFUSED_with_an_EDE()
    {
        var world = new TestWorld();
        var query = DnsMessage.CreateQuery(1, DnsName.Parse("version.bind."), RRType.TXT, RRClass.CH);
        var response = await world.Recursor(world.Options()).ResolveAsync(new Request(query), world.Authority);
        Assert.Equal(Rcode.Refused, response.Message.Rcode);
        Assert.Equal(EdeCode.NotSupported, Answers.Ede(response.Message)!.InfoCode);
    }

    [Fact]
    public async Task Zone_transfer_questions_are_NOTIMP()
    {
        var world = new TestWorld();
        var response = await world.Resolve(world.Recursor(world.Options()), "example.com.", RRType.AXFR);
        Assert.Equal(Rcode.NotImp, response.Message.Rcode);
        Assert.Empty(world.Authority.Queries);
    }

    [Fact]
    public async Task ANY_is_passed_to_the_authority_and_its_answer_returned()
    {
        var world = new TestWorld();
        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.", RRType.ANY);
        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));
        Assert.Equal(RRType.ANY, world.Authority.Queries[^1].Query.Question.Type);
    }

    [Fact]
    public async Task CD_and_RD_are_copied_and_AA_is_never_set()
    {
        var world = new TestWorld();
        var query = Query("www.example.com.", RRType.A);
        query.Set(HeaderFlags.CD);
        var response = await world.Recursor(world.Options()).ResolveAsync(new Request(query), world.Authority);
        Assert.True(response.Message.Has(HeaderFlags.CD));
        Assert.True(response.Message.Has(HeaderFlags.RD));
        Assert.False(response.Message.Has(HeaderFlags.AA));
        Assert.Equal(query.Id, response.Message.Id);
    }

    [Fact]
    public async Task Server_order_comes_from_the_injected_randomness()
    {
        // The same seed gives the same choice; the default selector spreads queries over a zone's servers.
        var chosen = new HashSet<string>();
        for (int seed = 0; seed < 8; seed++)
        {
            var world = new TestWorld();
            var recursor = new Recursor(world.Options(), world.Clock, new SeededRandom(seed), world.Cache);
            await world.Resolve(recursor, "www.example.com.");
            chosen.Add(world.Authority.Queries[^1].Server.Address.ToString());
        }
        Assert.Equal([Ns1, Ns2], chosen.Order());
    }
}

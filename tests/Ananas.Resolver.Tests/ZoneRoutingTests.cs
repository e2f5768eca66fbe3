using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Tests.Fakes;
using static Ananas.Resolver.Tests.Fakes.TestWorld;

namespace Ananas.Resolver.Tests;

/// <summary>Forward and stub zones together: the most specific configured zone wins (Unbound iter_fwdstub).</summary>
public sealed class ZoneRoutingTests
{
    private const string Forwarder = "192.0.2.1";

    private static (TestWorld World, Recursor Recursor) ForwardRootStubExample()
    {
        var world = new TestWorld();
        var forwarder = world.Authority.Server(Forwarder);
        forwarder.Respond = request =>
        {
            var response = request.Query.CreateResponse();
            response.Set(HeaderFlags.RA);
            response.Answers.Add(RecordText.Parse($"{request.Query.Question.Name} 300 A 198.51.100.1", DnsName.Root));
            return response;
        };
        var options = world.Options() with
        {
            ForwardZones = [new ForwardZone(DnsName.Root, [new IPEndPoint(IPAddress.Parse(Forwarder), 53)])],
            StubZones = [new StubZone(DnsName.Parse("example.com."), [new IPEndPoint(IPAddress.Parse(Ns2), 53)])],
        };
        return (world, world.Recursor(options));
    }

    [Fact]
    public async Task A_stub_zone_below_a_forward_zone_wins_for_names_under_it()
    {
        var (world, recursor) = ForwardRootStubExample();

        var response = await world.Resolve(recursor, "www.example.com.");

        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));
        Assert.Equal(0, world.Authority.CountTo(Forwarder));
        Assert.Equal(1, world.Authority.CountTo(Ns2));
    }

    [Fact]
    public async Task Names_outside_the_stub_zone_still_go_to_the_forwarder()
    {
        var (world, recursor) = ForwardRootStubExample();

        var response = await world.Resolve(recursor, "www.example.net.");

        Assert.Equal(["www.example.net A 198.51.100.1"], Answers.Lines(response.Message.Answers));
        Assert.Equal(1, world.Authority.CountTo(Forwarder));
    }

    [Fact]
    public async Task The_DS_of_a_forward_zone_apex_is_asked_of_the_parent_not_of_the_forwarder()
    {
        // Unbound val_fwdds: the DS sits on the parent side of the cut (RFC 4035 §3.1.4.1), which the forwarder for
        // the child zone need not serve; names inside the zone, DS below the apex included, still go to it.
        var world = new TestWorld();
        world.Com.Records.Add(RecordText.Parse("example.com. 86400 DS 2854 13 2 " + new string('a', 64), world.Com.Origin));
        var forwarder = world.Authority.Server(Forwarder);
        forwarder.Respond = request =>
        {
            var response = request.Query.CreateResponse();
            response.Set(HeaderFlags.RA);
            response.Answers.Add(RecordText.Parse($"{request.Query.Question.Name} 300 A 198.51.100.1", DnsName.Root));
            return response;
        };
        var recursor = world.Recursor(world.Options() with
        {
            ForwardZones = [new ForwardZone(DnsName.Parse("example.com."), [new IPEndPoint(IPAddress.Parse(Forwarder), 53)])],
        });

        var ds = await world.Resolve(recursor, "example.com.", RRType.DS);

        Assert.Equal(Rcode.NoError, ds.Message.Rcode);
        Assert.Equal(2854, Assert.IsType<DsData>(Assert.Single(ds.Message.Answers).Data).KeyTag);
        Assert.Equal(0, world.Authority.CountTo(Forwarder));
        Assert.Equal(1, world.Authority.CountTo(Gtld));

        var inside = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal(["www.example.com A 198.51.100.1"], Answers.Lines(inside.Message.Answers));
        Assert.Equal(1, world.Authority.CountTo(Forwarder));
        await world.Resolve(recursor, "sub.example.com.", RRType.DS);
        Assert.Equal(2, world.Authority.CountTo(Forwarder));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_stub_zone_whose_servers_fail_is_iterated_from_the_root_only_when_it_is_first(bool first)
    {
        const string Dead = "192.0.2.200"; // no server answers there
        var world = new TestWorld();
        var options = world.Options() with
        {
            StubZones = [new StubZone(DnsName.Parse("example.com."), [new IPEndPoint(IPAddress.Parse(Dead), 53)]) { First = first }],
        };

        var response = await world.Resolve(world.Recursor(options), "www.example.com.");

        Assert.True(world.Authority.CountTo(Dead) > 0);
        if (first)
        {
            Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(response.Message.Answers));
            Assert.True(world.Authority.CountTo(Root) > 0);
        }
        else
        {
            Assert.Equal(Rcode.ServFail, response.Message.Rcode);
            Assert.Equal(0, world.Authority.CountTo(Root));
        }
    }
}

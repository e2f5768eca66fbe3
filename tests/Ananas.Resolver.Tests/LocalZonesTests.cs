using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests;

/// <summary>RFC 6761 / RFC 6303 / RFC 7686 special-use names answered by the recursor itself, with no upstream query.</summary>
public sealed class LocalZonesTests
{
    private static async Task<(DnsMessage Message, int Upstream)> Ask(string name, RRType type, params string[] zones)
    {
        var world = new TestWorld();
        var options = world.Options() with { LocalZones = LocalZones.Create(zones.Length == 0 ? LocalZones.Supported : zones) };
        var response = await world.Resolve(world.Recursor(options), name, type);
        return (response.Message, world.Authority.Queries.Count);
    }

    [Theory]
    [InlineData("localhost.", RRType.A, "localhost A 127.0.0.1")]
    [InlineData("LocalHost.", RRType.AAAA, "localhost AAAA ::1")]
    [InlineData("www.app.localhost.", RRType.A, "www.app.localhost A 127.0.0.1")] // RFC 6761 §6.3: names under it too
    [InlineData("1.0.0.127.in-addr.arpa.", RRType.PTR, "1.0.0.127.in-addr.arpa PTR localhost.")]
    [InlineData("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.", RRType.PTR, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa PTR localhost.")]
    public async Task Loopback_names_are_answered_locally(string name, RRType type, string expected)
    {
        var (message, upstream) = await Ask(name, type);
        Assert.Equal(Rcode.NoError, message.Rcode);
        Assert.Equal([expected], Answers.Lines(message.Answers));
        Assert.True(message.Has(HeaderFlags.AA));
        Assert.False(message.Has(HeaderFlags.AD));
        Assert.Equal(0, upstream);
    }

    [Theory]
    [InlineData("example.invalid.", RRType.A, Rcode.NXDomain)]
    [InlineData("printer.test.", RRType.AAAA, Rcode.NXDomain)]
    [InlineData("duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion.", RRType.A, Rcode.NXDomain)]
    [InlineData("2.0.0.127.in-addr.arpa.", RRType.PTR, Rcode.NXDomain)]
    [InlineData("0.0.127.in-addr.arpa.", RRType.PTR, Rcode.NoError)] // an empty non-terminal above 1.0.0.127: NODATA
    [InlineData("localhost.", RRType.MX, Rcode.NoError)] // the name exists, the type does not: NODATA
    [InlineData("invalid.", RRType.A, Rcode.NoError)]
    public async Task Negative_answers_carry_the_zones_soa(string name, RRType type, Rcode rcode)
    {
        var (message, upstream) = await Ask(name, type);
        Assert.Equal(rcode, message.Rcode);
        Assert.Empty(message.Answers);
        var soa = Assert.Single(message.Authority);
        Assert.Equal(RRType.SOA, soa.Type);
        Assert.True(DnsName.Parse(name).IsSubdomainOf(soa.Name));
        Assert.Equal(0, upstream);
    }

    [Fact]
    public async Task A_zone_left_out_of_the_list_is_resolved_upstream()
    {
        var (message, upstream) = await Ask("www.example.com.", RRType.A, "localhost.");
        Assert.Equal(Rcode.NoError, message.Rcode);
        Assert.NotEqual(0, upstream);

        (message, upstream) = await Ask("printer.test.", RRType.A, "localhost.", "invalid.");
        Assert.NotEqual(0, upstream); // test. is not served locally here: the root is asked
        Assert.False(message.Has(HeaderFlags.AA));
    }

    [Fact]
    public async Task Apex_soa_and_ns_are_served()
    {
        var (message, _) = await Ask("onion.", RRType.SOA);
        Assert.Equal(RRType.SOA, Assert.Single(message.Answers).Type);
        (message, _) = await Ask("localhost.", RRType.NS);
        Assert.Equal(["localhost NS localhost."], Answers.Lines(message.Answers));
    }

    [Theory]
    [InlineData("localhost", true)]
    [InlineData("TEST.", true)]
    [InlineData("example.", false)]
    [InlineData("10.in-addr.arpa.", false)]
    [InlineData("not a name..", false)]
    public void Only_the_known_special_use_zones_are_supported(string name, bool supported)
    {
        Assert.Equal(supported, LocalZones.IsSupported(name));
        if (!supported) Assert.Throws<ArgumentException>(() => LocalZones.Create([name]));
    }
}

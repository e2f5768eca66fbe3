using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Configuration;
using Ananas.Server.Frames;
using Ananas.Server.Hosting;
using Ananas.Server.Pipeline;
using Ananas.Server.Tests.Fakes;

namespace Ananas.Server.Tests;

/// <summary>
/// <c>access.snoop</c>: the clients whose queries without RD that the cache cannot answer get a referral from the
/// cache (RFC 1034 §4.3.2 step 3b) instead of REFUSED with EDE 20; through real sockets and the pipeline.
/// </summary>
public sealed class CacheSnoopingTests
{
    private static FakeAuthority World() => new(
        ". 3600 NS a.root-servers.net.",
        "a.root-servers.net. 3600 A 198.41.0.4",
        "www.example.com. 300 A 192.0.2.80",
        "mail.example.com. 300 A 192.0.2.25");

    private static DnsMessage WithoutRecursion(string name)
    {
        var query = DnsTestClient.Query(name, udpPayload: 1232);
        query.Set(HeaderFlags.RD, false);
        return query;
    }

    private static EdeCode? Ede(DnsMessage m) => m.Edns?.Options.OfType<ExtendedErrorOption>().Select(o => (EdeCode?)o.InfoCode).FirstOrDefault();

    [Fact]
    public async Task A_referral_to_a_snooping_client_is_not_kept_as_the_answer_to_the_question()
    {
        var options = new PipelineOptions { Snoop = AccessList.Parse(["127.0.0.0/8"]), Scheduler = null };
        await using var server = new TestServer(World(), options);
        var endpoint = server.Udp.LocalEndPoint;
        Assert.Equal(Rcode.NoError, (await DnsTestClient.UdpAsync(endpoint, DnsTestClient.Query(".", RRType.NS, udpPayload: 1232))).Rcode);

        var referral = await DnsTestClient.UdpAsync(endpoint, WithoutRecursion("mail.example.com"));
        Assert.Equal(Rcode.NoError, referral.Rcode);
        Assert.Empty(referral.Answers);
        Assert.Equal(RRType.NS, Assert.Single(referral.Authority).Type);
        Assert.Equal(1, server.Pipeline.Counters.CacheReferralCount);

        // The same question with RD is resolved and answered, not served the referral from the answer cache.
        var answer = await DnsTestClient.UdpAsync(endpoint, DnsTestClient.Query("mail.example.com", udpPayload: 1232));
        Assert.Equal("192.0.2.25", Assert.Single(answer.Answers).Data.ToString());
    }

    [Fact]
    public async Task A_client_outside_access_snoop_is_refused_with_EDE_20_and_one_inside_gets_the_referral()
    {
        var outside = new PipelineOptions { Snoop = AccessList.Parse(["192.0.2.0/24"]), Scheduler = null };
        await using var server = new TestServer(World(), outside);
        var endpoint = server.Udp.LocalEndPoint;
        await DnsTestClient.UdpAsync(endpoint, DnsTestClient.Query(".", RRType.NS, udpPayload: 1232));

        var refused = await DnsTestClient.UdpAsync(endpoint, WithoutRecursion("mail.example.com"));
        Assert.Equal(Rcode.Refused, refused.Rcode);
        Assert.Equal(EdeCode.NotAuthoritative, Ede(refused));

        // A reload that lists the client's network takes effect for the next query.
        server.Pipeline.Reconfigure(outside with { Snoop = AccessList.Parse(["127.0.0.1"]) });
        var referral = await DnsTestClient.UdpAsync(endpoint, WithoutRecursion("mail.example.com"));
        Assert.Equal(Rcode.NoError, referral.Rcode);
        Assert.Equal(RRType.NS, Assert.Single(referral.Authority).Type);
    }

    [Fact]
    public void Access_snoop_is_read_from_the_config_empty_by_default_and_reloaded_live()
    {
        Assert.Empty(ConfigLoader.Defaults().Snoop);
        Assert.False(ResolverStackBuilder.PipelineOptions(ConfigLoader.Defaults()).Snoop.Allows(ClientAddress.From(new IPEndPoint(IPAddress.Loopback, 5353))));

        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), "[access]\nsnoop = [\"192.0.2.0/24\", \"2001:db8::1\"]", "c.toml");
        var snoop = ResolverStackBuilder.PipelineOptions(config).Snoop;
        Assert.True(snoop.Allows(ClientAddress.From(new IPEndPoint(IPAddress.Parse("192.0.2.7"), 5353))));
        Assert.True(snoop.Allows(ClientAddress.From(new IPEndPoint(IPAddress.Parse("2001:db8::1"), 5353))));
        Assert.False(snoop.Allows(ClientAddress.From(new IPEndPoint(IPAddress.Parse("198.51.100.7"), 5353))));
        Assert.Equal(ReloadEffect.Live, ConfigKeys.Find("access.snoop")!.Reload);

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Apply(ConfigLoader.Defaults(), "[access]\nsnoop = [\"everyone\"]", "c.toml"));
        Assert.StartsWith("c.toml:2: access.snoop[0]: 'everyone' is not a network", e.Message);
    }
}

using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Iteration;
using Ananas.Resolver.Tests.Fakes;
using static Ananas.Resolver.Tests.Fakes.TestWorld;

namespace Ananas.Resolver.Tests;

/// <summary>DNS-rebinding protection: Unbound <c>private-address</c> and <c>private-domain</c> (iter_privaddr, iter_priv_svcb).</summary>
public sealed class PrivateAddressTests
{
    private static ResourceRecord Rr(string text) => RecordText.Parse(text, DnsName.Root);

    private static RecursorOptions Private(RecursorOptions options) => options with
    {
        PrivateAddresses = [IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("fe80::/10")],
        PrivateDomains = [DnsName.Parse("intranet.example.com.")],
    };

    private static void Answering(TestWorld world, params string[] answers)
    {
        foreach (var address in new[] { Ns1, Ns2 })
        {
            var server = world.Authority.Server(address);
            server.Respond = request =>
            {
                var response = request.Query.CreateResponse();
                response.Set(HeaderFlags.AA);
                foreach (var a in answers) response.Answers.Add(Rr(a));
                return response;
            };
        }
    }

    [Fact]
    public async Task Only_the_private_records_of_an_RRset_are_removed()
    {
        var world = new TestWorld();
        Answering(world, "www.example.com. 300 A 10.20.30.40", "www.example.com. 300 A 192.0.2.1", "www.example.com. 300 A 10.20.30.41");

        var response = await world.Resolve(world.Recursor(Private(world.Options())), "www.example.com.");

        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Equal(["www.example.com A 192.0.2.1"], Answers.Lines(response.Message.Answers));
    }

    [Fact]
    public async Task An_answer_of_only_private_addresses_becomes_empty()
    {
        var world = new TestWorld();
        Answering(world, "www.example.com. 300 A 10.20.30.40");

        var response = await world.Resolve(world.Recursor(Private(world.Options())), "www.example.com.");

        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Empty(response.Message.Answers);
    }

    [Fact]
    public async Task Without_private_addresses_configured_nothing_is_removed()
    {
        var world = new TestWorld();
        Answering(world, "www.example.com. 300 A 10.20.30.40");

        var response = await world.Resolve(world.Recursor(world.Options()), "www.example.com.");

        Assert.Equal(["www.example.com A 10.20.30.40"], Answers.Lines(response.Message.Answers));
    }

    [Fact]
    public void Private_domains_svcb_hints_and_aaaa_are_handled()
    {
        var message = DnsMessage.CreateQuery(1, DnsName.Parse("s.example.com."), RRType.SVCB);
        message.Answers.Add(Rr("a.intranet.example.com. 300 A 10.1.1.1"));
        message.Answers.Add(Rr("v6.example.com. 300 AAAA fe80::15"));
        message.Answers.Add(Rr("v6.example.com. 300 AAAA 2001:db8::1"));
        message.Answers.Add(Rr("s.example.com. 300 SVCB 1 foo.example.com. ipv4hint=192.0.2.1,10.2.3.4"));
        message.Answers.Add(Rr("s.example.com. 300 SVCB 1 foo.example.com. ipv4hint=192.0.2.2"));
        message.Additional.Add(Rr("ns.example.com. 300 A 10.0.0.53"));
        var options = Private(new RecursorOptions());

        int removed = PrivateAddressFilter.Scrub(message, options.PrivateAddresses, options.PrivateDomains);

        Assert.Equal(3, removed);
        Assert.Equal(
            ["a.intranet.example.com A 10.1.1.1", "v6.example.com AAAA 2001:db8::1", "s.example.com SVCB 1 foo.example.com. ipv4hint=192.0.2.2"],
            Answers.Lines(message.Answers));
        Assert.Empty(message.Additional);
    }
}

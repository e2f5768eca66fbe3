using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Iteration;
using Ananas.Resolver.Tests.Fakes;
using static Ananas.Resolver.Tests.Fakes.TestWorld;

namespace Ananas.Resolver.Tests;

/// <summary>Unbound <c>iter-scrub-ns</c>: NS RRsets in upstream responses are cut to the first N records (iter_scrub_ns_min).</summary>
public sealed class NsRecordLimitTests
{
    private static ResourceRecord Rr(string text) => RecordText.Parse(text, DnsName.Root);

    [Fact]
    public void Each_NS_RRset_keeps_its_first_records()
    {
        var message = DnsMessage.CreateQuery(1, DnsName.Parse("www.example.com."), RRType.A);
        foreach (var i in new[] { 1, 2, 3 }) message.Authority.Add(Rr($"example.com. 300 NS ns{i}.example.com."));
        foreach (var i in new[] { 1, 2 }) message.Authority.Add(Rr($"example.net. 300 NS ns{i}.example.net."));
        message.Additional.Add(Rr("ns3.example.com. 300 A 192.0.2.3"));

        Assert.Equal(3, NsRecordLimit.Apply(message, 1));
        Assert.Equal(["example.com NS ns1.example.com.", "example.net NS ns1.example.net."], Answers.Lines(message.Authority));
        Assert.Single(message.Additional);
        Assert.Equal(0, NsRecordLimit.Apply(message, 0));
    }

    [Fact]
    public async Task An_NS_answer_is_trimmed_to_the_limit()
    {
        var world = new TestWorld();
        var response = await world.Resolve(world.Recursor(world.Options() with { MaxNsRecords = 1 }), "example.com.", RRType.NS);

        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Single(response.Message.Answers);
    }
}

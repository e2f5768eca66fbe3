using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Server.Frames;
using Ananas.Server.Help;
using Ananas.Server.Tests.Fakes;

namespace Ananas.Server.Tests;

/// <summary>/help's test names: answered by the server with how they arrived, remembered within bounds.</summary>
public sealed class HelpProbeTests
{
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly ClientAddress Client = ClientAddress.From(new IPEndPoint(IPAddress.Parse("192.0.2.7"), 4000));

    private static DnsMessage Probe(string nonce, string kind, RRType type = RRType.TXT) => DnsTestClient.Query($"{nonce}.{kind}.ananas-help.internal", type);

    [Fact]
    public async Task A_probe_over_udp_is_answered_by_the_server_with_its_transport_and_never_sent_upstream()
    {
        await using var server = new TestServer(new FakeAuthority("www.example.com. 300 A 192.0.2.80"));
        server.Pipeline.Help = new HelpProbes();

        var reply = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, Probe("n0nce1", "os"));
        var tcpReply = await DnsTestClient.TcpAsync(server.Tcp.LocalEndPoint, Probe("n0nce1", "os"));

        Assert.Equal(Rcode.NoError, reply.Rcode);
        Assert.Equal("transport=udpclient=127.0.0.1", ((TxtData)Assert.Single(reply.Answers).Data).Text);
        Assert.Equal("transport=tcpclient=127.0.0.1", ((TxtData)Assert.Single(tcpReply.Answers).Data).Text);
        Assert.Equal(0, server.Authority.Queries);
        Assert.Equal(["udp", "tcp"], server.Pipeline.Help.Seen("n0nce1").Select(p => p.Transport));
    }

    [Fact]
    public void The_probe_table_keeps_at_most_its_capacity_and_forgets_after_its_lifetime()
    {
        var time = new ManualTime();
        var probes = new HelpProbes(time);
        for (int i = 0; i < HelpProbes.Capacity + 500; i++) probes.Answer(Probe($"n{i}", "os"), Transport.Udp, Client);

        Assert.Equal(HelpProbes.Capacity, probes.Count);
        Assert.Empty(probes.Seen("n0"));
        Assert.Single(probes.Seen($"n{HelpProbes.Capacity + 499}"));

        time.Now += HelpProbes.Lifetime + TimeSpan.FromSeconds(1);
        Assert.Empty(probes.Seen($"n{HelpProbes.Capacity + 499}"));
        Assert.Equal(0, probes.Count);
    }

    [Fact]
    public void Only_nonce_dot_kind_under_the_help_zone_is_a_probe()
    {
        Assert.True(HelpProbes.IsProbe(DnsName.Parse("abc.os.ananas-help.internal.")));
        Assert.False(HelpProbes.IsProbe(DnsName.Parse("os.ananas-help.internal.")));
        Assert.False(HelpProbes.IsProbe(DnsName.Parse("x.abc.os.ananas-help.internal.")));
        Assert.False(HelpProbes.IsProbe(DnsName.Parse("abc.os.example.internal.")));
    }
}

using System.Net;
using System.Text.Json;
using Ananas.Cli;
using Ananas.Dns;
using Ananas.Server.Listeners;
using Ananas.Server.Tests.Fakes;

namespace Ananas.Server.Tests;

/// <summary>The control API and its CLI client over loopback: purge (name, type, subtree), cache stats, status.</summary>
public sealed class ControlTests
{
    [Fact]
    public async Task Purge_through_the_cli_client_makes_the_next_query_a_miss_and_stats_and_status_answer()
    {
        await using var server = new TestServer(new FakeAuthority("www.example.test. 300 A 192.0.2.1", "www.example.test. 300 AAAA 2001:db8::1"));
        await using var control = new ControlListener(new IPEndPoint(IPAddress.Loopback, 0), server.Pipeline, server.Records, () => [server.Udp.Address]);
        control.Start();
        string url = $"http://127.0.0.1:{control.LocalEndPoint.Port}";
        var udp = server.Udp.LocalEndPoint;

        await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.test", id: 1));
        await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.test", RRType.AAAA, id: 2));
        int upstream = server.Authority.Queries;
        await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.test", id: 3));
        Assert.Equal(upstream, server.Authority.Queries); // a hit

        // Purge only AAAA: A stays a hit.
        var output = new StringWriter();
        Assert.Equal(0, await ControlCommands.CallAsync(HttpMethod.Post, url, "/cache/purge?name=www.example.test&type=AAAA", output, TextWriter.Null, CancellationToken.None));
        using (var doc = JsonDocument.Parse(output.ToString())) Assert.True(doc.RootElement.GetProperty("answers").GetInt32() >= 1);
        await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.test", id: 4));
        Assert.Equal(upstream, server.Authority.Queries);

        // Purge the subtree: the next A query goes upstream again.
        Assert.Equal(0, await ControlCommands.CallAsync(HttpMethod.Post, url, "/cache/purge?name=example.test&subtree=1", TextWriter.Null, TextWriter.Null, CancellationToken.None));
        var again = await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.test", id: 5));
        Assert.Equal("192.0.2.1", again.Answers.Single().Data.ToString());
        Assert.True(server.Authority.Queries > upstream);

        var stats = new StringWriter();
        Assert.Equal(0, await ControlCommands.CallAsync(HttpMethod.Get, url, "/cache/stats", stats, TextWriter.Null, CancellationToken.None));
        using (var doc = JsonDocument.Parse(stats.ToString()))
        {
            Assert.True(doc.RootElement.GetProperty("answers").GetProperty("EntryCount").GetInt64() >= 1);
            Assert.Equal(JsonValueKind.Object, doc.RootElement.GetProperty("records").ValueKind);
        }
        var status = new StringWriter();
        Assert.Equal(0, await ControlCommands.CallAsync(HttpMethod.Get, url, "/status", status, TextWriter.Null, CancellationToken.None));
        using (var doc = JsonDocument.Parse(status.ToString()))
        {
            Assert.Equal(5, doc.RootElement.GetProperty("frames").GetInt64());
            Assert.Equal(server.Udp.Address, doc.RootElement.GetProperty("listeners")[0].GetString());
        }

        var error = new StringWriter();
        Assert.Equal(1, await ControlCommands.CallAsync(HttpMethod.Post, url, "/cache/purge?name=www.example.test&type=BOGUS", TextWriter.Null, error, CancellationToken.None));
        Assert.Contains("400", error.ToString());
        Assert.Equal(1, await ControlCommands.CallAsync(HttpMethod.Get, "http://127.0.0.1:1", "/status", TextWriter.Null, error, CancellationToken.None));
        Assert.Contains("cannot reach the control API", error.ToString());
    }
}

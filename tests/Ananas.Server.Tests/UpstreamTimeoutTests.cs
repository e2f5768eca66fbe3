using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Xunit.Abstractions;

namespace Ananas.Server.Tests;

/// <summary><c>resolver.upstream-timeout</c> reaches the conductor: it caps how long one upstream reply is awaited.</summary>
public sealed class UpstreamTimeoutTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Upstream_timeout_caps_the_wait_for_a_silent_server_even_after_the_rto_has_backed_off()
    {
        // A server that never answers: every timeout doubles its RTO (400 ms, 800 ms, 1.6 s, 3 s with the
        // infrastructure cache's own defaults), so without the cap the later exchanges would wait seconds.
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var server = (IPEndPoint)silent.LocalEndPoint!;

        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), "[resolver]\nupstream-timeout = \"150ms\"", "test.toml");
        var infrastructure = new InfrastructureCache(UpstreamSettings.Infrastructure(config), SystemClock.Instance);
        using var conductor = new Resolver.Conductor.Conductor(UpstreamSettings.Conductor(config), infrastructure);

        var query = DnsMessage.CreateQuery(0, DnsName.Parse("www.example.com."), RRType.A, recursionDesired: false);
        var request = new ExchangeRequest(query, server, UpstreamTransport.Udp, DnsName.Parse("example.com."));
        var times = new List<TimeSpan>();
        for (int i = 0; i < 2; i++) // two exchanges of two attempts: a third would find the server held down
        {
            var started = Stopwatch.GetTimestamp();
            var result = await conductor.ExchangeAsync(request, CancellationToken.None);
            times.Add(Stopwatch.GetElapsedTime(started));
            Assert.Equal(ExchangeStatus.Timeout, result.Status);
        }
        output.WriteLine(string.Join(", ", times.Select(t => $"{t.TotalMilliseconds:0} ms")));
        // Two attempts of at most 150 ms each (~0.3 s); uncapped, the second exchange would wait 1.6 s and then 3 s.
        // The wide margin is for a loaded machine (1.3 s seen with four builds running); the RTO check is the sharp one.
        Assert.True(times[^1] < TimeSpan.FromSeconds(3), $"the second exchange took {times[^1]}");
        Assert.True(infrastructure.GetRto(server.Address) <= TimeSpan.FromMilliseconds(150));
    }
}

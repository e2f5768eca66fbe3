using System.Net;
using Ananas.Server.Listeners;
using Ananas.Server.Tests.Fakes;

namespace Ananas.Server.Tests;

/// <summary>The Prometheus endpoint, scraped over loopback after a miss and a hit.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Scrape_shows_queries_by_transport_and_rcode_cache_counts_and_latency_histograms()
    {
        await using var server = new TestServer(new FakeAuthority("www.example.test. 300 A 192.0.2.1"));
        await using var metrics = new MetricsListener(new IPEndPoint(IPAddress.Loopback, 0), server.Pipeline);
        metrics.Start();
        await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("www.example.test", id: 1, udpPayload: 1232));
        await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("www.example.test", id: 2, udpPayload: 1232));
        await DnsTestClient.TcpAsync(server.Tcp.LocalEndPoint, DnsTestClient.Query("nope.example.test", id: 3));

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await client.GetAsync($"http://127.0.0.1:{metrics.LocalEndPoint.Port}/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.ToString());
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("ananas_queries_total{transport=\"udp\",rcode=\"NOERROR\"} 2\n", text);
        Assert.Contains("ananas_queries_total{transport=\"tcp\",rcode=\"NXDOMAIN\"} 1\n", text);
        Assert.Contains("ananas_cache_hits_total 1\n", text);
        Assert.Contains("ananas_cache_misses_total 2\n", text);
        Assert.Contains("ananas_scheduler_shed_total 0\n", text);
        Assert.Contains("# TYPE ananas_query_duration_seconds histogram\n", text);
        Assert.Contains("ananas_query_duration_seconds_count{cache=\"hit\"} 1\n", text);
        Assert.Contains("ananas_query_duration_seconds_count{cache=\"miss\"} 2\n", text);
        Assert.Contains("ananas_query_duration_seconds_bucket{cache=\"miss\",le=\"+Inf\"} 2\n", text);

        using var other = await client.GetAsync($"http://127.0.0.1:{metrics.LocalEndPoint.Port}/");
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    [Fact]
    public async Task Scrape_shows_garbage_collections_by_generation_their_pause_and_bytes_allocated()
    {
        await using var server = new TestServer(new FakeAuthority("www.example.test. 300 A 192.0.2.1"));
        string before = MetricsListener.Render(server.Pipeline);
        var kept = new byte[1 << 20];
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        string after = MetricsListener.Render(server.Pipeline);
        GC.KeepAlive(kept);
        Assert.Contains("# TYPE ananas_gc_pause_seconds_total counter\n", after);
        Assert.True(Value(after, "ananas_gc_collections_total{generation=\"2\"}") > Value(before, "ananas_gc_collections_total{generation=\"2\"}"));
        Assert.True(Value(after, "ananas_gc_collections_total{generation=\"0\"}") > Value(before, "ananas_gc_collections_total{generation=\"0\"}"));
        Assert.True(Value(after, "ananas_gc_pause_seconds_total") > Value(before, "ananas_gc_pause_seconds_total"));
        Assert.True(Value(after, "ananas_gc_allocated_bytes_total") - Value(before, "ananas_gc_allocated_bytes_total") >= 1 << 20);
        Assert.True(Value(after, "ananas_gc_heap_bytes") >= 1 << 20);
    }

    /// <summary>The value of the sample named exactly <paramref name="series"/> (name and labels).</summary>
    private static double Value(string text, string series)
    {
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
                return double.Parse(line.AsSpan(series.Length + 1), System.Globalization.CultureInfo.InvariantCulture);
        throw new Xunit.Sdk.XunitException($"no {series} in the scrape");
    }
}

using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ananas.Cli;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Ananas.Server.Tests.Fakes;
using Ananas.Tests.Lab;
using Ananas.Tests.Shared;

namespace Ananas.Server.Tests;

/// <summary>
/// Recursor features turned on from the configuration file of `ananas serve` (forward zones, DoT forwarders,
/// serve-stale, prefetch), end to end over loopback with the NSD lab behind.
/// </summary>
[Trait("Category", "EndToEnd")]
[Collection("Load-sensitive")]
public sealed class RecursorFeatureServeTests
{
    private static void RequireNsd() =>
        Assert.True(NsdHierarchy.FindNsd() is not null, "nsd is not installed: run scripts/setup.sh (it installs the Debian package nsd)");

    /// <summary>A second `ananas serve` (no NSD of its own) from a configuration text; stopped on dispose.</summary>
    private sealed class Served : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(2));
        private Task<int> _run = Task.FromResult(0);
        public required string Path { get; init; }
        public ResolverHost Host { get; private set; } = null!;
        public int Port { get; private init; }

        public static async Task<Served> StartAsync(Func<int, string> configText)
        {
            int port = FreePorts.Tcp();
            var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ananas-forwarding-{Guid.NewGuid():N}.toml");
            await File.WriteAllTextAsync(path, configText(port));
            var served = new Served { Path = path, Port = port };
            var started = new TaskCompletionSource<ResolverHost>(TaskCreationOptions.RunContinuationsAsynchronously);
            served._run = ServeCommand.RunAsync(ConfigLoader.LoadFile(path), Console.Error, served._stop.Token, host => started.SetResult(host),
                configSource: () => ConfigLoader.LoadFile(path));
            var first = await Task.WhenAny(started.Task, served._run, Task.Delay(TimeSpan.FromSeconds(15)));
            Assert.True(first == started.Task, "the forwarding server did not start");
            served.Host = started.Task.Result;
            return served;
        }

        public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            Assert.Equal(0, await _run.WaitAsync(TimeSpan.FromSeconds(20)));
            File.Delete(Path);
        }
    }

    /// <summary>The listen, metrics, control and DNSSEC keys of a server that only forwards, then <paramref name="rest"/>.</summary>
    private static string ForwardingConfig(int port, string forward, string resolver = "") => $"""
        listen = ["udp://127.0.0.1:{port}"]
        {forward}
        [resolver]
        query-timeout = "3s"
        # many servers start here; the start-up warm-up has its own tests (WarmUpTests)
        warm-up = "0s"
        # the lab delegates test. itself: every special-use zone but that one
        local-zones = ["localhost.", "invalid.", "onion."]
        {resolver}
        [dnssec]
        validation = "off"
        [metrics]
        listen = ""
        [control]
        listen = ""
        """;

    [FactWhenInstalled("dig", "dnsutils")]
    public async Task Forwarding_everything_to_a_resolver_on_loopback_answers_from_it()
    {
        RequireNsd();
        int upstreamPort = FreePorts.Tcp();
        await using var upstream = await ServedLab.StartAsync([$"udp://127.0.0.1:{upstreamPort}"]);
        await using var forwarding = await Served.StartAsync(port => ForwardingConfig(port, $"""
            forward = [{"{"} zone = ".", servers = ["127.0.0.1:{upstreamPort}"] {"}"}]
            """));

        string answer = await ServeEndToEndTests.RunAsync(EncryptedTransportTests.Tool("dig")!, $"@127.0.0.1 -p {forwarding.Port} +short +tries=1 +time=5 www.example.test A");
        Assert.Equal(NsdHierarchy.WwwAddress, answer.Trim());
        // It came from the forwarder (the forwarding server has no way to the lab but through it).
        Assert.True(upstream.Host.Pipeline.Counters.FrameCount >= 1);
    }

    [TheoryWhenInstalled("dig", "dnsutils")]
    [InlineData("forward", ".")]
    [InlineData("stub", "example.test.")]
    public async Task With_first_a_dead_zone_server_falls_back_to_iteration_and_without_it_fails_after_a_reload(string table, string zone)
    {
        RequireNsd();
        int port = FreePorts.Tcp();
        int dead = FreePorts.Tcp();
        string[] listen = [$"udp://127.0.0.1:{port}"];
        string Route(bool first) => $"""
            [[{table}]]
            zone = "{zone}"
            servers = ["127.0.0.1:{dead}"]
            first = {(first ? "true" : "false")}
            """;
        await using var lab = await ServedLab.StartAsync(listen, extra: Route(first: true));
        var dig = EncryptedTransportTests.Tool("dig")!;
        Assert.Equal(NsdHierarchy.WwwAddress, (await ServeEndToEndTests.RunAsync(dig, $"@127.0.0.1 -p {port} +short +tries=1 +time=5 www.example.test A")).Trim());

        // The same dead server without `first`: nothing but it may answer for the zone, so SERVFAIL.
        await File.WriteAllTextAsync(lab.ConfigPath, ServedLab.ConfigText(lab.Nsd, listen, new Uri(lab.Control).Port, extra: Route(first: false)));
        var reloaded = await lab.Host.ReloadAsync("test");
        Assert.True(reloaded.Ok, reloaded.Error);
        Assert.Equal([table], reloaded.Applied);
        var failed = await DnsTestClient.UdpAsync(new IPEndPoint(IPAddress.Loopback, port), DnsTestClient.Query("alias.example.test", id: 9, udpPayload: 1232));
        Assert.Equal(Rcode.ServFail, failed.Rcode);
    }

    [Fact]
    public async Task A_dot_forwarder_with_the_wrong_certificate_name_is_servfail_with_an_ede_and_is_sent_nothing()
    {
        RequireNsd();
        string directory = Directory.CreateTempSubdirectory("ananas-dot-forward").FullName;
        try
        {
            // The upstream: `ananas serve` with a DoT listener whose certificate is for right.example only.
            string certificate = Path.Combine(directory, "right.pem");
            await File.WriteAllTextAsync(certificate, TestCertificates.PemForName("right.example"));
            int dotPort = FreePorts.Tcp();
            await using var upstream = await ServedLab.StartAsync([$"tls://127.0.0.1:{dotPort}"], extra: $"""
                [tls]
                certificate = "{certificate}"
                """);
            string Forward(string name, int port) => ForwardingConfig(port, $"""
                forward = [{"{"} zone = ".", servers = ["tls://127.0.0.1:{dotPort}#{name}"] {"}"}]
                """, resolver: $"tls-cert-bundle = \"{certificate}\"");

            await using var forwarding = await Served.StartAsync(port => Forward("wrong.example", port));
            var reply = await DnsTestClient.UdpAsync(forwarding.EndPoint, DnsTestClient.Query("www.example.test", id: 1, udpPayload: 1232));
            Assert.Equal(Rcode.ServFail, reply.Rcode);
            Assert.NotEmpty(reply.Edns!.Options.OfType<ExtendedErrorOption>());
            Assert.Equal(0, upstream.Host.Pipeline.Counters.FrameCount);

            // The right name, applied by a reload (a forward zone changes live): answered through the DoT upstream.
            await File.WriteAllTextAsync(forwarding.Path, Forward("right.example", forwarding.Port));
            var reloaded = await forwarding.Host.ReloadAsync("test");
            Assert.True(reloaded.Ok, reloaded.Error);
            var answer = await DnsTestClient.UdpAsync(forwarding.EndPoint, DnsTestClient.Query("www.example.test", id: 2, udpPayload: 1232));
            Assert.Equal(Rcode.NoError, answer.Rcode);
            Assert.Equal(NsdHierarchy.WwwAddress, Assert.Single(answer.Answers).Data.ToString());
            Assert.True(upstream.Host.Pipeline.Counters.FrameCount >= 1);
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    [Fact]
    public async Task With_the_name_servers_stopped_an_expired_name_is_answered_stale_with_ede_3_within_the_client_response_time()
    {
        RequireNsd();
        int port = FreePorts.Tcp();
        await using var lab = await ServedLab.StartAsync([$"udp://127.0.0.1:{port}"], resolver: """
            serve-stale = true
            serve-stale-client-timeout = "1800ms"
            max-ttl = "1s"
            """);
        var server = new IPEndPoint(IPAddress.Loopback, port);
        var fresh = await DnsTestClient.UdpAsync(server, DnsTestClient.Query("www.example.test", id: 1, udpPayload: 1232));
        Assert.Equal(NsdHierarchy.WwwAddress, Assert.Single(fresh.Answers).Data.ToString());

        await lab.Nsd.DisposeAsync();
        await Task.Delay(TimeSpan.FromMilliseconds(2500)); // past the 1 s TTL
        var started = Stopwatch.GetTimestamp();
        var stale = await DnsTestClient.UdpAsync(server, DnsTestClient.Query("www.example.test", id: 2, udpPayload: 1232));
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.Equal(Rcode.NoError, stale.Rcode);
        var record = Assert.Single(stale.Answers);
        Assert.Equal(NsdHierarchy.WwwAddress, record.Data.ToString());
        Assert.Equal(30u, record.Ttl);
        Assert.Contains(stale.Edns!.Options.OfType<ExtendedErrorOption>(), e => e.InfoCode == EdeCode.StaleAnswer);
        Assert.True(elapsed < TimeSpan.FromMilliseconds(1800 + 700), $"answered after {elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task Prefetch_refreshes_a_popular_name_before_it_expires()
    {
        RequireNsd();
        int port = FreePorts.Tcp();
        int metricsPort = FreePorts.Tcp();
        await using var lab = await ServedLab.StartAsync([$"udp://127.0.0.1:{port}"], metricsPort: metricsPort, resolver: """
            prefetch = true
            max-ttl = "10s"
            """);
        var server = new IPEndPoint(IPAddress.Loopback, port);
        Assert.Equal(Rcode.NoError, (await DnsTestClient.UdpAsync(server, DnsTestClient.Query("www.example.test", id: 1, udpPayload: 1232))).Rcode);
        // Timed from the reply: both caches stored the answer before it left.
        var started = Stopwatch.GetTimestamp();

        // In the last tenth of the TTL: answered from the cache, and refreshed upstream in the background.
        await Until(started, TimeSpan.FromMilliseconds(9400));
        long before = await UpstreamQueries(metricsPort);
        var late = await DnsTestClient.UdpAsync(server, DnsTestClient.Query("www.example.test", id: 2, udpPayload: 1232));
        Assert.Equal(Rcode.NoError, late.Rcode);
        for (int i = 0; i < 40 && await UpstreamQueries(metricsPort) == before; i++) await Task.Delay(50);
        Assert.True(await UpstreamQueries(metricsPort) > before, "no upstream query refreshed the name");

        // With the name servers gone, the refreshed name is still answered after the first TTL ran out.
        await lab.Nsd.DisposeAsync();
        await Until(started, TimeSpan.FromMilliseconds(11_000)); // past the first 10 s TTL (later if stopping NSD took longer)
        var after = await DnsTestClient.UdpAsync(server, DnsTestClient.Query("www.example.test", id: 3, udpPayload: 1232));
        Assert.Equal(Rcode.NoError, after.Rcode);
        Assert.Equal(NsdHierarchy.WwwAddress, Assert.Single(after.Answers).Data.ToString());
    }

    /// <summary>Waits until <paramref name="at"/> after <paramref name="started"/> (at once if that is past).</summary>
    private static Task Until(long started, TimeSpan at) =>
        Stopwatch.GetElapsedTime(started) is var elapsed && elapsed < at ? Task.Delay(at - elapsed) : Task.CompletedTask;

    private static async Task<long> UpstreamQueries(int metricsPort)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string text = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
        foreach (var line in text.Split('\n'))
            if (line.StartsWith("ananas_upstream_queries_total ", StringComparison.Ordinal)) return long.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        throw new InvalidOperationException("ananas_upstream_queries_total is not on /metrics");
    }
}

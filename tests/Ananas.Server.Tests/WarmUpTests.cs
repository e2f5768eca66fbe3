using System.Net;
using Ananas.Dns;
using Ananas.Resolver.Cache;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Ananas.Server.Listeners;
using Ananas.Server.Tests.Fakes;
using Ananas.Tests.Shared;
using Microsoft.Extensions.Logging;

namespace Ananas.Server.Tests;

/// <summary>The start-up warm-up (<c>resolver.warm-up</c>): it resolves and validates in-process, leaves no trace, can be turned off and never stops a start.</summary>
public sealed class WarmUpTests
{
    /// <param name="validation">Off for a host that must resolve through the fake (unsigned) authority.</param>
    private static (ResolverHost Host, ListLogger Log, int Port) Host(FakeAuthority authority, string warmUp, string validation = "on")
    {
        int port = FreePorts.Tcp();
        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), $"""
            listen = ["udp://127.0.0.1:{port}"]
            [resolver]
            warm-up = "{warmUp}"
            local-zones = ["localhost."]
            [metrics]
            listen = ""
            [control]
            listen = ""
            [dnssec]
            validation = "{validation}"
            """, "warm-up.toml");
        var log = new ListLogger();
        var factory = LoggerFactory.Create(b => b.AddProvider(new ListLoggerProvider(log)));
        return (new ResolverHost(config, authority, factory), log, port);
    }

    [Fact]
    public async Task The_warm_up_validates_signed_answers_in_process_and_leaves_the_servers_caches_counters_and_upstream_untouched()
    {
        var authority = new FakeAuthority("www.example.test. 300 A 192.0.2.80");
        var (host, log, _) = Host(authority, "30s");
        await using var _ = host;
        // One whole pass, however slow this machine is: the second is cancelled before it starts.
        using var stop = new CancellationTokenSource();
        host.WarmUpPassStarting = pass =>
        {
            if (pass == 1) stop.Cancel();
        };

        var report = await host.WarmUpAsync(stop.Token);

        Assert.NotNull(report);
        Assert.Null(report.Failure);
        Assert.Equal(1, report.Passes);
        Assert.Equal("cancelled", report.Stopped);
        Assert.True(report.Queries > 0, $"{report}");
        Assert.Equal(report.Queries, report.Replies);
        Assert.Equal(0, report.Failed);
        // Every DO query got a validated (AD) answer: the chain of trust from the throwaway root key held for 8, 13 and 15.
        Assert.True(report.Signed > 0);
        Assert.Equal(report.Signed, report.Secure);
        Assert.Equal(0, authority.Queries);
        Assert.Equal(0, host.Answers.GetStatistics().EntryCount);
        Assert.Equal(0, ((RecordCache)host.Pipeline.Recursor.Cache).Count);
        Assert.Equal(0, host.Pipeline.Recursor.Failures.Count);
        Assert.Equal(0, host.Pipeline.Counters.CacheMissCount + host.Pipeline.Counters.CacheHitCount);
        Assert.Contains(log.Messages(LogLevel.Information), m => m.StartsWith("start-up warm-up:", StringComparison.Ordinal));
        string metrics = MetricsListener.Render(host.Pipeline);
        Assert.Contains($"ananas_warm_up_queries {report.Queries}\n", metrics);
        Assert.All(metrics.Split('\n').Where(l => l.StartsWith("ananas_queries_total{", StringComparison.Ordinal)), l => Assert.EndsWith(" 0", l));
    }

    [Fact]
    public async Task A_warm_up_of_zero_seconds_does_not_run()
    {
        var (host, log, _) = Host(new FakeAuthority(), "0s");
        await using var _ = host;

        Assert.Null(await host.WarmUpAsync());
        Assert.Null(host.Pipeline.WarmUp);
        Assert.DoesNotContain(log.Lines, l => l.Message.Contains("warm-up", StringComparison.Ordinal));
        Assert.DoesNotContain("ananas_warm_up_seconds", MetricsListener.Render(host.Pipeline), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failure_inside_the_warm_up_is_logged_and_the_server_still_starts_and_answers()
    {
        var (host, log, port) = Host(new FakeAuthority("www.example.test. 300 A 192.0.2.80"), "2s", validation: "off");
        await using var _ = host;
        host.WarmUpPassStarting = pass =>
        {
            if (pass == 0) throw new InvalidOperationException("injected warm-up failure");
        };

        var report = await host.WarmUpAsync();
        await host.StartAsync();

        Assert.Equal("injected warm-up failure", report!.Failure);
        Assert.Equal(0, report.Passes);
        Assert.Contains(log.Messages(LogLevel.Warning), m => m.Contains("injected warm-up failure", StringComparison.Ordinal));
        var answer = await DnsTestClient.UdpAsync(new IPEndPoint(IPAddress.Loopback, port), DnsTestClient.Query("www.example.test"));
        Assert.Equal("192.0.2.80", ((Ananas.Dns.Records.AddressData)answer.Answers[0].Data).Address.ToString());
    }

    [Fact]
    public async Task A_warm_up_that_overruns_its_budget_does_not_hold_up_the_start()
    {
        var (host, log, _) = Host(new FakeAuthority(), "2s");
        await using var _ = host;
        using var release = new ManualResetEventSlim();
        bool stuck = false;
        host.WarmUpPassStarting = _ =>
        {
            stuck = true;
            release.Wait(TimeSpan.FromSeconds(20)); // a pass stuck far past the budget
        };
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var report = await host.WarmUpAsync();
        var waited = clock.Elapsed;
        release.Set();

        Assert.True(waited < TimeSpan.FromSeconds(4), $"{waited}");
        // On a machine too slow to make the keys within the budget, no pass starts and the budget alone ends it.
        if (Volatile.Read(ref stuck))
        {
            Assert.Null(report);
            Assert.Contains(log.Messages(LogLevel.Warning), m => m.Contains("starting without waiting", StringComparison.Ordinal));
        }
        else Assert.Equal("budget", report!.Stopped);
    }

    private sealed class ListLoggerProvider(ListLogger logger) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => logger;

        public void Dispose()
        {
        }
    }
}

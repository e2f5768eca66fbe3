using Ananas.Tests.Shared;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ananas.Cli;
using Ananas.Cli.Plugins;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Sandbox.Tests;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Ananas.Server.Tests.Fakes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Server.Tests;

/// <summary>
/// The guest apps (guests/families, guests/as112, guests/gateway) end to end: the server composed as `ananas
/// serve` composes it (ResolverHost + PluginManager.AttachAsync) from TOML configuration, on loopback with random
/// ports, resolving against a scripted authority whose query count shows what went upstream.
/// </summary>
public sealed class PluginAppsTests
{
    private static IPAddress Address(DnsMessage reply) => ((AddressData)Assert.Single(reply.Answers).Data).Address;

    private static EdeCode? Ede(DnsMessage reply) => reply.Edns?.Find<ExtendedErrorOption>()?.InfoCode;

    private static async Task Eventually(Func<Task<bool>> condition, TimeSpan within)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < within, "the condition did not hold in time");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Families_blocks_listed_names_and_subdomains_with_ede_and_follows_list_changes()
    {
        var dir = Directory.CreateTempSubdirectory("ananas-families-");
        try
        {
            var malware = Path.Combine(dir.FullName, "malware.txt");
            var adult = Path.Combine(dir.FullName, "adult.hosts");
            await File.WriteAllTextAsync(malware, "# malware\nbad.test\n");
            await File.WriteAllTextAsync(adult, "0.0.0.0 adult.test # a hosts-format list\n");
            await using var server = await PluginServer.StartAsync($"""
                [[plugin]]
                name = "families"
                module = "{PluginServer.App("families")}"
                args = "adult=true"
                [plugin.data]
                malware = "domains:{malware}"
                adult = "{adult}"
                """);

            var a = await server.AskAsync("bad.test");
            Assert.Equal(Rcode.NoError, a.Rcode);
            Assert.Equal(IPAddress.Any, Address(a));
            Assert.Equal((EdeCode)15, Ede(a));
            Assert.True(a.Has(HeaderFlags.RA));
            var aaaa = await server.AskAsync("www.cdn.bad.test", RRType.AAAA);
            Assert.Equal(IPAddress.IPv6Any, Address(aaaa));
            Assert.Equal((EdeCode)15, Ede(aaaa));
            var txt = await server.AskAsync("bad.test", RRType.TXT);
            Assert.Equal(Rcode.NoError, txt.Rcode);
            Assert.Empty(txt.Answers);
            Assert.Equal((EdeCode)15, Ede(txt));
            var filtered = await server.AskAsync("videos.adult.test");
            Assert.Equal(IPAddress.Any, Address(filtered));
            Assert.Equal((EdeCode)17, Ede(filtered));
            Assert.Equal(0, server.Authority.Queries);

            // Not listed: resolved and cached as usual.
            Assert.Equal(IPAddress.Parse("192.0.2.11"), Address(await server.AskAsync("later.test")));
            Assert.Equal(IPAddress.Parse("192.0.2.11"), Address(await server.AskAsync("later.test")));
            Assert.True(server.Host.Pipeline.Counters.CacheHitCount >= 1);
            Assert.Null(Ede(await server.AskAsync("clean.test")));

            // Listed later: the host reloads the file and the next query is blocked, cache hit or not.
            await File.AppendAllTextAsync(malware, "later.test\n");
            await Eventually(async () => Address(await server.AskAsync("later.test")).Equals(IPAddress.Any), TimeSpan.FromSeconds(20));
            Assert.Equal((EdeCode)15, Ede(await server.AskAsync("later.test")));

            var report = Assert.Single(server.Plugins.List());
            Assert.Contains(report.Counters, c => c.Key == "blocked_malware" && c.Value >= 4);
            Assert.Contains(report.Counters, c => c.Key == "blocked_adult" && c.Value == 1);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task As112_and_the_local_zones_give_one_answer_for_the_loopback_reverse_names()
    {
        int port = FreePorts.Tcp();
        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), $"""
            listen = ["udp://127.0.0.1:{port}"]
            [cache]
            size = "16MiB"
            [metrics]
            listen = ""
            [control]
            listen = ""
            [dnssec]
            validation = "off"
            [[plugin]]
            name = "as112"
            module = "{PluginServer.App("as112")}"
            """, "test.toml");
        var authority = PluginServer.World();
        var host = new ResolverHost(config, authority, NullLoggerFactory.Instance);
        await using var plugins = await PluginManager.AttachAsync(host, NullLoggerFactory.Instance);
        await host.StartAsync();
        try
        {
            var server = new IPEndPoint(IPAddress.Loopback, port);
            string v6 = "1." + string.Concat(Enumerable.Repeat("0.", 31)) + "ip6.arpa";
            foreach (var name in new[] { "1.0.0.127.in-addr.arpa", v6 })
            {
                var reply = await PluginServer.AskFromAsync(IPAddress.Loopback, server, DnsTestClient.Query(name, RRType.PTR, udpPayload: 1232));
                Assert.Equal(Rcode.NoError, reply.Rcode);
                Assert.Equal(DnsName.Parse("localhost."), ((NameData)Assert.Single(reply.Answers).Data).Target);
            }
            // The private ranges stay the plugin's.
            Assert.Equal(Rcode.NXDomain, (await PluginServer.AskFromAsync(IPAddress.Loopback, server, DnsTestClient.Query("1.0.0.10.in-addr.arpa", RRType.PTR, udpPayload: 1232))).Rcode);
            Assert.Equal(0, authority.Queries);
        }
        finally
        {
            await host.StopAsync(TimeSpan.FromSeconds(2));
        }
    }

    [Fact]
    public async Task A_reload_adds_the_first_plugin_and_removes_the_last()
    {
        var dir = Directory.CreateTempSubdirectory("ananas-first-plugin-");
        try
        {
            var malware = Path.Combine(dir.FullName, "malware.txt");
            await File.WriteAllTextAsync(malware, "casino.test\n");
            await using var server = await PluginServer.StartAsync("");
            Assert.Equal(IPAddress.Parse("192.0.2.12"), Address(await server.AskAsync("casino.test")));

            string plugin = $"""
                [[plugin]]
                name = "families"
                module = "{PluginServer.App("families")}"
                [plugin.data]
                malware = "domains:{malware}"
                """;
            var withPlugin = ConfigLoader.Apply(server.Host.Config, plugin, "reload.toml");
            var added = await server.Host.ApplyAsync(withPlugin, "test");
            Assert.True(added.Ok, added.Error);
            Assert.Single(server.Plugins.List());
            // A cache hit before the reload: the new Request phase sees it and blocks it.
            var blocked = await server.AskAsync("casino.test");
            Assert.Equal(IPAddress.Any, Address(blocked));
            Assert.Equal((EdeCode)15, Ede(blocked));

            var withoutPlugin = withPlugin.Copy();
            withoutPlugin.Plugins = [];
            var removed = await server.Host.ApplyAsync(withoutPlugin, "test");
            Assert.True(removed.Ok, removed.Error);
            Assert.Empty(server.Plugins.List());
            Assert.Equal(IPAddress.Parse("192.0.2.12"), Address(await server.AskAsync("casino.test")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Families_without_adult_lets_adult_names_resolve()
    {
        var dir = Directory.CreateTempSubdirectory("ananas-families-");
        try
        {
            var malware = Path.Combine(dir.FullName, "malware.txt");
            var adult = Path.Combine(dir.FullName, "adult.txt");
            await File.WriteAllTextAsync(malware, "bad.test\n");
            await File.WriteAllTextAsync(adult, "casino.test\n");
            await using var server = await PluginServer.StartAsync($"""
                [[plugin]]
                name = "families"
                module = "{PluginServer.App("families")}"
                [plugin.data]
                malware = "{malware}"
                adult = "{adult}"
                """);
            Assert.Equal(IPAddress.Parse("192.0.2.12"), Address(await server.AskAsync("casino.test")));
            Assert.Equal(IPAddress.Any, Address(await server.AskAsync("bad.test")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task As112_answers_private_reverse_zones_and_home_arpa_without_asking_upstream()
    {
        await using var server = await PluginServer.StartAsync($"""
            [[plugin]]
            name = "as112"
            module = "{PluginServer.App("as112")}"
            """);

        var ptr = await server.AskAsync("1.0.168.192.in-addr.arpa", RRType.PTR);
        Assert.Equal(Rcode.NXDomain, ptr.Rcode);
        Assert.True(ptr.Has(HeaderFlags.AA | HeaderFlags.RA));
        var soa = Assert.Single(ptr.Authority);
        Assert.Equal(RRType.SOA, soa.Type);
        Assert.Equal(DnsName.Parse("168.192.in-addr.arpa."), soa.Name);
        Assert.Equal(10800u, soa.Ttl);

        var privateRange = await server.AskAsync("5.4.20.172.in-addr.arpa", RRType.PTR);
        Assert.Equal(Rcode.NXDomain, privateRange.Rcode);
        Assert.Equal(DnsName.Parse("20.172.in-addr.arpa."), Assert.Single(privateRange.Authority).Name);

        var apexSoa = await server.AskAsync("10.in-addr.arpa", RRType.SOA);
        Assert.Equal(Rcode.NoError, apexSoa.Rcode);
        Assert.Equal(RRType.SOA, Assert.Single(apexSoa.Answers).Type);
        var apexNs = await server.AskAsync("home.arpa", RRType.NS);
        Assert.Equal(DnsName.Parse("home.arpa."), ((NameData)Assert.Single(apexNs.Answers).Data).Target);
        var apexOther = await server.AskAsync("home.arpa", RRType.A);
        Assert.Equal(Rcode.NoError, apexOther.Rcode);
        Assert.Empty(apexOther.Answers);
        Assert.Equal(RRType.SOA, Assert.Single(apexOther.Authority).Type);

        Assert.Equal(Rcode.NXDomain, (await server.AskAsync("printer.home.arpa")).Rcode);
        // ::'s reverse name is the apex of its zone (RFC 6303 §4.7): NODATA, not NXDOMAIN.
        var unspecified6 = await server.AskAsync("0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa", RRType.PTR);
        Assert.Equal(Rcode.NoError, unspecified6.Rcode);
        Assert.Empty(unspecified6.Answers);
        Assert.Equal(RRType.SOA, Assert.Single(unspecified6.Authority).Type);
        foreach (var (name, zone) in new[] { ("x.empty.as112.arpa", "empty.as112.arpa"), ("b.a.9.e.f.ip6.arpa", "9.e.f.ip6.arpa"),
            ("1.1.64.100.in-addr.arpa", "64.100.in-addr.arpa"), ("1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "8.b.d.0.1.0.0.2.ip6.arpa") })
        {
            var reply = await server.AskAsync(name, RRType.PTR);
            Assert.Equal(Rcode.NXDomain, reply.Rcode);
            Assert.Equal(DnsName.Parse(zone), Assert.Single(reply.Authority).Name);
        }
        Assert.Equal(0, server.Authority.Queries);

        // Public space is not ours: 8.8.8.8's reverse name and ordinary names go upstream.
        await server.AskAsync("8.8.8.8.in-addr.arpa", RRType.PTR);
        Assert.True(server.Authority.Queries > 0);
    }

    [Fact]
    public async Task Gateway_gives_two_client_networks_different_answers_and_logs_its_decisions()
    {
        var dir = Directory.CreateTempSubdirectory("ananas-gateway-");
        var logger = new ListLogger();
        using var logging = LoggerFactory.Create(b => b.AddProvider(new SingleLoggerProvider(logger)).SetMinimumLevel(LogLevel.Trace));
        try
        {
            var gambling = Path.Combine(dir.FullName, "gambling.txt");
            await File.WriteAllTextAsync(gambling, "casino.test\n");
            await using var server = await PluginServer.StartAsync($"""
                [[plugin]]
                name = "gateway"
                module = "{PluginServer.App("gateway")}"
                args = "name=kids net=127.0.0.2/32 block=gambling deny=example.com redirect=192.0.2.250 ; name=staff net=127.0.0.3/32 deny=clean.test allow=www.example.com"
                [plugin.data]
                gambling = "{gambling}"
                """, logging: logging);

            // kids: the category and the deny list, redirected to the block page.
            var kidsCasino = await server.AskAsync("casino.test", from: "127.0.0.2");
            Assert.Equal(IPAddress.Parse("192.0.2.250"), Address(kidsCasino));
            Assert.Equal((EdeCode)15, Ede(kidsCasino));
            Assert.Equal(IPAddress.Parse("192.0.2.250"), Address(await server.AskAsync("www.example.com", from: "127.0.0.2")));
            Assert.Equal(IPAddress.Parse("192.0.2.10"), Address(await server.AskAsync("clean.test", from: "127.0.0.2")));

            // staff: other rules, no redirect (the unspecified address).
            Assert.Equal(IPAddress.Parse("192.0.2.12"), Address(await server.AskAsync("casino.test", from: "127.0.0.3")));
            Assert.Equal(IPAddress.Parse("192.0.2.80"), Address(await server.AskAsync("www.example.com", from: "127.0.0.3")));
            var staffClean = await server.AskAsync("clean.test", from: "127.0.0.3");
            Assert.Equal(IPAddress.Any, Address(staffClean));
            Assert.Equal((EdeCode)15, Ede(staffClean));

            // Anyone else: no policy.
            Assert.Equal(IPAddress.Parse("192.0.2.10"), Address(await server.AskAsync("clean.test", from: "127.0.0.4")));

            var counters = Assert.Single(server.Plugins.List()).Counters.ToDictionary(c => c.Key, c => c.Value);
            Assert.Equal(3, counters["block"]);
            Assert.Equal(2, counters["block.kids"]);
            Assert.Equal(1, counters["block.staff"]);
            Assert.Equal(1, counters["allow.staff"]);
            Assert.Contains(logger.Lines, l => l.Message.Contains("policy=kids client=127.0.0.2 name=casino.test type=1 action=block rule=category:gambling"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Plugin_list_and_reload_work_through_the_control_api_and_the_cli()
    {
        await using var server = await PluginServer.StartAsync($"""
            [[plugin]]
            name = "as112"
            module = "{PluginServer.App("as112")}"
            """);
        await server.AskAsync("1.0.0.10.in-addr.arpa", RRType.PTR);
        var output = new StringWriter();
        Assert.Equal(0, await ControlCommands.CallAsync(HttpMethod.Get, server.Control, server.Host.ControlTokenPath!, "/plugins", output, TextWriter.Null, CancellationToken.None));
        Assert.Contains("\"name\":\"as112\"", output.ToString());
        Assert.Contains("\"version\":1", output.ToString());
        Assert.Contains("\"calls\":1", output.ToString());

        output = new StringWriter();
        Assert.Equal(0, await ControlCommands.CallAsync(HttpMethod.Post, server.Control, server.Host.ControlTokenPath!, "/plugins/reload?name=as112", output, TextWriter.Null, CancellationToken.None));
        Assert.Contains("\"version\":2", output.ToString());
        Assert.Equal(Rcode.NXDomain, (await server.AskAsync("1.0.0.10.in-addr.arpa", RRType.PTR)).Rcode);

        var error = new StringWriter();
        Assert.Equal(1, await ControlCommands.CallAsync(HttpMethod.Post, server.Control, server.Host.ControlTokenPath!, "/plugins/reload?name=nope", TextWriter.Null, error, CancellationToken.None));
        Assert.Contains("no plugin named", error.ToString());
    }

    [Fact]
    public async Task Hot_swap_under_dnsperf_load_loses_nothing_and_switches_versions()
    {
        const string dnsperf = "/usr/bin/dnsperf";
        Assert.True(File.Exists(dnsperf), "dnsperf is not installed (scripts/setup.sh installs it)");
        var module = Guests.PathOf("versioned");
        string Plugin(int version) => $"""
            [[plugin]]
            name = "versioned"
            module = "{module}"
            args = "v{version}"
            max-instances = 4
            """;
        await using var server = await PluginServer.StartAsync(Plugin(0));
        var queries = Path.GetTempFileName();
        await File.WriteAllTextAsync(queries, "version.test TXT\n");
        try
        {
            var run = ServeEndToEndTests.RunAsync(dnsperf, $"-s 127.0.0.1 -p {server.Udp.Port} -d {queries} -l 5 -Q 2000 -t 2");
            for (int version = 1; version <= 10; version++)
            {
                await Task.Delay(350);
                var config = ConfigLoader.Apply(ConfigLoader.Defaults(), Plugin(version), "reload.toml");
                await server.Plugins.ReloadAsync(config.Plugins);
                var txt = Assert.Single((await server.AskAsync("version.test", RRType.TXT)).Answers);
                Assert.Equal($"v{version}", System.Text.Encoding.ASCII.GetString(Assert.Single(((TxtData)txt.Data).Strings)));
            }
            var output = await run;
            Assert.Contains("Queries lost:         0 (0.00%)", output);
            Assert.Matches(@"Response codes:\s+NOERROR \d+ \(100\.00%\)", output);
            Assert.Equal(10, Assert.Single(server.Plugins.List()).Version - 1);
        }
        finally
        {
            File.Delete(queries);
        }
    }

    [Fact]
    public async Task A_guest_awaiting_a_timer_answers_concurrent_queries_without_holding_receive_threads()
    {
        await using var server = await PluginServer.StartAsync($"""
            [[plugin]]
            name = "timer"
            module = "{Guests.PathOf("timer")}"
            args = "500"
            """);
        // Two UDP receive threads (the default): eight queries each waiting 500 ms would take at least 2 s if
        // the waits held those threads; awaited, they overlap.
        var started = Stopwatch.StartNew();
        var replies = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => server.AskAsync($"q{i}.timer.test", RRType.TXT)));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(1.8), $"took {started.Elapsed}");
        foreach (var reply in replies)
        {
            var txt = System.Text.Encoding.ASCII.GetString(Assert.Single(((TxtData)Assert.Single(reply.Answers).Data).Strings));
            Assert.StartsWith("slept=", txt);
            Assert.True(int.Parse(txt["slept=".Length..]) >= 450, txt);
        }
        Assert.Equal(0, server.Authority.Queries);
    }

    [Fact]
    public async Task A_guest_edits_resolved_answers_which_are_sent_but_not_cached_and_refuses_upstream_sub_requests()
    {
        await using var server = await PluginServer.StartAsync($"""
            [[plugin]]
            name = "rewrite"
            module = "{Guests.PathOf("rewrite")}"
            """);
        for (int i = 0; i < 2; i++) Assert.Equal(IPAddress.Parse("192.0.2.99"), Address(await server.AskAsync("www.rewrite.test")));
        Assert.Equal(0, server.Host.Pipeline.Counters.CacheHitCount);

        int before = server.Authority.Queries;
        Assert.Equal(Rcode.ServFail, (await server.AskAsync("refuse.upstream.test")).Rcode);
        Assert.Equal(before, server.Authority.Queries);
        Assert.True(server.Host.Pipeline.Counters.UpstreamRefusedCount > 0);
    }

    [Theory]
    [InlineData("module = \"/nonexistent/x.wasm\"", "x.wasm")]
    [InlineData("module = \"GATEWAY\"\nargs = \"net=10.0.0.0/8 colour=red\"", "ananas_start returned 1")]
    [InlineData("module = \"FAMILIES\"\n[plugin.data]\nmalware = \"/nonexistent/list.txt\"", "list.txt")]
    public async Task A_plugin_that_cannot_load_stops_the_start_naming_its_configuration_line(string keys, string reason)
    {
        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), $"""
            [cache]
            size = "16MiB"
            [[plugin]]
            name = "broken"
            {keys.Replace("GATEWAY", PluginServer.App("gateway")).Replace("FAMILIES", PluginServer.App("families"))}
            """, "serve.toml");
        var host = new ResolverHost(config, PluginServer.World(), NullLoggerFactory.Instance);
        await using var _ = host;
        var error = await Assert.ThrowsAsync<ConfigException>(() => PluginManager.AttachAsync(host, NullLoggerFactory.Instance));
        Assert.StartsWith("serve.toml:3: plugin broken: ", error.Message);
        Assert.Contains(reason, error.Message);
        Assert.Null(host.Plugins);
    }

    private sealed class SingleLoggerProvider(ILogger logger) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => logger;
        public void Dispose() { }
    }
}

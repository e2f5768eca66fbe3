using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Ananas.Cli;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Ananas.Server.Tests.Fakes;
using Ananas.Tests.Lab;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Ananas.Server.Tests;

/// <summary>
/// Configuration reload of a running `ananas serve` (in-process, resolving through NSD on loopback): by the file
/// changing, by SIGHUP and by the control API (`ananas reload`); live keys apply, restart-only keys are reported,
/// a bad file is rejected with its line and key and the running configuration stays; and under a dnsperf load no
/// query is lost. Bounded in time.
/// </summary>
[Trait("Category", "EndToEnd")]
[Collection(LoadSensitiveCollection.Name)]
public sealed class ReloadTests(ITestOutputHelper output)
{
    [Fact]
    public void Live_and_restart_only_keys_are_told_apart()
    {
        var running = ConfigLoader.Defaults();
        var next = ConfigLoader.Apply(running, """
            [access]
            allow = ["10.0.0.0/8"]
            [cache]
            size = "64MiB"
            [log]
            level = "debug"
            [tls]
            certificate = "/etc/ssl/dns.pem"
            """, "next.toml");
        var (live, restart) = ConfigChanges.Compare(running, next);
        Assert.Equal(["access.allow", "log.level"], live);
        Assert.Equal(["cache.size", "tls.certificate"], restart);
        var effective = ConfigChanges.Effective(running, next);
        Assert.Equal(["10.0.0.0/8"], effective.Allow);
        Assert.Equal(LogLevel.Debug, effective.LogLevel);
        Assert.Equal(running.CacheSizeBytes, effective.CacheSizeBytes);
        Assert.Equal("", effective.TlsCertificate);
    }

    [Fact]
    public async Task File_change_sighup_and_control_api_reload_live_keys_and_reject_a_bad_file()
    {
        Assert.True(NsdHierarchy.FindNsd() is not null, "nsd is not installed: run scripts/setup.sh (it installs the Debian package nsd)");
        int port = FreePorts.Tcp(), extraTcp = FreePorts.Tcp();
        var listen = new[] { $"udp://127.0.0.1:{port}", $"tcp://127.0.0.1:{port}" };
        await using var lab = await ServedLab.StartAsync(listen);
        var server = new IPEndPoint(IPAddress.Loopback, port);
        var controlPort = new Uri(lab.Control).Port;
        Assert.Equal(Rcode.NoError, (await DnsTestClient.UdpAsync(server, DnsTestClient.Query("www.example.test", id: 1))).Rcode);

        // 1. The file changes: the ACL no longer admits loopback, a TCP listener is added, the log level drops to
        //    warning, and cache.size (restart-only) changes.
        await File.WriteAllTextAsync(lab.ConfigPath, ServedLab.ConfigText(lab.Nsd, [.. listen, $"tcp://127.0.0.1:{extraTcp}"], controlPort, """
            [access]
            allow = ["10.0.0.0/8"]
            [log]
            level = "warning"
            [cache]
            size = "32MiB"
            """));
        await WaitUntilAsync(() => lab.Host.Config.Allow.SequenceEqual(["10.0.0.0/8"]), "the file change was not applied");
        Assert.Equal(LogLevel.Warning, lab.Host.Config.LogLevel);
        Assert.Equal(Rcode.Refused, (await DnsTestClient.UdpAsync(server, DnsTestClient.Query("www.example.test", id: 2))).Rcode);
        Assert.Contains(lab.Host.Listeners, l => l.LocalEndPoint.Port == extraTcp);
        Assert.Equal(ConfigLoader.Defaults().CacheSizeBytes, lab.Host.Config.CacheSizeBytes);

        // 2. A bad file: rejected with its line and key (through `ananas reload`, exit 1); the running config stays.
        await File.WriteAllTextAsync(lab.ConfigPath, "listen = [\"udp://127.0.0.1:1\"]\n[scheduler]\nshed = \"explode\"\n");
        var printed = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(1, await ControlCommands.CallAsync(HttpMethod.Post, lab.Control, lab.Host.ControlTokenPath!, "/reload", printed, error, CancellationToken.None));
        Assert.Contains("ananas.toml:3: scheduler.shed: 'explode' is not one of refuse, drop, truncate", error.ToString());
        Assert.Equal(["10.0.0.0/8"], lab.Host.Config.Allow);
        Assert.Contains(lab.Host.Listeners, l => l.LocalEndPoint.Port == extraTcp);

        // 3. SIGHUP: the good file again without the extra listener and with loopback allowed.
        var original = ServedLab.ConfigText(lab.Nsd, listen, controlPort);
        await WriteQuietlyAsync(lab, original);
        await SighupAsync();
        await WaitUntilAsync(() => lab.Host.Config.Allow.Contains("127.0.0.0/8"), "SIGHUP did not reload");
        await WaitUntilAsync(() => !lab.Host.Listeners.Any(l => l.LocalEndPoint.Port == extraTcp), "the removed listener is still there");
        Assert.Equal(Rcode.NoError, (await DnsTestClient.UdpAsync(server, DnsTestClient.Query("www.example.test", id: 3))).Rcode);
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => DnsTestClient.TcpAsync(new IPEndPoint(IPAddress.Loopback, extraTcp), DnsTestClient.Query("www.example.test")));

        // 4. `ananas reload` with nothing changed: applies nothing, prints the JSON result.
        printed = new StringWriter();
        Assert.Equal(0, await ControlCommands.CallAsync(HttpMethod.Post, lab.Control, lab.Host.ControlTokenPath!, "/reload", printed, new StringWriter(), CancellationToken.None));
        Assert.Contains("\"ok\":true", printed.ToString());
        Assert.Contains("\"applied\":[]", printed.ToString());
    }

    [FactWhenInstalled("dnsperf", "dnsperf")]
    public async Task A_dnsperf_run_loses_no_query_while_forward_zones_plugins_the_acl_and_listeners_are_reloaded_repeatedly()
    {
        var dnsperf = EncryptedTransportTests.Tool("dnsperf")!;
        Assert.True(NsdHierarchy.FindNsd() is not null, "nsd is not installed: run scripts/setup.sh (it installs the Debian package nsd)");
        var plugin = PluginServer.App("as112");
        int port = FreePorts.Tcp();
        var listen = new[] { $"udp://127.0.0.1:{port}", $"tcp://127.0.0.1:{port}" };
        await using var lab = await ServedLab.StartAsync(listen);
        int controlPort = new Uri(lab.Control).Port;
        var queries = Path.Combine(lab.Directory, "queries.txt");
        // Hits and misses: a few names answered from the cache after the first time, and unique names NSD answers NXDOMAIN.
        var lines = new List<string> { "www.example.test A", "alias.example.test A", "example.test NS", "example.test SOA", "nope.example.test AAAA" };
        for (int i = 0; i < 300; i++) lines.Add($"n{i}.example.test A");
        await File.WriteAllLinesAsync(queries, lines);

        // dnsperf runs until interrupted once the reloads are done (60 s at most): a loaded host takes longer per
        // reload, and a run of fixed length could end before they all happened.
        const int Reloads = 6, TimeoutSeconds = 3;
        using var process = Process.Start(new ProcessStartInfo(dnsperf, ["-s", "127.0.0.1", "-p", port.ToString(), "-d", queries, "-l", "60", "-Q", "2000", "-t", TimeoutSeconds.ToString()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            // Reload while it runs: six times, 400 ms apart, the other of two files, alternately through the control API and by SIGHUP.
            // One adds the first plugin, a forward zone for example.test. (to the lab's TLD server), a narrower ACL that
            // still admits dnsperf, other scheduler bounds, a log level and a TCP listener; the other removes them again.
            int reloads = 0;
            while (reloads < Reloads && !process.HasExited)
            {
                await Task.Delay(400);
                bool variant = reloads % 2 == 0;
                var extraListen = variant ? listen.Append($"tcp://127.0.0.1:{FreePorts.Tcp()}").ToArray() : listen;
                string withVariant = variant ? $$"""
                    [[forward]]
                    zone = "example.test."
                    servers = ["{{lab.Nsd.TldAddress}}"]
                    [[plugin]]
                    name = "as112"
                    module = "{{plugin}}"
                    """ : "";
                await File.WriteAllTextAsync(lab.ConfigPath, ServedLab.ConfigText(lab.Nsd, extraListen, controlPort, $"""
                    [access]
                    allow = [{(variant ? "\"127.0.0.1/32\"" : "\"127.0.0.0/8\", \"::1/128\"")}]
                    [scheduler]
                    max-in-flight = {(variant ? 64 : 1024)}
                    max-in-flight-per-group = {(variant ? 32 : 64)}
                    runners = {(variant ? 3 : 0)}
                    [log]
                    level = "{(variant ? "warning" : "information")}"
                    {withVariant}
                    """));
                if (variant) await SighupAsync();
                else Assert.Equal(0, await ControlCommands.CallAsync(HttpMethod.Post, lab.Control, lab.Host.ControlTokenPath!, "/reload", new StringWriter(), new StringWriter(), CancellationToken.None));
                await WaitUntilAsync(() => lab.Host.Pipeline.Scheduler!.Options.MaxInFlight == (variant ? 64 : 1024)
                    && lab.Host.Pipeline.Lanes!.Runners == (variant ? 3 : 2 * Environment.ProcessorCount)
                    && lab.Host.Config.Forwards.Count == (variant ? 1 : 0) && lab.Host.Config.Allow.Count == (variant ? 1 : 2)
                    && lab.Host.Plugins is { } plugins && plugins.List().Count == (variant ? 1 : 0), "the reload was not applied");
                reloads++;
            }
            if (process.HasExited) Assert.Fail($"dnsperf ended during the reloads:\n{await stdout}{await stderr}");
            Assert.Equal(Reloads, reloads);
            // Past dnsperf's timeout every query sent during the reloads is answered or counted lost; then it is stopped,
            // and what it still had in flight (sent after the reloads) is reported as interrupted, not lost.
            await Task.Delay(TimeSpan.FromSeconds(TimeoutSeconds + 0.5));
            using (var interrupt = Process.Start("kill", ["-INT", process.Id.ToString()]))
                await interrupt.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            var report = await stdout + await stderr;
            var sent = Regex.Match(report, @"Queries sent:\s+(\d+)");
            var completed = Regex.Match(report, @"Queries completed:\s+(\d+)");
            var lost = Regex.Match(report, @"Queries lost:\s+(\d+)");
            var interrupted = Regex.Match(report, @"Queries interrupted:\s+(\d+)");
            Assert.True(sent.Success && completed.Success && lost.Success, $"unexpected dnsperf output:\n{report}");
            Assert.True(long.Parse(sent.Groups[1].Value) >= 1000, report);
            Assert.Equal(0, long.Parse(lost.Groups[1].Value));
            long stillInFlight = interrupted.Success ? long.Parse(interrupted.Groups[1].Value) : 0;
            Assert.Equal(long.Parse(sent.Groups[1].Value), long.Parse(completed.Groups[1].Value) + stillInFlight);
            output.WriteLine($"{reloads} reloads; dnsperf:\n{report}");
        }
        finally
        {
            if (!process.HasExited) process.Kill(); // a failed assertion does not leave it running
        }
    }

    /// <summary>SIGHUP to this process: the serve command under test has registered its handler (without one, it would end the process).</summary>
    private static async Task SighupAsync()
    {
        using var kill = Process.Start("kill", ["-HUP", Environment.ProcessId.ToString()]);
        await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>Writes the file and waits for the watcher's reload of it to pass, so that the next step is not raced by it.</summary>
    private static async Task WriteQuietlyAsync(ServedLab lab, string text)
    {
        await File.WriteAllTextAsync(lab.ConfigPath, text);
        await Task.Delay(ConfigFileWatcher.Settle * 3);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var deadline = Stopwatch.GetTimestamp() + 10 * Stopwatch.Frequency;
        while (!condition())
        {
            Assert.True(Stopwatch.GetTimestamp() < deadline, failure);
            await Task.Delay(50);
        }
    }
}

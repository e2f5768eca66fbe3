using System.Globalization;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Tests.Fakes;
using Microsoft.Playwright;

namespace Ananas.Server.Tests;

/// <summary>
/// The web console and /help in headless Chromium (the Debian package, driven by Playwright; no browser download).
/// Screenshots go to .build/test-results/screenshots/.
/// </summary>
[Collection(LoadSensitiveCollection.Name)]
public sealed class ConsoleBrowserTests
{
    private static FakeAuthority World() => new(
        "www.example.com. 300 A 192.0.2.80",
        "mail.example.com. 300 A 192.0.2.25",
        "api.example.com. 300 A 192.0.2.26");

    private static string Chromium => new[] { "/usr/lib/chromium/chromium", "/usr/bin/chromium" }.First(File.Exists);

    private static async Task<(IPlaywright, IBrowser, IPage, List<string> Errors)> OpenAsync()
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox", "--disable-gpu"] });
        var page = await browser.NewPageAsync(new() { IgnoreHTTPSErrors = true, ViewportSize = new() { Width = 1400, Height = 1300 } });
        var errors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") lock (errors) errors.Add($"{message.Text} ({message.Location})"); };
        page.PageError += (_, error) => { lock (errors) errors.Add(error); };
        return (playwright, browser, page, errors);
    }

    /// <summary>Opens a console page: the sign-in form comes first (the control API wants its token), then the page.</summary>
    private static async Task SignInAsync(IPage page, string url)
    {
        await page.GotoAsync(url);
        await page.WaitForSelectorAsync("#login:not([hidden])");
        await page.FillAsync("#token", ConsoleServer.Token);
        await page.ClickAsync("#login-form button[type=submit]");
        await page.WaitForSelectorAsync("#pages:not([hidden])");
    }

    private static string ScreenshotPath(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Ananas.slnx"))) dir = dir.Parent;
        var results = Path.Combine(dir?.FullName ?? Path.GetTempPath(), ".build", "test-results", "screenshots");
        Directory.CreateDirectory(results);
        return Path.Combine(results, name);
    }

    private static long RepliesIn(string metrics) => metrics.Split('\n')
        .Where(l => l.StartsWith("ananas_queries_total{", StringComparison.Ordinal))
        .Sum(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    [FactWhenInstalled("chromium", "chromium", "dnsperf", "dnsperf")]
    public async Task The_dashboard_loads_without_errors_and_its_charts_follow_the_counters_under_a_dnsperf_run()
    {
        await using var server = new ConsoleServer(World());
        var (playwright, browser, page, errors) = await OpenAsync();
        using var _ = playwright;
        await using var __ = browser;
        await SignInAsync(page, server.ControlUrl + "/");
        await page.WaitForFunctionAsync("() => window.ananasConsole.samples >= 2");

        var queries = Path.GetTempFileName();
        await File.WriteAllLinesAsync(queries, ["www.example.com A", "mail.example.com A", "api.example.com A", "www.example.com A"]);
        try
        {
            await EncryptedTransportTests.RunAsync("/usr/bin/dnsperf", $"-s 127.0.0.1 -p {server.Server.Udp.LocalEndPoint.Port} -d {queries} -l 3 -Q 400");
        }
        finally
        {
            File.Delete(queries);
        }
        // Load has stopped: two more polls and the page shows what /metrics says now.
        int samples = await page.EvaluateAsync<int>("() => window.ananasConsole.samples");
        await page.WaitForFunctionAsync($"() => window.ananasConsole.samples >= {samples + 2}");
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", ConsoleServer.Token);
        long metricsReplies = RepliesIn(await http.GetStringAsync(server.ControlUrl + "/metrics"));
        long pageReplies = long.Parse(await page.GetAttributeAsync("#tile-replies", "data-value") ?? "0", CultureInfo.InvariantCulture);
        double peakUdpQps = await page.EvaluateAsync<double>("() => Math.max(...window.ananasConsole.series['chart-transport:udp'].filter(v => v !== null))");
        double lastUdpQps = await page.EvaluateAsync<double>("() => window.ananasConsole.series['chart-transport:udp'].filter(v => v !== null).at(-1)");
        double peakHitRatio = await page.EvaluateAsync<double>("() => Math.max(...window.ananasConsole.series['chart-hit:hit %'].filter(v => v !== null))");
        int canvases = await page.Locator("#chart-transport canvas, #chart-latency canvas, #chart-hit canvas").CountAsync();
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#top-names tbody tr').length >= 3");
        string topName = await page.Locator("#top-names tbody tr td").First.InnerTextAsync();
        await page.ScreenshotAsync(new() { Path = ScreenshotPath("console-dashboard.png"), FullPage = true });

        Assert.True(metricsReplies >= 1000, $"dnsperf sent {metricsReplies} queries");
        Assert.InRange(pageReplies, metricsReplies * 0.99, metricsReplies);
        // -Q 400: the rate drawn rises to about that (a poll the browser delays makes the next interval short, so a
        // single point may overshoot) and falls back once the load stops, as a rate and not a running count does.
        Assert.InRange(peakUdpQps, 200, 4000);
        Assert.InRange(lastUdpQps, 0, 100);
        Assert.True(peakHitRatio > 90, $"hit ratio drawn {peakHitRatio}");
        Assert.Equal(3, canvases);
        Assert.Equal("www.example.com.", topName);
        lock (errors) Assert.Empty(errors);
    }

    [FactWhenInstalled("chromium", "chromium")]
    public async Task The_purge_form_purges_and_the_next_query_is_a_miss()
    {
        await using var server = new ConsoleServer(World());
        var udp = server.Server.Udp.LocalEndPoint;
        await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.com"));
        await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.com"));
        var counters = server.Server.Pipeline.Counters;
        Assert.Equal(1, counters.CacheHitCount);
        var (playwright, browser, page, errors) = await OpenAsync();
        using var _ = playwright;
        await using var __ = browser;

        await SignInAsync(page, server.ControlUrl + "/#cache");
        await page.FillAsync("#purge-name", "www.example.com");
        await page.FillAsync("#purge-type", "A");
        await page.ClickAsync("#purge-form button[type=submit]");
        await page.WaitForSelectorAsync("#purge-result[data-state=done]");
        string result = await page.InnerTextAsync("#purge-result");
        long missesBefore = counters.CacheMissCount;
        var reply = await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.com"));

        Assert.Contains("1 cached answer", result);
        Assert.Equal(Rcode.NoError, reply.Rcode);
        Assert.Equal(missesBefore + 1, counters.CacheMissCount);
        Assert.Equal(1, counters.CacheHitCount);
        lock (errors) Assert.Empty(errors);
    }

    [FactWhenInstalled("chromium", "chromium")]
    public async Task The_plugin_page_shows_a_loaded_wasm_plugin_and_reloads_it_into_a_new_version_that_still_answers()
    {
        var dir = Directory.CreateTempSubdirectory("ananas-console-plugin-");
        try
        {
            var malware = Path.Combine(dir.FullName, "malware.txt");
            await File.WriteAllTextAsync(malware, "bad.example.com\n");
            // The real families app (guests/families) in the sandbox, as `serve` loads it.
            await using var server = await ConsoleServer.WithPluginsAsync(World(), $"""
                [[plugin]]
                name = "families"
                module = "{PluginServer.App("families")}"
                [plugin.data]
                malware = "domains:{malware}"
                """);
            var udp = server.Server.Udp.LocalEndPoint;
            Assert.Equal("0.0.0.0", Assert.Single((await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("bad.example.com"))).Answers).Data.ToString());
            var (playwright, browser, page, errors) = await OpenAsync();
            using var _ = playwright;
            await using var __ = browser;

            await SignInAsync(page, server.ControlUrl + "/#plugins");
            await page.WaitForSelectorAsync("tr[data-plugin=families]");
            var loaded = server.Plugins!.List()[0];
            Assert.Equal("1", await page.InnerTextAsync("tr[data-plugin=families] td:nth-child(2)"));
            // The module's digest and the live instance count, as the sandbox reports them.
            Assert.Equal(loaded.ModuleSha256[..16], await page.InnerTextAsync("tr[data-plugin=families] td:nth-child(3)"));
            Assert.Equal(loaded.Instances.ToString(CultureInfo.InvariantCulture), await page.InnerTextAsync("tr[data-plugin=families] td:nth-child(4)"));
            await page.ClickAsync("tr[data-plugin=families] button");
            await page.WaitForSelectorAsync("#plugin-result[data-state=done]");
            await page.WaitForFunctionAsync("() => document.querySelector('tr[data-plugin=families] td:nth-child(2)').textContent === '2'");
            await page.ScreenshotAsync(new() { Path = ScreenshotPath("plugins.png"), FullPage = true });

            Assert.Equal(2, server.Plugins.List()[0].Version);
            Assert.Contains("families reloaded: version 2", await page.InnerTextAsync("#plugin-result"));
            // The new version is the one answering: it still blocks the listed name.
            Assert.Equal("0.0.0.0", Assert.Single((await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("bad.example.com"))).Answers).Data.ToString());
            lock (errors) Assert.Empty(errors);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [FactWhenInstalled("chromium", "chromium")]
    public async Task Help_shows_dns_over_https_for_the_browser_and_plain_dns_for_a_probe_over_udp()
    {
        await using var server = new ConsoleServer(World());
        var (playwright, browser, page, errors) = await OpenAsync();
        using var _ = playwright;
        await using var __ = browser;

        await page.GotoAsync($"https://127.0.0.1:{server.Help.LocalEndPoint.Port}/help");
        await page.WaitForFunctionAsync("() => document.getElementById('browser-protocol').textContent === 'DNS over HTTPS'");
        // The system resolver's probe, sent as a stub resolver would send it (the browser's own resolver is not this server).
        string nonce = await page.EvaluateAsync<string>("() => window.ananasHelp.nonce");
        await DnsTestClient.UdpAsync(server.Server.Udp.LocalEndPoint, DnsTestClient.Query($"{nonce}.os.ananas-help.internal", RRType.TXT));
        await page.WaitForFunctionAsync("() => document.getElementById('system-protocol').textContent === 'plain DNS (UDP)'");
        await page.ScreenshotAsync(new() { Path = ScreenshotPath("help.png"), FullPage = true });

        Assert.Equal("on", await page.InnerTextAsync("#validation"));
        Assert.Equal("node-7 / lab-east", await page.InnerTextAsync("#node"));
        Assert.Equal("127.0.0.1", await page.InnerTextAsync("#client-address"));
        // The image probe through the browser's resolver fails to load (the name has no address): not a page error.
        lock (errors) Assert.All(errors, e => Assert.Contains("ananas-help.internal", e));
    }
}

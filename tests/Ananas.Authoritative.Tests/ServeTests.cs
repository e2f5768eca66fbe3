using System.Diagnostics;
using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Tests.Lab;

namespace Ananas.Authoritative.Tests;

/// <summary>The authoritative role started from the configuration file, as an operator would: <c>ananas serve --config</c>.</summary>
public sealed class ServeTests
{
    [Fact]
    public async Task Serve_with_an_authoritative_store_in_the_config_answers_from_the_store_and_reports_auth_metrics()
    {
        var dir = StoreFixture.TempDirectory();
        Directory.CreateDirectory(dir);
        var zone = Path.Combine(dir, "example.test.zone");
        await File.WriteAllTextAsync(zone, "$ORIGIN example.test.\n@ 60 IN SOA ns h 1 2 3 4 5\n@ 60 IN NS ns\nns 60 IN A 192.0.2.1\nwww 60 IN A 192.0.2.80\n");
        Assert.Equal(0, await RunAsync(["auth", "import", zone, "--store", Path.Combine(dir, "store")]));
        var address = NsdHierarchy.FreeLoopbackAddress();
        int metricsPort = 20000 + Random.Shared.Next(20000);
        var config = Path.Combine(dir, "ananas.toml");
        await File.WriteAllTextAsync(config, $"""
            listen = ["udp://{address}:53", "tcp://{address}:53"]
            [access]
            allow = ["0.0.0.0/0"]
            [metrics]
            listen = "http://{address}:{metricsPort}"
            [authoritative]
            store = "{Path.Combine(dir, "store")}"
            version = "test-version"
            """);
        using var server = Process.Start(new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "ananas.dll"), "serve", "--config", config])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!await NsdHierarchy.AnswersAsync(address, DnsName.Parse("example.test.")))
            {
                if (server.HasExited) Assert.Fail(await server.StandardError.ReadToEndAsync() + await server.StandardOutput.ReadToEndAsync());
                Assert.True(DateTime.UtcNow < deadline, "ananas serve did not answer in time");
                await Task.Delay(200);
            }
            var answers = await DnsExchange.AskAllAsync(new IPEndPoint(address, 53), [("www.example.test.", RRType.A, true), ("nothere.example.test.", RRType.A, false)], tcp: false);
            Assert.True(answers[0]!.Has(HeaderFlags.AA));
            Assert.Equal("192.0.2.80", Assert.Single(answers[0]!.Answers).Data.ToString());
            Assert.Equal(Rcode.NXDomain, answers[1]!.Rcode);
            using var http = new HttpClient();
            // The metrics listener may come up after the DNS listener on a busy machine.
            string? metrics = null;
            while (metrics is null)
            {
                try
                {
                    metrics = await http.GetStringAsync($"http://{address}:{metricsPort}/metrics");
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(200);
                }
            }
            Assert.Contains("ananas_auth_answers_total{rcode=\"NXDOMAIN\"} 1", metrics);
            Assert.Contains("ananas_auth_zones 1", metrics);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    private static async Task<int> RunAsync(string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "ananas.dll"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return process.ExitCode;
    }
}

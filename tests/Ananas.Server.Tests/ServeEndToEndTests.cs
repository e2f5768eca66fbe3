using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ananas.Cli;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Hosting;
using Ananas.Server.Tests.Fakes;

namespace Ananas.Server.Tests;

/// <summary>
/// End to end (bounded, loopback only): the `serve` composition root runs in-process on random ports and answers
/// a client (dig when installed, else our own). No upstream is reachable by design: the root hints point at a
/// closed loopback port, so a recursion ends SERVFAIL quickly; errors and the ACL are answered locally.
/// </summary>
public sealed class ServeEndToEndTests
{
    [Fact]
    public async Task Serve_answers_over_udp_and_tcp_and_stops_on_cancel()
    {
        var hints = Path.GetTempFileName();
        await File.WriteAllTextAsync(hints, ". 3600000 NS a.root-servers.net.\na.root-servers.net. 3600000 A 127.0.0.1\n");
        int port = FreePorts.Tcp();
        var config = ServeCommand.BuildConfig(null, [$"udp://127.0.0.1:{port}", $"tcp://127.0.0.1:{port}"], hints, "16MiB", null);
        int metricsPort = FreePorts.Tcp();
        config.MetricsListen = $"http://127.0.0.1:{metricsPort}";
        config.ControlListen = "";
        config.QueryTimeout = TimeSpan.FromSeconds(2);
        config.UpstreamTimeout = TimeSpan.FromMilliseconds(200);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var started = new TaskCompletionSource<ResolverHost>();
        var run = ServeCommand.RunAsync(config, Console.Error, stop.Token, host => started.SetResult(host));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        try
        {
            var server = new IPEndPoint(IPAddress.Loopback, port);
            var udp = await DnsTestClient.UdpAsync(server, DnsTestClient.Query("example.com", id: 77, udpPayload: 1232));
            Assert.Equal(77, udp.Id);
            Assert.True(udp.Has(HeaderFlags.QR));
            Assert.Equal(Rcode.ServFail, udp.Rcode);
            var tcp = await DnsTestClient.TcpAsync(server, DnsTestClient.Query("example.com", id: 78));
            Assert.Equal(78, tcp.Id);
            // Special-use names are answered by default without going upstream (which here would be SERVFAIL).
            var localhost = await DnsTestClient.UdpAsync(server, DnsTestClient.Query("localhost", id: 79, udpPayload: 1232));
            Assert.Equal(Rcode.NoError, localhost.Rcode);
            Assert.Equal("127.0.0.1", Assert.Single(localhost.Answers).Data.ToString());
            var invalid = await DnsTestClient.TcpAsync(server, DnsTestClient.Query("printer.invalid", id: 80));
            Assert.Equal(Rcode.NXDomain, invalid.Rcode);
            using (var scraper = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
            {
                var metrics = await scraper.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
                Assert.Contains("ananas_queries_total{transport=\"udp\",rcode=\"SERVFAIL\"}", metrics);
                // The SERVFAIL's Extended DNS Error is counted by code, and the conductor's upstream attempts show.
                var ede = udp.Edns!.Options.OfType<ExtendedErrorOption>().First();
                Assert.Matches($"ananas_replies_ede_total{{ede=\"{(int)ede.InfoCode}\"}} [1-9]", metrics);
                Assert.Matches("ananas_upstream_queries_total [1-9]", metrics);
                Assert.Contains("# TYPE ananas_upstream_rtt_seconds histogram", metrics);
            }

            if (Dig() is { } dig)
            {
                var output = await RunAsync(dig, $"@127.0.0.1 -p {port} +tries=1 +time=4 example.com");
                Assert.Contains("status: SERVFAIL", output);
                Assert.Contains("example.com", output);
            }
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(15)));
            File.Delete(hints);
        }
    }

    [Fact]
    public async Task Serve_answers_over_dot_and_doh_with_a_generated_certificate()
    {
        var hints = Path.GetTempFileName();
        await File.WriteAllTextAsync(hints, ". 3600000 NS a.root-servers.net.\na.root-servers.net. 3600000 A 127.0.0.1\n");
        int dot = FreePorts.Tcp(), doh = FreePorts.Tcp();
        var config = ServeCommand.BuildConfig(null, [$"tls://127.0.0.1:{dot}", $"https://127.0.0.1:{doh}"], hints, "16MiB", null);
        config.MetricsListen = "";
        config.ControlListen = "";
        config.QueryTimeout = TimeSpan.FromSeconds(2);
        config.UpstreamTimeout = TimeSpan.FromMilliseconds(200);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var started = new TaskCompletionSource<ResolverHost>();
        var run = ServeCommand.RunAsync(config, Console.Error, stop.Token, host => started.SetResult(host));
        var host = await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        try
        {
            Assert.NotNull(host.Certificate);
            using var handler = new SocketsHttpHandler();
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
            using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
            var wire = DnsTestClient.Query("example.com", id: 0, udpPayload: 1232).ToArray();
            var dns = Convert.ToBase64String(wire).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            using var response = await client.GetAsync($"https://127.0.0.1:{doh}/dns-query?dns={dns}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var answer = DnsMessage.Parse(await response.Content.ReadAsByteArrayAsync());
            Assert.Equal(Rcode.ServFail, answer.Rcode);

            if (EncryptedTransportTests.Tool("kdig") is { } kdig)
            {
                var output = await EncryptedTransportTests.RunAsync(kdig, $"@127.0.0.1 -p {dot} +tls +timeout=4 +retry=0 example.com");
                Assert.Contains("status: SERVFAIL", output);
            }
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(15)));
            File.Delete(hints);
        }
    }

    private static string? Dig() =>
        new[] { "/usr/bin/dig", "/bin/dig", "/usr/local/bin/dig" }.FirstOrDefault(File.Exists);

    internal static async Task<string> RunAsync(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, UseShellExecute = false })!;
        var output = await process.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return output;
    }
}

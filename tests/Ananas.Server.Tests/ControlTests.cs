using System.Net;
using System.Text.Json;
using Ananas.Cli;
using Ananas.Dns;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Ananas.Server.Listeners;
using Microsoft.Extensions.Logging;
using Ananas.Server.Tests.Fakes;

namespace Ananas.Server.Tests;

/// <summary>The control API and its CLI client over loopback: purge (name, type, subtree), cache stats, status.</summary>
public sealed class ControlTests
{
    [Fact]
    public async Task Purge_through_the_cli_client_makes_the_next_query_a_miss_and_stats_and_status_answer()
    {
        await using var server = new TestServer(new FakeAuthority("www.example.test. 300 A 192.0.2.1", "www.example.test. 300 AAAA 2001:db8::1"));
        var tokenFile = NewTokenFile();
        await using var control = new ControlListener(new IPEndPoint(IPAddress.Loopback, 0), ControlToken.LoadOrCreate(tokenFile), server.Pipeline, server.Records, () => [server.Udp.Address]);
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
        Assert.Equal(0, await ControlCommands.CallAsync(HttpMethod.Post, url, tokenFile, "/cache/purge?name=www.example.test&type=AAAA", output, TextWriter.Null, CancellationToken.None));
        using (var doc = JsonDocument.Parse(output.ToString())) Assert.True(doc.RootElement.GetProperty("answers").GetInt32() >= 1);
        await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.test", id: 4));
        Assert.Equal(upstream, server.Authority.Queries);

        // Purge the subtree: the next A query goes upstream again.
        Assert.Equal(0, await ControlCommands.CallAsync(HttpMethod.Post, url, tokenFile, "/cache/purge?name=example.test&subtree=1", TextWriter.Null, TextWriter.Null, CancellationToken.None));
        var again = await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.test", id: 5));
        Assert.Equal("192.0.2.1", again.Answers.Single().Data.ToString());
        Assert.True(server.Authority.Queries > upstream);

        var stats = new StringWriter();
        Assert.Equal(0, await ControlCommands.CallAsync(HttpMethod.Get, url, tokenFile, "/cache/stats", stats, TextWriter.Null, CancellationToken.None));
        using (var doc = JsonDocument.Parse(stats.ToString()))
        {
            Assert.True(doc.RootElement.GetProperty("answers").GetProperty("EntryCount").GetInt64() >= 1);
            Assert.Equal(JsonValueKind.Object, doc.RootElement.GetProperty("records").ValueKind);
        }
        var status = new StringWriter();
        Assert.Equal(0, await ControlCommands.CallAsync(HttpMethod.Get, url, tokenFile, "/status", status, TextWriter.Null, CancellationToken.None));
        using (var doc = JsonDocument.Parse(status.ToString()))
        {
            Assert.Equal(5, doc.RootElement.GetProperty("frames").GetInt64());
            Assert.Equal(server.Udp.Address, doc.RootElement.GetProperty("listeners")[0].GetString());
        }

        var error = new StringWriter();
        Assert.Equal(1, await ControlCommands.CallAsync(HttpMethod.Post, url, tokenFile, "/cache/purge?name=www.example.test&type=BOGUS", TextWriter.Null, error, CancellationToken.None));
        Assert.Contains("400", error.ToString());
        Assert.Equal(1, await ControlCommands.CallAsync(HttpMethod.Get, "http://127.0.0.1:1", tokenFile, "/status", TextWriter.Null, error, CancellationToken.None));
        Assert.Contains("cannot reach the control API", error.ToString());
    }

    private static string NewTokenFile() => Path.Combine(TestStateDirectory.Path, Guid.NewGuid().ToString("N"), "control.token");

    private static async Task<ControlListener> StartControlAsync(TestServer server, string token, IPAddress? address = null, ILogger? logger = null)
    {
        var control = new ControlListener(new IPEndPoint(address ?? IPAddress.Loopback, 0), token, server.Pipeline, server.Records, logger: logger);
        control.Start();
        await Task.CompletedTask;
        return control;
    }

    private static async Task<HttpStatusCode> SendAsync(HttpMethod method, string url, string? token, Action<HttpRequestMessage>? headers = null)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(method, url);
        if (token is not null) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        headers?.Invoke(request);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task A_request_without_the_token_or_with_a_wrong_one_is_refused_with_401_and_purges_nothing()
    {
        await using var server = new TestServer(new FakeAuthority("www.example.test. 300 A 192.0.2.1"));
        string token = ControlToken.LoadOrCreate(NewTokenFile());
        await using var control = await StartControlAsync(server, token);
        string url = $"http://127.0.0.1:{control.LocalEndPoint.Port}";
        await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("www.example.test", id: 1));
        int upstream = server.Authority.Queries;

        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Post, $"{url}/cache/purge?name=.&subtree=1", null));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Post, $"{url}/cache/purge?name=.&subtree=1", token[..^1] + (token[^1] == 'A' ? 'B' : 'A')));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Get, $"{url}/status", "", r => r.Headers.TryAddWithoutValidation("Authorization", "Basic " + token)));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Get, $"{url}/status", token + token + token));
        await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("www.example.test", id: 2));
        Assert.Equal(upstream, server.Authority.Queries); // still a hit: nothing was purged

        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Post, $"{url}/cache/purge?name=.&subtree=1", token));
        await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("www.example.test", id: 3));
        Assert.True(server.Authority.Queries > upstream);
    }

    [Fact]
    public async Task A_request_from_a_foreign_origin_or_for_a_foreign_host_is_refused_with_403_even_with_the_token()
    {
        await using var server = new TestServer(new FakeAuthority("www.example.test. 300 A 192.0.2.1"));
        string token = ControlToken.LoadOrCreate(NewTokenFile());
        await using var control = await StartControlAsync(server, token);
        int port = control.LocalEndPoint.Port;
        string url = $"http://127.0.0.1:{port}";

        // CSRF: a page on another site posting to the API.
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Post, $"{url}/reload", token, r => r.Headers.Add("Origin", "https://evil.example")));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Post, $"{url}/cache/purge?name=.", token, r => r.Headers.Add("Origin", "null")));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Get, $"{url}/status", token, r => r.Headers.Add("Origin", $"http://127.0.0.1:{port + 1}")));
        // DNS rebinding: a name of the attacker's resolving to 127.0.0.1.
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Get, $"{url}/status", token, r => r.Headers.Host = $"rebind.evil.example:{port}"));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Get, $"{url}/status", token, r => r.Headers.Host = $"127.0.0.1:{port + 1}"));

        // The endpoint's own origin, and localhost, are this site.
        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Get, $"{url}/status", token, r => r.Headers.Add("Origin", url)));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Get, $"{url}/status", token, r => r.Headers.Host = $"localhost:{port}"));
    }

    [Fact]
    public async Task The_server_writes_an_owner_only_token_file_at_first_start_and_the_cli_commands_use_it()
    {
        var directory = Path.Combine(TestStateDirectory.Path, Guid.NewGuid().ToString("N"));
        var tokenFile = Path.Combine(directory, "control.token");
        int controlPort = FreePorts.Tcp(), dnsPort = FreePorts.Tcp();
        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), $"""
            listen = ["udp://127.0.0.1:{dnsPort}"]
            [metrics]
            listen = ""
            [control]
            listen = "http://127.0.0.1:{controlPort}"
            token-file = "{tokenFile}"
            """, "test.toml");
        Assert.False(File.Exists(tokenFile));
        await using (var host = new ResolverHost(config, new FakeAuthority(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance))
        {
            await host.StartAsync();
            Assert.Equal(tokenFile, host.ControlTokenPath);
            Assert.True(File.Exists(tokenFile));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenFile));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
            }
            var output = new StringWriter();
            Assert.Equal(0, await ControlCommands.CallAsync(HttpMethod.Get, $"http://127.0.0.1:{controlPort}", tokenFile, "/status", output, TextWriter.Null, CancellationToken.None));
            using (var doc = JsonDocument.Parse(output.ToString())) Assert.True(doc.RootElement.GetProperty("uptimeSeconds").GetInt64() >= 0);

            // Another token file (another server's): refused, and the command says why.
            var other = NewTokenFile();
            ControlToken.LoadOrCreate(other);
            var error = new StringWriter();
            Assert.Equal(1, await ControlCommands.CallAsync(HttpMethod.Post, $"http://127.0.0.1:{controlPort}", other, "/reload", TextWriter.Null, error, CancellationToken.None));
            Assert.Contains("401", error.ToString());
            Assert.Contains("was not accepted", error.ToString());
            error = new StringWriter();
            Assert.Equal(1, await ControlCommands.CallAsync(HttpMethod.Get, $"http://127.0.0.1:{controlPort}", Path.Combine(directory, "missing"), "/status", TextWriter.Null, error, CancellationToken.None));
            Assert.Contains("cannot read the control token", error.ToString());
            // A file that is not a token (here the configuration): a clear error, not a crash.
            var config2 = Path.Combine(directory, "not-a-token");
            await File.WriteAllTextAsync(config2, "[control]\nlisten = \"http://127.0.0.1:1\"\n");
            error = new StringWriter();
            Assert.Equal(1, await ControlCommands.CallAsync(HttpMethod.Get, $"http://127.0.0.1:{controlPort}", config2, "/status", TextWriter.Null, error, CancellationToken.None));
            Assert.Contains("does not hold a control token", error.ToString());
            await host.StopAsync(TimeSpan.FromSeconds(2));
        }

        // A restart keeps the token; a token file others can read is a configuration error.
        string first = File.ReadAllText(tokenFile).Trim();
        Assert.Equal(first, ControlToken.LoadOrCreate(tokenFile));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            var e = Assert.Throws<ConfigException>(() => new ResolverHost(config, new FakeAuthority(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance));
            Assert.Contains("control.token-file", e.Message);
            Assert.Contains("chmod 600", e.Message);
        }
    }

    [Fact]
    public async Task A_control_api_bound_outside_loopback_is_warned_about_and_one_on_loopback_is_not()
    {
        await using var server = new TestServer(new FakeAuthority());
        string token = ControlToken.LoadOrCreate(NewTokenFile());
        var loopbackLog = new ListLogger();
        await using (var control = await StartControlAsync(server, token, IPAddress.Loopback, loopbackLog)) { }
        Assert.DoesNotContain(loopbackLog.Entries, e => e.Level == LogLevel.Warning);

        var anyLog = new ListLogger();
        await using var exposed = await StartControlAsync(server, token, IPAddress.Any, anyLog);
        var warning = Assert.Single(anyLog.Entries, e => e.Level == LogLevel.Warning);
        Assert.Equal(ServerEvents.ControlExposed.Id, warning.Event.Id);
        Assert.Contains("outside loopback", warning.Message);
        // Still authenticated when reached over loopback.
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Get, $"http://127.0.0.1:{exposed.LocalEndPoint.Port}/status", null));
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, EventId Event, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries) Entries.Add((logLevel, eventId, formatter(state, exception)));
        }
    }
}

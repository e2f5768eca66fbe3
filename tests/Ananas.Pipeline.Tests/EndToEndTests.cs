using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Ananas.Cli;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Pipeline.Api;
using Ananas.Pipeline.Database;
using Ananas.Server.Configuration;
using Ananas.Tests.Lab;

namespace Ananas.Pipeline.Tests;

/// <summary>The single-node default, as an operator runs it: <c>ananas api serve</c> and <c>ananas auth serve</c> on one edge store.</summary>
public sealed class EndToEndTests
{
    [Fact]
    public async Task A_record_changed_through_the_api_is_answered_by_the_authoritative_server_from_the_local_edge_store()
    {
        string dir = TestDatabases.TempDirectory();
        string edge = Path.Combine(dir, "edge");
        var settings = ConfigLoader.Defaults();
        settings.ApiListen = "http://127.0.0.1:0";
        settings.ApiDatabase = "sqlite:" + Path.Combine(dir, "pipeline.db");
        settings.ApiEdgeStore = edge;
        var central = await CentralDatabase.OpenAsync(CentralDatabase.DialectFor(settings.ApiDatabase, ""), CancellationToken.None);
        var (_, token) = await central.CreateTokenAsync(null, CancellationToken.None);

        using var stop = new CancellationTokenSource();
        var apiStarted = new TaskCompletionSource<ApiServer>();
        var api = ApiCommand.RunAsync(settings, stop.Token, started: s => apiStarted.SetResult(s));
        var server = await apiStarted.Task.WaitAsync(TimeSpan.FromSeconds(20));
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseAddress) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        async Task<JsonElement> Send(HttpMethod method, string path, object body)
        {
            using var response = await http.SendAsync(new HttpRequestMessage(method, path) { Content = JsonContent(body) });
            var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            Assert.True(response.IsSuccessStatusCode, json.ToString());
            return json.GetProperty("result");
        }
        string zone = (await Send(HttpMethod.Post, "/zones", new { name = "example.test", name_servers = new[] { "ns1.example.net" } })).GetProperty("id").GetString()!;
        string www = (await Send(HttpMethod.Post, $"/zones/{zone}/dns_records", new { name = "www", type = "A", content = "192.0.2.1", ttl = 60 })).GetProperty("id").GetString()!;

        // The authoritative server in its own process, as deployed (LMDB must not be opened twice in one process).
        var address = NsdHierarchy.FreeLoopbackAddress();
        using var auth = Process.Start(new ProcessStartInfo("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "ananas.dll"), "auth", "serve", "--store", edge, "--listen", $"udp://{address}:53"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            Assert.True(await AnswerAsync(address, "192.0.2.1") == "192.0.2.1", auth.HasExited ? await auth.StandardError.ReadToEndAsync() : "no answer");

            await Send(HttpMethod.Patch, $"/zones/{zone}/dns_records/{www}", new { content = "192.0.2.99" });
            Assert.Equal("192.0.2.99", await AnswerAsync(address, "192.0.2.99"));
        }
        finally
        {
            auth.Kill(entireProcessTree: true);
            await auth.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            await stop.CancelAsync();
            await api.WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public async Task A_new_edge_store_given_to_a_restarted_api_server_catches_up_from_the_outbox()
    {
        string dir = TestDatabases.TempDirectory();
        var settings = ConfigLoader.Defaults();
        settings.ApiListen = "http://127.0.0.1:0";
        settings.ApiDatabase = "sqlite:" + Path.Combine(dir, "pipeline.db");
        var central = await CentralDatabase.OpenAsync(CentralDatabase.DialectFor(settings.ApiDatabase, ""), CancellationToken.None);
        var apex = DnsName.Parse("example.test.");
        var zone = (await central.CreateZoneAsync(apex, Records.ZoneText.NewZone(apex, ["ns1.example.net"], null).Value!, CancellationToken.None)).Value!;
        await central.AddRecordAsync(zone.Id, new Records.RecordInput("www", "A", "192.0.2.1", 60), CancellationToken.None);

        foreach (var store in new[] { "first", "second" })
        {
            settings.ApiEdgeStore = Path.Combine(dir, store);
            using var stop = new CancellationTokenSource();
            var started = new TaskCompletionSource<ApiServer>();
            var run = ApiCommand.RunAsync(settings, stop.Token, started: s => started.SetResult(s));
            await started.Task.WaitAsync(TimeSpan.FromSeconds(20));
            for (int i = 0; i < 200 && (await central.OutboxStateAsync(CancellationToken.None)).Waiting > 0; i++) await Task.Delay(25);
            await stop.CancelAsync();
            Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(20)));

            // Both stores hold everything: the second, new, got every entry again although all were marked published.
            using var edge = new Authoritative.Store.EdgeStore(settings.ApiEdgeStore);
            Assert.Equal(2, Authoritative.Changes.EdgeChangeApplier.AppliedSequence(edge));
            var text = new StringWriter();
            Assert.True(Authoritative.Zones.ZoneExporter.Export(edge, apex, text));
            Assert.Contains("192.0.2.1", text.ToString());
        }
    }

    private static StringContent JsonContent(object body) => new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");

    /// <summary>Asks www.example.test A until the answer is <paramref name="expected"/> (at most 30 s: the server may still be starting); returns the last answer.</summary>
    private static async Task<string?> AnswerAsync(IPAddress server, string expected)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(new IPEndPoint(server, 53));
        var buffer = new byte[4096];
        string? last = null;
        for (int attempt = 0; attempt < 300; attempt++)
        {
            var query = DnsMessage.CreateQuery((ushort)(attempt + 1), DnsName.Parse("www.example.test."), RRType.A, recursionDesired: false);
            await socket.SendAsync(query.ToArray(), SocketFlags.None);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            try
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                var answer = DnsMessage.Parse(buffer.AsSpan(0, n));
                last = answer.Answers.Count > 0 ? answer.Answers[0].Data.ToString() : answer.Rcode.ToString();
                if (last == expected) return last;
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                // Not listening yet (ICMP port unreachable), or no answer in time: ask again.
            }
            await Task.Delay(100);
        }
        return last;
    }
}

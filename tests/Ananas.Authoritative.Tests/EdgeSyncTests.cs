using Ananas.Authoritative.Changes;
using Ananas.Authoritative.Store;
using Ananas.Authoritative.Sync;
using Ananas.Tests.Lab;
using Ananas.Tests.Shared;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Ananas.Authoritative.Tests;

public sealed class EdgeSyncTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [FactWhenNatsInstalled]
    public async Task An_edge_applies_published_changes_in_order_and_resumes_after_downtime_from_where_it_stopped()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var publisher = new NatsEdgeChangePublisher(nats.Url);
        using var edge = new TempStore();
        var zone = new ZoneModel();
        await publisher.PublishAsync(zone.Replace(1), default);
        for (int i = 2; i <= 50; i++)
        {
            zone.SetTxt($"n{i % 7}.x", $"v{i}");
            await publisher.PublishAsync(zone.Set(i, $"n{i % 7}.x"), default);
        }
        await using (var sync = new NatsEdgeSync(edge.Store, nats.Url, "edge-a", null))
        {
            await RunUntil(sync, () => EdgeChangeApplier.AppliedSequence(edge.Store) == 50);
            Assert.Equal(50, sync.Counters.Applied);
        }
        AssertStoreHolds(zone, edge.Store);

        // While the edge is down, more changes; it comes back to exactly those, none applied twice.
        for (int i = 51; i <= 80; i++)
        {
            zone.SetA($"a{i % 5}", $"192.0.2.{i}");
            await publisher.PublishAsync(zone.Set(i, $"a{i % 5}"), default);
        }
        await using (var sync = new NatsEdgeSync(edge.Store, nats.Url, "edge-a", null))
        {
            await RunUntil(sync, () => EdgeChangeApplier.AppliedSequence(edge.Store) == 80);
            Assert.Equal(30, sync.Counters.Applied);
            Assert.Equal(0, sync.Counters.Skipped);
        }
        AssertStoreHolds(zone, edge.Store);
    }

    [FactWhenNatsInstalled]
    public async Task A_change_published_twice_is_stored_once_in_the_stream()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var publisher = new NatsEdgeChangePublisher(nats.Url);
        var zone = new ZoneModel();
        await publisher.PublishAsync(zone.Replace(1), default);
        await publisher.PublishAsync(zone.Replace(1), default);
        await publisher.PublishAsync(zone.Set(2, "@"), default);
        Assert.Equal(2, publisher.Published);
        await using var connection = new NatsConnection(new NatsOpts { Url = nats.Url });
        var stream = await new NatsJSContext(connection).GetStreamAsync(EdgeChangeStream.Name);
        Assert.Equal(2, stream.Info.State.Messages);
    }

    [FactWhenNatsInstalled]
    public async Task A_new_edge_loads_the_snapshot_then_reads_the_stream_from_the_first_change_after_it()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var publisher = new NatsEdgeChangePublisher(nats.Url);
        var zone = new ZoneModel();
        await publisher.PublishAsync(zone.Replace(1), default);
        EdgeSnapshot? snapshot = null;
        for (int i = 2; i <= 40; i++)
        {
            zone.SetTxt($"t{i % 9}", $"v{i}");
            await publisher.PublishAsync(zone.Set(i, $"t{i % 9}"), default);
            if (i == 23) snapshot = new EdgeSnapshot(23, [zone.Replace(23)]);
        }
        using var edge = new TempStore();
        await using var sync = new NatsEdgeSync(edge.Store, nats.Url, "edge-new", new FixedSnapshot(snapshot!));
        await RunUntil(sync, () => EdgeChangeApplier.AppliedSequence(edge.Store) == 40);
        Assert.Equal(1, sync.Counters.Bootstraps);
        Assert.Equal(17, sync.Counters.Applied); // 24..40: the stream was entered right after the snapshot
        Assert.Equal(0, sync.Counters.Skipped);
        AssertStoreHolds(zone, edge.Store);
    }

    [FactWhenNatsInstalled]
    public async Task A_corrupt_message_is_logged_and_skipped_and_the_changes_after_it_are_applied()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var publisher = new NatsEdgeChangePublisher(nats.Url);
        var zone = new ZoneModel();
        await publisher.PublishAsync(zone.Replace(1), default);
        await using (var raw = new NatsConnection(new NatsOpts { Url = nats.Url }))
        {
            var ack = await new NatsJSContext(raw).PublishAsync(EdgeChangeStream.Subject, new byte[] { 0x95, 0x02, 0xFF });
            ack.EnsureSuccess();
        }
        zone.SetTxt("after", "still applied");
        await publisher.PublishAsync(zone.Set(2, "after"), default);
        using var edge = new TempStore();
        var log = new ListLogger();
        await using var sync = new NatsEdgeSync(edge.Store, nats.Url, "edge-c", null, log);
        await RunUntil(sync, () => EdgeChangeApplier.AppliedSequence(edge.Store) == 2);
        Assert.Equal(1, sync.Counters.Rejected);
        Assert.Contains(log.Messages(LogLevel.Error), m => m.Contains("is not a change"));
        AssertStoreHolds(zone, edge.Store);
    }

    [FactWhenNatsInstalled]
    public async Task When_NATS_restarts_the_edge_reconnects_and_applies_what_was_published_after()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var publisher = new NatsEdgeChangePublisher(nats.Url);
        var zone = new ZoneModel();
        await publisher.PublishAsync(zone.Replace(1), default);
        using var edge = new TempStore();
        await using var sync = new NatsEdgeSync(edge.Store, nats.Url, "edge-r", null);
        using var stop = new CancellationTokenSource();
        var running = sync.RunAsync(stop.Token);
        await WaitFor(() => EdgeChangeApplier.AppliedSequence(edge.Store) == 1);
        await nats.RestartAsync(TimeSpan.FromMilliseconds(300));
        for (int i = 2; i <= 20; i++)
        {
            zone.SetTxt("r", $"v{i}");
            await PublishRetrying(publisher, zone.Set(i, "r"));
        }
        await WaitFor(() => EdgeChangeApplier.AppliedSequence(edge.Store) == 20);
        stop.Cancel();
        await running.WaitAsync(Patience);
        AssertStoreHolds(zone, edge.Store);
        var metrics = new System.Text.StringBuilder();
        sync.AppendMetrics(metrics);
        Assert.Contains("ananas_edge_applied_sequence 20", metrics.ToString());
    }

    [FactWhenNatsInstalled]
    public async Task A_client_of_the_change_stream_retries_a_NATS_server_that_is_down_several_times_a_second_but_not_in_a_tight_loop()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var client = new NatsConnection(EdgeChangeStream.Options(nats.Url, "reconnect-test"));
        await client.ConnectAsync();
        int failed = 0;
        client.ReconnectFailed += (_, _) =>
        {
            Interlocked.Increment(ref failed);
            return ValueTask.CompletedTask;
        };
        nats.Kill();
        await Task.Delay(TimeSpan.FromSeconds(4));
        int attempts = Volatile.Read(ref failed);
        // Down for 4 s: a backoff doubling from 100 ms to 2 s tries 5 times (the next after about 5 s); the
        // stream's clients wait a quarter second at most between attempts (about 15), so a server that comes back
        // is found within about that; and at least 50 ms, so never a tight loop. The lower bound leaves room for
        // attempts that take long themselves on a loaded machine.
        Assert.InRange(attempts, 9, 80);
        await nats.RestartAsync();
        var deadline = DateTime.UtcNow + Patience;
        while (client.ConnectionState != NatsConnectionState.Open)
        {
            Assert.True(DateTime.UtcNow < deadline, "the client did not reconnect");
            await Task.Delay(20);
        }
    }

    private static async Task PublishRetrying(NatsEdgeChangePublisher publisher, EdgeChange change)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await publisher.PublishAsync(change, default);
                return;
            }
            catch (Exception) when (attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task RunUntil(NatsEdgeSync sync, Func<bool> done)
    {
        using var stop = new CancellationTokenSource();
        var running = sync.RunAsync(stop.Token);
        try
        {
            await WaitFor(done);
        }
        finally
        {
            stop.Cancel();
            await running.WaitAsync(Patience);
        }
    }

    private static async Task WaitFor(Func<bool> done)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, "the edge did not get there in time");
            await Task.Delay(20);
        }
    }

    private static void AssertStoreHolds(ZoneModel zone, EdgeStore store)
    {
        using var reference = new TempStore();
        ZoneWriter.Replace(reference.Store, [zone.Image()]);
        TempStore.AssertSameTables(reference.Store, store, "edge store against a whole build of the zone");
    }

    private sealed class FixedSnapshot(EdgeSnapshot snapshot) : IEdgeSnapshotSource
    {
        public Task<EdgeSnapshot> FetchAsync(CancellationToken cancellationToken) => Task.FromResult(snapshot);
    }
}

/// <summary>The edge's sync as an operator turns it on: <c>[authoritative] sync</c> in the configuration file of <c>ananas serve</c>.</summary>
public sealed class EdgeSyncServeTests
{
    [FactWhenNatsInstalled]
    public async Task Serve_with_sync_in_the_config_answers_a_zone_published_on_the_stream_and_then_its_changes()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var publisher = new NatsEdgeChangePublisher(nats.Url);
        var zone = new ZoneModel("synced.test.");
        zone.SetA("www", "192.0.2.80");
        await publisher.PublishAsync(zone.Replace(1), default);
        var dir = StoreFixture.TempDirectory();
        Directory.CreateDirectory(dir);
        var address = NsdHierarchy.FreeLoopbackAddress();
        int metricsPort = 20000 + Random.Shared.Next(20000);
        var config = Path.Combine(dir, "ananas.toml");
        await File.WriteAllTextAsync(config, $"""
            listen = ["udp://{address}:53"]
            [metrics]
            listen = "http://{address}:{metricsPort}"
            [authoritative]
            store = "{Path.Combine(dir, "store")}"
            sync = "{nats.Url}"
            edge-id = "edge-serve"
            """);
        using var server = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "ananas.dll"), "serve", "--config", config])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            await AnswersAsync(server, address, "www.synced.test.", "192.0.2.80");
            zone.SetA("www", "192.0.2.81");
            await publisher.PublishAsync(zone.Set(2, "www"), default);
            await AnswersAsync(server, address, "www.synced.test.", "192.0.2.81");
            using var http = new HttpClient();
            var metrics = await http.GetStringAsync($"http://{address}:{metricsPort}/metrics");
            Assert.Contains("ananas_edge_applied_sequence 2", metrics);
            Assert.Contains("ananas_edge_changes_applied_total 2", metrics);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("sync = \"http://127.0.0.1:4222\"", "authoritative.sync")]
    [InlineData("edge-id = \"edge.one\"", "authoritative.edge-id")]
    [InlineData("snapshot-api = \"nats://127.0.0.1:4222\"", "authoritative.snapshot-api")]
    public void A_bad_sync_setting_is_an_error_naming_the_key(string line, string key)
    {
        var e = Assert.Throws<Ananas.Server.Configuration.ConfigException>(() =>
            Ananas.Server.Configuration.ConfigLoader.Apply(Ananas.Server.Configuration.ConfigLoader.Defaults(), $"[authoritative]\n{line}", "c.toml"));
        Assert.StartsWith($"c.toml:2: {key}: ", e.Message);
    }

    private static async Task AnswersAsync(System.Diagnostics.Process server, System.Net.IPAddress address, string name, string expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                var answers = await DnsExchange.AskAllAsync(new System.Net.IPEndPoint(address, 53), [(name, Ananas.Dns.RRType.A, true)], tcp: false);
                if (answers[0] is { } reply && reply.Answers.Count == 1 && reply.Answers[0].Data.ToString() == expected) return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Not listening yet.
            }
            if (server.HasExited) Assert.Fail(await server.StandardError.ReadToEndAsync() + await server.StandardOutput.ReadToEndAsync());
            Assert.True(DateTime.UtcNow < deadline, $"{name} was not answered {expected} in time");
            await Task.Delay(100);
        }
    }
}

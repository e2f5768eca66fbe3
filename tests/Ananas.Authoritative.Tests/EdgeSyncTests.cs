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

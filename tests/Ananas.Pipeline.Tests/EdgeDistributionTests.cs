using System.Net;
using System.Net.Sockets;
using Ananas.Authoritative.Answering;
using Ananas.Authoritative.Changes;
using Ananas.Authoritative.Store;
using Ananas.Authoritative.Sync;
using Ananas.Cli.Probe;
using Ananas.Pipeline.Changes;
using Ananas.Tests.Lab;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Pipeline.Tests;

/// <summary>The API's changes through NATS to edges, checked by <c>edge verify</c>'s comparison and timed by <c>probe</c>.</summary>
public sealed class EdgeDistributionTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [FactWhenNatsInstalled]
    public async Task Changes_made_through_the_API_reach_a_new_edge_over_NATS_and_verify_finds_no_difference_until_the_store_is_changed_behind_its_back()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var api = await ApiHarness.StartAsync();
        await using var stream = new NatsEdgeChangePublisher(nats.Url);
        await using var outbox = new OutboxPublisher(api.Database, stream, TimeSpan.FromMilliseconds(20), NullLogger.Instance);
        outbox.Start();
        string zone = await api.CreateZoneAsync("verify.test");
        await api.AddRecordAsync(zone, "www.verify.test", "A", "192.0.2.1");
        await api.AddRecordAsync(zone, "deep.a.b.verify.test", "TXT", "\"x\"");

        using var edge = new TempEdgeStore();
        using var snapshots = new HttpEdgeSnapshotSource(new Uri(api.Server.BaseAddress), api.Token);
        await using var sync = new NatsEdgeSync(edge.Store, nats.Url, "edge-verify", snapshots);
        using var stop = new CancellationTokenSource();
        var running = sync.RunAsync(stop.Token);
        try
        {
            await api.AddRecordAsync(zone, "mail.verify.test", "MX", "10 www.verify.test");
            long committed = (await api.Database.OutboxStateAsync(default)).Committed;
            await WaitFor(() => EdgeChangeApplier.AppliedSequence(edge.Store) >= committed);
            var snapshot = await snapshots.FetchAsync(default);
            Assert.Empty(StoreComparison.Compare(edge.Store, snapshot.Zones));

            // A change the database never made: verify names the zone, the owner and the type.
            var rogue = new EdgeChange(committed + 1000, EdgeChangeKind.SetNodes, Dns.DnsName.Parse("verify.test."), 0,
                [new EdgeNode(Dns.DnsName.Parse("www.verify.test."), [new StoredRRset(Dns.RRType.A, 300, [[192, 0, 2, 99]])])]);
            Assert.True(EdgeChangeApplier.Apply(edge.Store, rogue));
            var difference = Assert.Single(StoreComparison.Compare(edge.Store, snapshot.Zones));
            Assert.Equal("verify.test. www.verify.test. A: records or TTL differ", difference.ToString());
        }
        finally
        {
            stop.Cancel();
            await running.WaitAsync(Patience);
        }
    }

    [FactWhenNatsInstalled]
    public async Task A_pipelined_batch_lands_in_the_stream_once_each_and_in_sequence_order_also_when_its_first_part_was_stored_before()
    {
        await using var nats = await NatsServer.StartAsync();
        await using var stream = new NatsEdgeChangePublisher(nats.Url);
        var apex = Dns.DnsName.Parse("order.test.");
        var changes = new List<EdgeChange>();
        for (long n = 1; n <= 60; n++)
            changes.Add(new EdgeChange(n, EdgeChangeKind.SetNodes, apex, 0,
                [new EdgeNode(Dns.DnsName.Parse($"n{n}.order.test."), [new StoredRRset(Dns.RRType.A, 300, [[192, 0, 2, (byte)n]])])]));
        // A publisher that died after publishing 1..5 but before marking them publishes them again with the rest.
        for (int i = 0; i < 5; i++) await stream.PublishAsync(changes[i], default);

        var (published, failure) = await stream.PublishAllAsync(changes, default);

        Assert.Null(failure);
        Assert.Equal(60, published);
        Assert.Equal(60, stream.Published);
        await using var client = new NATS.Client.Core.NatsConnection(EdgeChangeStream.Options(nats.Url, "order-test"));
        var js = new NATS.Client.JetStream.NatsJSContext(client);
        var consumer = await js.CreateOrderedConsumerAsync(EdgeChangeStream.Name);
        var order = new List<long>();
        await foreach (var message in consumer.FetchAsync<byte[]>(new NATS.Client.JetStream.NatsJSFetchOpts { MaxMsgs = 100, Expires = TimeSpan.FromSeconds(2) }))
            order.Add(EdgeChange.Decode(message.Data).Sequence);
        Assert.Equal(Enumerable.Range(1, 60).Select(n => (long)n), order);
    }

    [Fact]
    public async Task The_probe_times_each_change_until_the_edge_answers_it_and_counts_an_edge_that_never_does_as_timed_out()
    {
        await using var api = await ApiHarness.StartAsync();
        using var edge = new TempEdgeStore();
        await using var local = new OutboxPublisher(api.Database, new LocalEdgePublisher(edge.Store), TimeSpan.FromMilliseconds(10), NullLogger.Instance);
        local.Start();
        await api.CreateZoneAsync("probe.test");
        using var server = new UdpAnswerer(new AuthoritativeAnswerer(edge.Store));
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // bound, never answers

        using var client = new ZoneApiClient(new Uri(api.Server.BaseAddress), api.Token);
        var probe = new PropagationProbe(client, "probe.test", "_probe", [new ProbeEdge("up", server.EndPoint), new ProbeEdge("silent", (IPEndPoint)silent.LocalEndPoint!)],
            TimeSpan.FromSeconds(1));
        var results = new List<ProbeResult>();
        probe.Measured = r =>
        {
            lock (results) results.Add(r);
        };
        using var stop = new CancellationTokenSource();
        var watching = probe.WatchAsync(stop.Token);
        for (int round = 1; round <= 3; round++)
        {
            await probe.ChangeAsync(round, default);
            await Task.Delay(200);
        }
        await WaitFor(() =>
        {
            lock (results) return results.Count(r => r.Edge == "up") == 3 && results.Count(r => r.Edge == "silent") == 3;
        });
        stop.Cancel();
        await watching.WaitAsync(Patience);
        lock (results)
        {
            Assert.All(results.Where(r => r.Edge == "up"), r => Assert.InRange(r.Seconds!.Value, 0, 1));
            Assert.All(results.Where(r => r.Edge == "silent"), r => Assert.Null(r.Seconds));
        }
        var metrics = probe.Metrics();
        Assert.Contains("ananas_propagation_seconds_count{edge=\"up\"} 3", metrics);
        Assert.Contains("ananas_propagation_seconds_count{edge=\"silent\"} 0", metrics);
        Assert.Contains("ananas_propagation_timeouts_total{edge=\"silent\"} 3", metrics);
    }

    [Fact]
    public async Task The_probe_asks_an_edge_nothing_while_no_change_is_on_its_way_to_it()
    {
        using var edge = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        edge.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // counts what arrives, answers nothing
        using var client = new ZoneApiClient(new Uri("http://127.0.0.1:9"), "unused"); // no change is sent
        var probe = new PropagationProbe(client, "probe.test", "_probe", [new ProbeEdge("idle", (IPEndPoint)edge.LocalEndPoint!)], TimeSpan.FromSeconds(1));
        using var stop = new CancellationTokenSource();
        var watching = probe.WatchAsync(stop.Token);
        await Task.Delay(500);
        stop.Cancel();
        await watching.WaitAsync(Patience);
        Assert.Equal(0, edge.Available);
    }

    private static async Task WaitFor(Func<bool> done)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, "not there in time");
            await Task.Delay(20);
        }
    }

    /// <summary>An edge store in a temp directory.</summary>
    private sealed class TempEdgeStore : IDisposable
    {
        private readonly string _directory = Path.Combine(Path.GetTempPath(), $"ananas-edge-{Guid.NewGuid():N}");

        public TempEdgeStore() => Store = new EdgeStore(_directory, 64L << 20);

        public EdgeStore Store { get; }

        public void Dispose()
        {
            Store.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>The store's answerer on a loopback UDP port (what <c>auth serve</c> does, without the server around it).</summary>
    private sealed class UdpAnswerer : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public UdpAnswerer(AuthoritativeAnswerer answerer)
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
            _loop = Task.Run(async () =>
            {
                var buffer = new byte[4096];
                var reply = new byte[4096];
                while (!_stop.IsCancellationRequested)
                {
                    try
                    {
                        var received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                        answerer.Refresh(); // a zone created a moment ago is answered at once
                        int n = answerer.Answer(buffer.AsSpan(0, received.ReceivedBytes), reply, 4096, out _);
                        if (n > 0) await _socket.SendToAsync(reply.AsMemory(0, n), SocketFlags.None, received.RemoteEndPoint);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            });
        }

        public IPEndPoint EndPoint { get; }

        public void Dispose()
        {
            _stop.Cancel();
            _loop.Wait(TimeSpan.FromSeconds(5));
            _socket.Dispose();
        }
    }
}

using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ananas.Server.Pipeline;
using Ananas.Server.Scheduling;
using Ananas.Server.Tests.Fakes;
using Xunit.Abstractions;

namespace Ananas.Server.Tests;

/// <summary>
/// End to end over loopback UDP (bounded to about 15 s): one client network floods unique-name misses at many
/// times the miss capacity; another network's modest, mixed traffic (half cache hits, half misses) must still be
/// answered, and about as fast as when the server is idle.
/// </summary>
[Collection(LoadSensitiveCollection.Name)]
public sealed class FairnessTests(ITestOutputHelper output)
{
    private const int Capacity = 16;
    private static readonly TimeSpan UpstreamDelay = TimeSpan.FromMilliseconds(20);

    /// <summary>A server whose authority knows w0..w99.test. and answers every question after the upstream delay.</summary>
    private static TestServer World(SchedulerOptions scheduler)
    {
        var warm = Enumerable.Range(0, 100).Select(i => $"w{i}.test. 300 A 192.0.2.{i % 250 + 1}").ToArray();
        var options = new PipelineOptions { Access = AccessList.Default /* includes 127.0.0.0/8 */, Scheduler = scheduler };
        return new TestServer(new FakeAuthority(warm).DelayAll(UpstreamDelay), options);
    }

    /// <summary>Group B's client, from 127.0.2.1, with w0..w99.test. already in the server's cache.</summary>
    private static async Task<SteadyClient> WarmedClientAsync(IPEndPoint endpoint)
    {
        var b = new SteadyClient(endpoint, IPAddress.Parse("127.0.2.1"));
        for (int i = 0; i < 100; i++) Assert.True(await b.WarmAsync($"w{i}.test."), $"warming w{i}.test. got no answer");
        return b;
    }

    [Fact]
    public async Task A_flooding_network_does_not_starve_a_modest_one()
    {
        await using var server = World(new SchedulerOptions { MaxInFlight = Capacity, MaxInFlightPerGroup = Capacity, Shed = ShedAction.Refuse });
        var endpoint = new IPEndPoint(IPAddress.Loopback, server.Udp.LocalEndPoint.Port);
        using var b = await WarmedClientAsync(endpoint);

        var unloaded = await b.RunAsync("idle", TimeSpan.FromSeconds(2), ratePerSecond: 50);

        using var stopFlood = new CancellationTokenSource();
        // About 6x the miss capacity: far past it, yet within what one receive thread drains on a loaded host (at
        // 10,000/s B's queries waited ~200 ms in the kernel's queue there, which measures the host, not the scheduler).
        var flooders = Enumerable.Range(1, 4).Select(i => Flood(endpoint, IPAddress.Parse($"127.0.1.{i}"), i, perSecond: 1250, stopFlood.Token)).ToArray();
        await Task.Delay(500); // let the flood fill the scheduler's queues first
        var loaded = await b.RunAsync("flood", TimeSpan.FromSeconds(5), ratePerSecond: 50);
        await stopFlood.CancelAsync();
        long floodSent = (await Task.WhenAll(flooders)).Sum();

        output.WriteLine($"flood: {floodSent} queries sent by 127.0.1.0/24 (capacity {Capacity} x {UpstreamDelay.TotalMilliseconds} ms = {Capacity * 1000 / UpstreamDelay.TotalMilliseconds} misses/s); shed {server.Pipeline.Scheduler!.ShedCount}");
        output.WriteLine($"B idle:  {unloaded}");
        output.WriteLine($"B flood: {loaded}");

        Assert.True(floodSent > 5 * Capacity * 1000 / UpstreamDelay.TotalMilliseconds * 5, $"the flood was too weak to matter: {floodSent} queries");
        Assert.True(server.Pipeline.Scheduler.ShedCount > 0, "the flood never overloaded the scheduler");
        Assert.True(loaded.AnswerRate >= 0.99, $"B answered {loaded.AnswerRate:P1} under the flood");
        // Hits and misses are judged apart: with a 50/50 mix the overall median sits on the boundary between
        // sub-millisecond hits and ~20 ms misses and flips on one query. Each baseline gets a 1 ms floor, so a
        // sub-millisecond idle hit time cannot make "2x" a meaningless microsecond bound (timer and scheduling
        // noise on a shared 2-core VM alone is that large).
        Assert.True(loaded.HitMedian <= 2 * Math.Max(unloaded.HitMedian, 1.0), $"B's hit median {loaded.HitMedian:F2} ms vs {unloaded.HitMedian:F2} ms idle");
        Assert.True(loaded.MissMedian <= 2 * Math.Max(unloaded.MissMedian, 1.0), $"B's miss median {loaded.MissMedian:F2} ms vs {unloaded.MissMedian:F2} ms idle");
        Assert.True(loaded.Median <= 2 * Math.Max(unloaded.Median, 1.0), $"B's median {loaded.Median:F2} ms vs {unloaded.Median:F2} ms idle");
    }

    [Fact]
    public async Task A_flooder_that_waits_for_replies_gets_none_for_its_shed_queries_and_another_networks_hits_stay_prompt()
    {
        // The default shed action (drop): a closed-loop flooder (like dnsperf: a new query for every reply, the
        // unanswered ones given up after 1 s) is held to its own timeout instead of being answered into sending more.
        await using var server = World(new SchedulerOptions { MaxInFlight = Capacity, MaxInFlightPerGroup = Capacity, MaxQueuedPerGroup = 64 });
        var endpoint = new IPEndPoint(IPAddress.Loopback, server.Udp.LocalEndPoint.Port);
        using var b = await WarmedClientAsync(endpoint);
        var unloaded = await b.RunAsync("idle", TimeSpan.FromSeconds(2), ratePerSecond: 50);

        using var stopFlood = new CancellationTokenSource();
        var flooder = ClosedLoopFlood(endpoint, IPAddress.Parse("127.0.1.1"), outstanding: 1000, stopFlood.Token);
        await Task.Delay(500);
        var loaded = await b.RunAsync("flood", TimeSpan.FromSeconds(4), ratePerSecond: 50);
        await stopFlood.CancelAsync();
        var (sent, replies) = await flooder;
        long shed = server.Pipeline.Scheduler!.ShedCount;

        output.WriteLine($"closed-loop flood: {sent} sent, {replies} replies, {shed} shed");
        output.WriteLine($"B idle:  {unloaded}");
        output.WriteLine($"B flood: {loaded}");
        Assert.True(shed > 1000, $"the flood was too weak to overload the scheduler: {shed} shed");
        Assert.True(replies <= sent - shed, $"{replies} replies to {sent} flood queries of which {shed} were shed");
        Assert.True(loaded.AnswerRate >= 0.99, $"B answered {loaded.AnswerRate:P1} under the flood");
        Assert.True(loaded.HitMedian <= 2 * Math.Max(unloaded.HitMedian, 1.0), $"B's hit median {loaded.HitMedian:F2} ms vs {unloaded.HitMedian:F2} ms idle");
    }

    /// <summary>
    /// Unique-name misses with <paramref name="outstanding"/> queries unanswered at most (a query with no reply after
    /// 1 s is given up), a new one sent as soon as there is room: the sent and reply counts.
    /// </summary>
    private static Task<(long Sent, long Replies)> ClosedLoopFlood(IPEndPoint server, IPAddress source, int outstanding, CancellationToken stop) =>
        Task.Factory.StartNew(() =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(source, 0));
            socket.Connect(server);
            socket.Blocking = false;
            var sink = new byte[2048];
            var waiting = new Queue<long>(); // send times, oldest first; a reply retires the oldest (names are all alike)
            long sent = 0, replies = 0;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    while (socket.Available > 0)
                    {
                        socket.Receive(sink);
                        replies++;
                        if (waiting.Count > 0) waiting.Dequeue();
                    }
                }
                catch (SocketException) { }
                long now = Stopwatch.GetTimestamp();
                while (waiting.Count > 0 && Stopwatch.GetElapsedTime(waiting.Peek(), now) > TimeSpan.FromSeconds(1)) waiting.Dequeue();
                while (waiting.Count < outstanding)
                {
                    var wire = DnsTestClient.Query($"c-{sent}.flood.", id: (ushort)sent).ToArray();
                    try { socket.Send(wire); } catch (SocketException) { }
                    waiting.Enqueue(now);
                    sent++;
                }
                Thread.Sleep(1);
            }
            return (sent, replies);
        }, stop, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Unique-name misses from one source address at a paced rate, on a dedicated thread; replies are read and ignored.</summary>
    private static Task<long> Flood(IPEndPoint server, IPAddress source, int index, int perSecond, CancellationToken stop) =>
        Task.Factory.StartNew(() =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(source, 0));
            socket.Connect(server);
            socket.Blocking = false;
            var sink = new byte[2048];
            long sent = 0;
            var clock = Stopwatch.StartNew();
            while (!stop.IsCancellationRequested)
            {
                long due = (long)(clock.Elapsed.TotalSeconds * perSecond);
                while (sent < due)
                {
                    var wire = DnsTestClient.Query($"f{index}-{sent}.flood.", id: (ushort)sent).ToArray();
                    try { socket.Send(wire); } catch (SocketException) { }
                    sent++;
                }
                try { while (socket.Available > 0) socket.Receive(sink); } catch (SocketException) { }
                Thread.Sleep(1);
            }
            return sent;
        }, stop, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public readonly record struct Result(int Sent, int Answered, double Median, double HitMedian, double MissMedian)
    {
        public double AnswerRate => Sent == 0 ? 0 : (double)Answered / Sent;

        public override string ToString() =>
            $"{Answered}/{Sent} answered ({AnswerRate:P1}), median {Median:F2} ms (hits {HitMedian:F2} ms, misses {MissMedian:F2} ms)";
    }

    /// <summary>One UDP socket bound to its own source address, sending at a steady rate and timing each reply by id.</summary>
    private sealed class SteadyClient : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private ushort _id;
        private int _miss;

        public SteadyClient(IPEndPoint server, IPAddress source)
        {
            _socket.Bind(new IPEndPoint(source, 0));
            _socket.Connect(server);
        }

        public async Task<bool> WarmAsync(string name)
        {
            var wire = DnsTestClient.Query(name, id: ++_id).ToArray();
            await _socket.SendAsync(wire);
            var buffer = new byte[2048];
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                return n >= 12 && BinaryPrimitives.ReadUInt16BigEndian(buffer) == _id;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        /// <summary>Alternates a warm name (a cache hit) and a new name (a miss) at <paramref name="ratePerSecond"/>.</summary>
        public async Task<Result> RunAsync(string label, TimeSpan duration, int ratePerSecond)
        {
            var pending = new ConcurrentDictionary<ushort, (long Sent, bool Hit)>();
            var hits = new List<double>();
            var misses = new List<double>();
            using var stopReceiving = new CancellationTokenSource();
            var receiver = Task.Run(async () =>
            {
                var buffer = new byte[2048];
                while (true)
                {
                    int n;
                    try { n = await _socket.ReceiveAsync(buffer, SocketFlags.None, stopReceiving.Token); }
                    catch (OperationCanceledException) { return; }
                    long now = Stopwatch.GetTimestamp();
                    if (n < 12) continue;
                    if (pending.TryRemove(BinaryPrimitives.ReadUInt16BigEndian(buffer), out var sent))
                    {
                        var list = sent.Hit ? hits : misses;
                        lock (list) list.Add(Stopwatch.GetElapsedTime(sent.Sent, now).TotalMilliseconds);
                    }
                }
            });

            int count = (int)(duration.TotalSeconds * ratePerSecond);
            var start = Stopwatch.GetTimestamp();
            for (int i = 0; i < count; i++)
            {
                var due = TimeSpan.FromSeconds((double)i / ratePerSecond) - Stopwatch.GetElapsedTime(start);
                if (due > TimeSpan.Zero) await Task.Delay(due);
                bool hit = i % 2 == 0;
                string name = hit ? $"w{i / 2 % 100}.test." : $"b-{label}-{_miss++}.test.";
                ushort id = ++_id;
                var wire = DnsTestClient.Query(name, id: id).ToArray();
                pending[id] = (Stopwatch.GetTimestamp(), hit);
                await _socket.SendAsync(wire);
            }
            // Anything not back 2 s after the last send counts as unanswered.
            await Task.Delay(TimeSpan.FromSeconds(2));
            await stopReceiving.CancelAsync();
            await receiver;
            lock (hits) lock (misses)
                return new Result(count, hits.Count + misses.Count, Median([.. hits, .. misses]), Median(hits), Median(misses));
        }

        private static double Median(List<double> values)
        {
            if (values.Count == 0) return double.NaN;
            values.Sort();
            return values[values.Count / 2];
        }

        public void Dispose() => _socket.Dispose();
    }
}

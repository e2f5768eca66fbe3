using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ananas.Resolver;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using Ananas.Server.Scheduling;
using Ananas.Server.Tests.Fakes;
using Xunit.Abstractions;

namespace Ananas.Server.Tests;

/// <summary>
/// The lanes that share running resolutions' CPU between client groups (<see cref="ResolutionLanes"/>): a group's
/// resumed work waits one turn, not behind another group's backlog of it, and nothing stays behind.
/// </summary>
public sealed class ResolutionLaneTests(ITestOutputHelper output)
{
    private static readonly ClientGroup Flooder = new(0, 1, 4);
    private static readonly ClientGroup Modest = new(0, 2, 4);

    [Fact]
    public async Task A_groups_one_item_runs_within_one_turn_of_a_flooding_groups_backlog_of_a_thousand()
    {
        var lanes = new ResolutionLanes(runners: 1);
        var flood = lanes.Enter(Flooder);
        var modest = lanes.Enter(Modest);
        var order = new ConcurrentQueue<string>();
        using var gate = new ManualResetEventSlim();
        var allRan = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int remaining = 1001;
        void Ran(string who)
        {
            order.Enqueue(who);
            if (Interlocked.Decrement(ref remaining) == 0) allRan.SetResult();
        }

        // The only runner is held by the flood's first item while the backlog and the modest group's item arrive.
        using var running = new ManualResetEventSlim();
        flood.Post(() => { running.Set(); gate.Wait(TimeSpan.FromSeconds(10)); Ran("flood"); });
        Assert.True(running.Wait(TimeSpan.FromSeconds(10)));
        for (int i = 1; i < 1000; i++) flood.Post(() => Ran("flood"));
        modest.Post(() => Ran("modest"));
        Assert.Equal(1000, lanes.Queued);
        gate.Set();
        await allRan.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var ran = order.ToList();
        output.WriteLine($"the modest item ran {ran.IndexOf("modest") + 1}th of {ran.Count}");
        Assert.Equal(2, ran.IndexOf("modest")); // after the running item and one more of the flood's
        Assert.Equal(0, lanes.Queued);
    }

    [Fact]
    public async Task A_lane_is_forgotten_once_its_resolutions_left_and_its_work_ran()
    {
        var lanes = new ResolutionLanes(runners: 2);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        for (int g = 0; g < 100; g++)
        {
            var lane = lanes.Enter(new ClientGroup(0, (ulong)g, 4));
            lanes.Enter(new ClientGroup(0, (ulong)g, 4)); // a second resolution of the same group shares the lane
            Assert.Same(lane, lanes.Enter(new ClientGroup(0, (ulong)g, 4)));
            lanes.Leave(lane);
            lanes.Leave(lane);
            int group = g;
            lane.Post(() => { if (group == 99) done.SetResult(); });
            lanes.Leave(lane); // the last resolution leaves while its work is still queued or running
        }
        await done.Task.WaitAsync(TimeSpan.FromSeconds(10));
        for (int i = 0; i < 100 && (lanes.Count > 0 || lanes.Queued > 0); i++) await Task.Delay(10);
        Assert.Equal(0, lanes.Count);
        Assert.Equal(0, lanes.Queued);
    }

    [Fact]
    public async Task Awaiting_in_a_lane_resumes_there_and_without_one_resumes_on_the_thread_pool()
    {
        var lanes = new ResolutionLanes(runners: 1);
        var lane = new CountingLane(lanes.Enter(Modest));
        async Task Run()
        {
            ResolutionLane.Current = lane;
            await ResolutionLane.Yield();
            await ResolutionLane.Reenter();
        }
        await Run().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, lane.Posts);
        Assert.Null(ResolutionLane.Current); // the lane flowed into Run only

        await ResolutionLane.Yield(); // no lane: the thread pool, like Task.Yield
        Assert.True(ResolutionLane.Reenter().IsCompleted); // no lane: nothing to wait for
    }

    private sealed class CountingLane(ResolutionLane inner) : ResolutionLane
    {
        public int Posts;

        public override void Post(Action continuation)
        {
            Posts++;
            inner.Post(continuation);
        }
    }
}

/// <summary>
/// Through the server over loopback UDP: one network's started misses are held up (each blocks its thread in the
/// upstream exchange); another network's miss must go on within a turn of the held-up work, not behind all of it.
/// </summary>
[Collection(LoadSensitiveCollection.Name)]
public sealed class LaneFairnessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_networks_miss_goes_on_within_one_turn_of_another_networks_backlog_of_started_resolutions()
    {
        using var gate = new ManualResetEventSlim(initialState: true);
        var authority = new FakeAuthority("w0.test. 300 A 192.0.2.1").HoldAll(gate);
        var options = new PipelineOptions { Access = AccessList.Default, Scheduler = new SchedulerOptions() };
        await using var server = new TestServer(authority, options);
        var endpoint = new IPEndPoint(IPAddress.Loopback, server.Udp.LocalEndPoint.Port);
        Assert.NotNull(await DnsTestClient.UdpRawAsync(endpoint, DnsTestClient.Query("w0.test.").ToArray())); // test.'s delegation is cached
        var scheduler = server.Pipeline.Scheduler!;
        int perGroup = scheduler.Options.MaxInFlightPerGroup;
        gate.Reset();

        using var flooder = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        flooder.Bind(new IPEndPoint(IPAddress.Parse("127.0.1.1"), 0));
        for (int i = 0; i < 2 * perGroup; i++) flooder.SendTo(DnsTestClient.Query($"f{i}.test.", id: (ushort)i).ToArray(), endpoint);
        // Bounded waits: the flood's group share started (the rest queued), its first exchanges blocked at the gate.
        for (int i = 0; i < 500 && (scheduler.InFlight < perGroup || authority.Held == 0); i++) await Task.Delay(10);
        Assert.Equal(perGroup, scheduler.InFlight);
        // When the other network's item was taken, counted in items taken by all runners: the lanes' decision,
        // whatever the thread that took it then waited for (a loaded host can deschedule it for a whole flood).
        var lanes = server.Pipeline.Lanes!;
        long bTakenAt = -1;
        authority.OnArrival = name =>
        {
            if (name.ToString() == "b.test." && ResolutionLane.Current is { } lane) Volatile.Write(ref bTakenAt, ResolutionLanes.TakenAt(lane));
        };
        var reply = DnsTestClient.UdpRawAsync(endpoint, DnsTestClient.Query("b.test.", id: 7).ToArray(), TimeSpan.FromSeconds(20));
        for (int i = 0; i < 500 && scheduler.InFlight == perGroup; i++) await Task.Delay(10);
        Assert.Equal(perGroup + 1, scheduler.InFlight); // the other network's miss started: no queue or cap held it
        // Started is counted just before its first item is posted to its lane; on a loaded host the gap can be
        // long enough for the flood to run many exchanges first. So wait for the item itself: waiting in its lane
        // beside the flood's, or already taken by a runner and at the gate.
        bool BPosted() => lanes.LanesWithWork >= 2 || authority.Arrived.Any(n => n.ToString() == "b.test.");
        for (int i = 0; i < 500 && !BPosted(); i++) await Task.Delay(10);
        Assert.True(BPosted());
        int heldBefore = authority.Held;
        long takenAtOpening = lanes.Taken;
        output.WriteLine($"at the gate's opening: {lanes.Queued} items queued in {lanes.LanesWithWork} lanes, {authority.Arrived.Count} exchanges arrived, {takenAtOpening} items taken");
        gate.Set();
        Assert.NotNull(await reply);

        var asked = authority.Asked.ToList();
        int position = asked.FindIndex(n => n.ToString() == "b.test.");
        long b = Volatile.Read(ref bTakenAt);
        output.WriteLine($"{heldBefore} flood exchanges were held; the other network's item was taken {b - takenAtOpening} after the opening, its exchange went on {position + 1}th of {asked.Count}");
        // With two lanes waiting, the other network's is at most second in the turn list (the flood's 60 queued
        // items do not go ahead of it): taken within two picks of the opening, or before it.
        Assert.NotEqual(-1, b);
        Assert.InRange(b - takenAtOpening, long.MinValue, 2);
    }
}

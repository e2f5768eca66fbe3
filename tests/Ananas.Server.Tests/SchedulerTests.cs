using Ananas.Server.Frames;
using Ananas.Server.Scheduling;

namespace Ananas.Server.Tests;

/// <summary>The deficit-round-robin miss scheduler, driven by a fake work source whose items finish when told.</summary>
public sealed class SchedulerTests
{
    private static readonly ClientGroup Flooder = new(0, 1, 4);
    private static readonly ClientGroup Modest = new(0, 2, 4);

    private sealed class WorkSource
    {
        public readonly List<(ClientGroup Group, int Id)> Started = [];
        public readonly List<(ClientGroup Group, int Id)> Shed = [];
        private readonly Queue<TaskCompletionSource> _running = new();

        public Task Run((ClientGroup Group, int Id) item)
        {
            Started.Add(item);
            var done = new TaskCompletionSource();
            _running.Enqueue(done);
            return done.Task;
        }

        /// <summary>Finishes the oldest running item (the scheduler then starts the next).</summary>
        public void FinishOne() => _running.Dequeue().SetResult();
    }

    [Fact]
    public void A_flooding_group_does_not_starve_a_modest_one()
    {
        var work = new WorkSource();
        var scheduler = new FairScheduler<(ClientGroup, int)>(new SchedulerOptions { MaxInFlight = 2, MaxInFlightPerGroup = 2, MaxQueued = 10_000, MaxQueuedPerGroup = 10_000 }, work.Run, work.Shed.Add);
        for (int i = 0; i < 1000; i++) scheduler.Enqueue(Flooder, (Flooder, i));
        for (int i = 0; i < 10; i++) scheduler.Enqueue(Modest, (Modest, i));

        for (int i = 0; i < 40; i++) work.FinishOne();

        // 42 served so far: the modest group's 10 were all served among the first ~22, alternating with the flood.
        var first22 = work.Started.Take(22).ToList();
        Assert.Equal(10, first22.Count(s => s.Group == Modest));
        Assert.Equal(10, work.Started.Count(s => s.Group == Modest));
        Assert.Empty(work.Shed);
        Assert.Equal(2, scheduler.InFlight);
    }

    [Fact]
    public void In_flight_per_group_is_capped()
    {
        var work = new WorkSource();
        var scheduler = new FairScheduler<(ClientGroup, int)>(new SchedulerOptions { MaxInFlight = 10, MaxInFlightPerGroup = 3 }, work.Run, work.Shed.Add);
        for (int i = 0; i < 20; i++) scheduler.Enqueue(Flooder, (Flooder, i));
        Assert.Equal(3, work.Started.Count);
        scheduler.Enqueue(Modest, (Modest, 0));
        Assert.Equal(4, work.Started.Count);
        Assert.Equal(Modest, work.Started[^1].Group);
    }

    [Fact]
    public void Under_overload_the_flooder_is_shed_first()
    {
        var work = new WorkSource();
        var scheduler = new FairScheduler<(ClientGroup, int)>(new SchedulerOptions { MaxInFlight = 1, MaxInFlightPerGroup = 1, MaxQueued = 20, MaxQueuedPerGroup = 1000 }, work.Run, work.Shed.Add);
        for (int i = 0; i < 30; i++) scheduler.Enqueue(Flooder, (Flooder, i));
        for (int i = 0; i < 5; i++) Assert.True(scheduler.Enqueue(Modest, (Modest, i)));

        Assert.NotEmpty(work.Shed);
        Assert.All(work.Shed, s => Assert.Equal(Flooder, s.Group));
        Assert.Equal(20, scheduler.Queued);

        for (int i = 0; i < 10; i++) work.FinishOne();
        Assert.Equal(5, work.Started.Count(s => s.Group == Modest));
    }

    [Fact]
    public void A_full_group_queue_sheds_that_groups_new_queries()
    {
        var work = new WorkSource();
        var scheduler = new FairScheduler<(ClientGroup, int)>(new SchedulerOptions { MaxInFlight = 1, MaxInFlightPerGroup = 1, MaxQueuedPerGroup = 5 }, work.Run, work.Shed.Add);
        for (int i = 0; i < 10; i++) scheduler.Enqueue(Flooder, (Flooder, i));
        // One running, five queued, four shed.
        Assert.Equal(4, work.Shed.Count);
        Assert.True(scheduler.Enqueue(Modest, (Modest, 0)));
    }

    [Fact]
    public void A_group_with_a_full_queue_is_shed_at_once_and_counted_while_another_group_still_gets_in()
    {
        var work = new WorkSource();
        var scheduler = new FairScheduler<(ClientGroup, int)>(new SchedulerOptions { MaxInFlight = 1, MaxInFlightPerGroup = 1, MaxQueuedPerGroup = 3 }, work.Run, work.Shed.Add);
        for (int i = 0; i < 4; i++) Assert.True(scheduler.Enqueue(Flooder, (Flooder, i))); // one running, three queued

        Assert.True(scheduler.ShedsAtOnce(Flooder));
        Assert.False(scheduler.ShedsAtOnce(Modest));
        Assert.Equal(1, scheduler.ShedCount);
        Assert.Empty(work.Shed); // the caller answers it: nothing was queued, so the scheduler has nothing to hand back
        Assert.Equal(3, scheduler.Queued);
    }

    [Fact]
    public void When_the_longest_queue_drains_below_another_the_other_loses_its_oldest_query_first()
    {
        var other = new ClientGroup(0, 3, 4);
        var work = new WorkSource();
        // One query runs at a time; the flooder's queue (6) is served down to 2 while the other group waits with 4.
        var scheduler = new FairScheduler<(ClientGroup, int)>(new SchedulerOptions { MaxInFlight = 1, MaxInFlightPerGroup = 1, MaxQueued = 100, MaxQueuedPerGroup = 100, Quantum = 100 }, work.Run, work.Shed.Add);
        for (int i = 0; i < 7; i++) scheduler.Enqueue(Flooder, (Flooder, i));
        for (int i = 0; i < 4; i++) scheduler.Enqueue(other, (other, i));
        for (int i = 0; i < 4; i++) work.FinishOne();
        Assert.Equal(6, scheduler.Queued);

        scheduler.Reconfigure(scheduler.Options with { MaxQueued = 6 });
        Assert.True(scheduler.Enqueue(Modest, (Modest, 0)));

        Assert.Equal([(other, 0)], work.Shed);
    }

    [Fact]
    public void Shedding_under_overload_does_not_scan_the_waiting_groups()
    {
        // 200,000 groups with one query waiting each and a full scheduler: each new group's query sheds the longest
        // queue's oldest. A scan of the groups per decision would be 2 × 10^10 steps here; buckets by length make it one.
        const int Groups = 200_000;
        int shed = 0;
        var scheduler = new FairScheduler<int>(new SchedulerOptions { MaxInFlight = 1, MaxInFlightPerGroup = 1, MaxQueued = Groups + 1, MaxQueuedPerGroup = 10 * Groups },
            _ => new TaskCompletionSource().Task, _ => shed++);
        var heavy = new ClientGroup(0, uint.MaxValue, 4);
        for (int i = 0; i < Groups + 2; i++) scheduler.Enqueue(heavy, i);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < Groups; i++) Assert.True(scheduler.Enqueue(new ClientGroup(0, (ulong)i, 4), i));
        clock.Stop();

        Assert.Equal(Groups, shed);
        Assert.Equal(Groups + 1, scheduler.Queued);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"200,000 shedding decisions took {clock.Elapsed}");
    }
}

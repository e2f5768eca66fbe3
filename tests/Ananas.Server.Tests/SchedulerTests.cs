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
}

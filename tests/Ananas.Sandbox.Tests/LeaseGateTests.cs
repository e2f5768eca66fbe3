namespace Ananas.Sandbox.Tests;

/// <summary>The instance lease gate: a bound on concurrent calls, waiters served in turn, cancellation leaks nothing.</summary>
public class LeaseGateTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_returned_lease_goes_to_the_waiter_not_to_the_free_count()
    {
        var gate = new LeaseGate(2);
        Assert.True(gate.TryTake());
        Assert.True(gate.TryTake());
        Assert.False(gate.TryTake());

        var first = gate.TakeAsync(CancellationToken.None).AsTask();
        var second = gate.TakeAsync(CancellationToken.None).AsTask();
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);

        gate.Return();
        Assert.True(await first.WaitAsync(Patience));
        Assert.False(second.IsCompleted);
        Assert.False(gate.TryTake());

        gate.Return();
        Assert.True(await second.WaitAsync(Patience));
        Assert.False(gate.TryTake());

        gate.Return();
        gate.Return();
        Assert.True(gate.TryTake());
        Assert.True(gate.TryTake());
        Assert.False(gate.TryTake());
    }

    [Fact]
    public async Task A_cancelled_waiter_holds_no_lease_and_the_next_return_is_not_lost()
    {
        var gate = new LeaseGate(1);
        Assert.True(gate.TryTake());
        using var cancel = new CancellationTokenSource();
        var cancelled = gate.TakeAsync(cancel.Token).AsTask();
        var waiting = gate.TakeAsync(CancellationToken.None).AsTask();
        cancel.Cancel();
        Assert.False(await cancelled.WaitAsync(Patience));

        // The lease skips the cancelled waiter and reaches the one still waiting; nothing is counted twice.
        gate.Return();
        Assert.True(await waiting.WaitAsync(Patience));
        Assert.False(gate.TryTake());
        gate.Return();
        Assert.True(gate.TryTake());
        Assert.False(gate.TryTake());
    }

    [Fact]
    public async Task Concurrent_holders_never_exceed_the_bound()
    {
        const int leases = 3;
        var gate = new LeaseGate(leases);
        int holders = 0, most = 0;
        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < 500; i++)
            {
                if (!gate.TryTake()) Assert.True(await gate.TakeAsync(CancellationToken.None));
                int now = Interlocked.Increment(ref holders);
                int seen;
                while ((seen = Volatile.Read(ref most)) < now && Interlocked.CompareExchange(ref most, now, seen) != seen) { }
                if (i % 7 == 0) await Task.Yield();
                Interlocked.Decrement(ref holders);
                gate.Return();
            }
        })).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.InRange(most, 1, leases);
        for (int i = 0; i < leases; i++) Assert.True(gate.TryTake());
        Assert.False(gate.TryTake());
    }

    [Fact]
    public async Task Waiters_beyond_the_queue_bound_are_refused_at_once_and_cancelled_ones_make_room()
    {
        var gate = new LeaseGate(1);
        Assert.True(gate.TryTake()); // a slow callback holds the only lease
        using var cancel = new CancellationTokenSource();
        var queued = Enumerable.Range(0, LeaseGate.MaxWaitersPerLease).Select(_ => gate.TakeAsync(cancel.Token).AsTask()).ToList();
        Assert.All(queued, t => Assert.False(t.IsCompleted));

        // One more: refused now, not queued behind the others.
        var refused = gate.TakeAsync(CancellationToken.None);
        Assert.True(refused.IsCompleted);
        Assert.False(await refused);

        // The queued callers give up: their places are freed for new waiters.
        await cancel.CancelAsync();
        Assert.All(await Task.WhenAll(queued), Assert.False);
        var next = gate.TakeAsync(CancellationToken.None).AsTask();
        Assert.False(next.IsCompleted);
        Assert.Equal(1, gate.Waiting);
        gate.Return();
        Assert.True(await next.WaitAsync(Patience));
    }
}

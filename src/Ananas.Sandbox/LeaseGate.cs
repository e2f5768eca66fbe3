namespace Ananas.Sandbox;

/// <summary>
/// At most N leases at once (a plugin version's instances), like a <see cref="SemaphoreSlim"/> but with a lock-free
/// path when a lease is free: taking and returning one is a compare-and-swap each, where the semaphore takes its
/// lock twice per call. Only callers that must wait take the lock; they wait asynchronously (no thread held). The
/// queue of waiters is bounded (<see cref="MaxWaitersPerLease"/> per lease): when a guest holds every lease (a slow
/// callback), the calls beyond it are refused at once instead of piling up, and cancelled waiters are pruned.
/// </summary>
internal sealed class LeaseGate(int leases)
{
    /// <summary>Waiters queued per lease before <see cref="TakeAsync"/> refuses: a burst waits, a flood does not.</summary>
    public const int MaxWaitersPerLease = 64;

    private readonly int _maxWaiters = Math.Max(1, leases) * MaxWaitersPerLease;

    private readonly object _gate = new();
    private readonly Queue<TaskCompletionSource<bool>> _waiters = new();
    private int _free = leases;
    private int _waiting;

    /// <summary>Takes a lease if one is free, without waiting.</summary>
    public bool TryTake()
    {
        int free;
        while ((free = Volatile.Read(ref _free)) > 0)
        {
            if (Interlocked.CompareExchange(ref _free, free - 1, free) == free) return true;
        }
        return false;
    }

    /// <summary>Waits for a lease; false when cancelled first (then no lease is held).</summary>
    public async ValueTask<bool> TakeAsync(CancellationToken cancellationToken)
    {
        if (TryTake()) return true;
        TaskCompletionSource<bool> waiter;
        lock (_gate)
        {
            if (_waiters.Count >= _maxWaiters && PruneCancelled() == 0) return false;
            waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter);
            // The count goes up before the free leases are read again (in HandOver); Return increments the free
            // leases before it reads the count: so either this waiter sees a returned lease, or Return sees it.
            Interlocked.Increment(ref _waiting);
            HandOver();
        }
        await using var registration = cancellationToken.Register(static w => ((TaskCompletionSource<bool>)w!).TrySetResult(false), waiter).ConfigureAwait(false);
        return await waiter.Task.ConfigureAwait(false);
    }

    /// <summary>Returns a lease: to the first waiter if any, else to the free count.</summary>
    public void Return()
    {
        Interlocked.Increment(ref _free);
        if (Volatile.Read(ref _waiting) == 0) return;
        lock (_gate) HandOver();
    }

    /// <summary>Waiters queued now (cancelled ones included until pruned).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Under the lock: drops waiters already completed (cancelled) from the queue; returns how many.</summary>
    private int PruneCancelled()
    {
        int before = _waiters.Count;
        for (int i = 0; i < before; i++)
        {
            var waiter = _waiters.Dequeue();
            if (waiter.Task.IsCompleted) Interlocked.Decrement(ref _waiting);
            else _waiters.Enqueue(waiter);
        }
        return before - _waiters.Count;
    }

    /// <summary>Under the lock: gives free leases to queued waiters; a waiter cancelled meanwhile gives its lease back.</summary>
    private void HandOver()
    {
        while (_waiters.Count > 0 && TryTake())
        {
            var waiter = _waiters.Dequeue();
            Interlocked.Decrement(ref _waiting);
            if (!waiter.TrySetResult(true)) Interlocked.Increment(ref _free);
        }
    }
}

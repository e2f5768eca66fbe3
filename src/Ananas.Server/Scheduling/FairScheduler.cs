using Ananas.Server.Frames;

namespace Ananas.Server.Scheduling;

/// <summary>
/// Shares recursion capacity fairly between client groups: one FIFO queue per group, served by deficit round
/// robin, with bounded queues and in-flight caps per group and overall. Under overload the group with the
/// longest queue is shed first (its oldest query, the likeliest to time out anyway), so a flood from one
/// network costs the others nothing but a turn. Only cache misses come here.
/// <para>
/// <c>run</c> starts an item and returns when it is finished (it must not do the work inline: the caller of
/// <see cref="Enqueue"/> may be a receive loop). <c>shed</c> is told of every item that will never run.
/// Both are called outside the scheduler's lock.
/// </para>
/// </summary>
public sealed class FairScheduler<T>
{
    private SchedulerOptions _options;
    private readonly Func<T, Task> _run;
    private readonly Action<T> _shed;
    private readonly Lock _lock = new();
    private readonly Dictionary<ClientGroup, GroupQueue> _groups = [];
    private readonly LinkedList<GroupQueue> _ring = [];
    private int _queued;
    private int _inFlight;
    private int _pumpRequests;
    private long _shedCount;

    public FairScheduler(SchedulerOptions options, Func<T, Task> run, Action<T> shed)
    {
        _options = options;
        _run = run;
        _shed = shed;
    }

    private sealed class GroupQueue(ClientGroup group)
    {
        public readonly ClientGroup Group = group;
        public readonly Queue<T> Items = new();
        public LinkedListNode<GroupQueue>? RingNode;
        public int InFlight;
        public int Deficit;
    }

    public int Queued => Volatile.Read(ref _queued);

    public SchedulerOptions Options => _options;

    /// <summary>
    /// New bounds (a config reload). Queued and running items stay; the new limits apply from the next decision, so
    /// a raised in-flight cap starts waiting items at once and a lowered one lets running items finish.
    /// </summary>
    public void Reconfigure(SchedulerOptions options)
    {
        lock (_lock) _options = options;
        Pump();
    }

    public int InFlight => Volatile.Read(ref _inFlight);

    public long ShedCount => Interlocked.Read(ref _shedCount);

    /// <summary>Queues <paramref name="item"/> for <paramref name="group"/>. False when it was shed instead.</summary>
    public bool Enqueue(ClientGroup group, T item)
    {
        T victim = default!;
        bool shedVictim = false;
        bool accepted = true;
        lock (_lock)
        {
            if (!_groups.TryGetValue(group, out var queue)) _groups[group] = queue = new GroupQueue(group);
            if (queue.Items.Count >= _options.MaxQueuedPerGroup)
            {
                accepted = false;
            }
            else if (_queued >= _options.MaxQueued)
            {
                var heaviest = Heaviest();
                if (heaviest is null || heaviest == queue || heaviest.Items.Count <= queue.Items.Count + 1)
                {
                    accepted = false;
                }
                else
                {
                    victim = heaviest.Items.Dequeue();
                    shedVictim = true;
                    _queued--;
                    if (heaviest.Items.Count == 0) Deactivate(heaviest);
                }
            }
            if (accepted)
            {
                queue.Items.Enqueue(item);
                _queued++;
                if (queue.RingNode is null) queue.RingNode = _ring.AddLast(queue);
            }
            else if (queue.Items.Count == 0 && queue.InFlight == 0)
            {
                _groups.Remove(group);
            }
        }
        if (shedVictim) Shed(victim);
        if (!accepted)
        {
            Shed(item);
            return false;
        }
        Pump();
        return true;
    }

    private void Shed(T item)
    {
        Interlocked.Increment(ref _shedCount);
        _shed(item);
    }

    /// <summary>The group with the longest queue (only looked for under overload).</summary>
    private GroupQueue? Heaviest()
    {
        GroupQueue? heaviest = null;
        foreach (var queue in _ring)
            if (heaviest is null || queue.Items.Count > heaviest.Items.Count) heaviest = queue;
        return heaviest;
    }

    private void Deactivate(GroupQueue queue)
    {
        if (queue.RingNode is not null)
        {
            _ring.Remove(queue.RingNode);
            queue.RingNode = null;
        }
        queue.Deficit = 0;
        if (queue.InFlight == 0) _groups.Remove(queue.Group);
    }

    /// <summary>Starts what capacity allows. One thread pumps at a time; requests meanwhile make it loop again.</summary>
    private void Pump()
    {
        if (Interlocked.Increment(ref _pumpRequests) > 1) return;
        do
        {
            while (TryTakeNext(out var queue, out var item)) Start(queue, item);
        }
        while (Interlocked.Decrement(ref _pumpRequests) > 0);
    }

    /// <summary>Deficit round robin over the groups with queued work and in-flight room.</summary>
    private bool TryTakeNext(out GroupQueue queue, out T item)
    {
        lock (_lock)
        {
            int skipped = 0;
            while (_inFlight < _options.MaxInFlight && _ring.First is { } node && skipped < _ring.Count)
            {
                var candidate = node.Value;
                if (candidate.InFlight >= _options.MaxInFlightPerGroup)
                {
                    // Capped: its turn passes (no deficit is banked while it waits).
                    _ring.RemoveFirst();
                    candidate.RingNode = _ring.AddLast(candidate);
                    skipped++;
                    continue;
                }
                if (candidate.Deficit <= 0) candidate.Deficit += _options.Quantum;
                item = candidate.Items.Dequeue();
                candidate.Deficit--;
                candidate.InFlight++;
                _inFlight++;
                _queued--;
                if (candidate.Items.Count == 0)
                {
                    _ring.RemoveFirst();
                    candidate.RingNode = null;
                    candidate.Deficit = 0;
                }
                else if (candidate.Deficit <= 0)
                {
                    // Turn over: to the back of the ring.
                    _ring.RemoveFirst();
                    candidate.RingNode = _ring.AddLast(candidate);
                }
                queue = candidate;
                return true;
            }
        }
        queue = null!;
        item = default!;
        return false;
    }

    private void Start(GroupQueue queue, T item)
    {
        Task task;
        try
        {
            task = _run(item);
        }
        catch (Exception e)
        {
            task = Task.FromException(e);
        }
        if (task.IsCompleted) Finished(queue);
        else task.ContinueWith(static (_, state) => ((Completion)state!).Run(), new Completion(this, queue), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private sealed class Completion(FairScheduler<T> scheduler, GroupQueue queue)
    {
        public void Run() => scheduler.Finished(queue);
    }

    private void Finished(GroupQueue queue)
    {
        lock (_lock)
        {
            queue.InFlight--;
            _inFlight--;
            if (queue.InFlight == 0 && queue.Items.Count == 0 && queue.RingNode is null) _groups.Remove(queue.Group);
        }
        Pump();
    }
}

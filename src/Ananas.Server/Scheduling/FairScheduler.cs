using Ananas.Server.Frames;

namespace Ananas.Server.Scheduling;

/// <summary>
/// Shares recursion capacity fairly between client groups: one FIFO queue per group, served by deficit round
/// robin, with bounded queues and in-flight caps per group and overall. Under overload the group with the
/// longest queue is shed first (its oldest query, the likeliest to time out anyway), so a flood from one
/// network costs the others nothing but a turn. Only cache misses come here. Every decision is O(1): groups with
/// queued work sit in buckets by queue length, so the longest queue is found without a scan, and a receive loop
/// can ask <see cref="ShedsAtOnce"/> before it copies a query it would only have to shed.
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
    // _byLength[n]: the groups with exactly n queued items (n ≥ 1), an intrusive list; _longest: the largest such n.
    private GroupQueue?[] _byLength = new GroupQueue?[64];
    private int _longest;
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
        public GroupQueue? PreviousOfLength, NextOfLength; // its neighbours in its _byLength bucket
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
                    Unlink(heaviest);
                    victim = heaviest.Items.Dequeue();
                    Link(heaviest);
                    shedVictim = true;
                    _queued--;
                    if (heaviest.Items.Count == 0) Deactivate(heaviest);
                }
            }
            if (accepted)
            {
                Unlink(queue);
                queue.Items.Enqueue(item);
                Link(queue);
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

    /// <summary>
    /// True when a query from <paramref name="group"/> would be shed if it were queued now (its queue is full, or
    /// the scheduler is and no longer queue can give way): the caller answers it as shed without copying it. Counted
    /// as shed. A race with other threads only means <see cref="Enqueue"/> decides instead.
    /// </summary>
    public bool ShedsAtOnce(ClientGroup group)
    {
        lock (_lock)
        {
            int length = _groups.TryGetValue(group, out var queue) ? queue.Items.Count : 0;
            bool sheds = length >= _options.MaxQueuedPerGroup;
            if (!sheds && _queued >= _options.MaxQueued)
            {
                var heaviest = Heaviest();
                sheds = heaviest is null || heaviest == queue || heaviest.Items.Count <= length + 1;
            }
            if (!sheds) return false;
        }
        Interlocked.Increment(ref _shedCount);
        return true;
    }

    /// <summary>A group with the longest queue, or null when nothing is queued.</summary>
    private GroupQueue? Heaviest() => _byLength[_longest];

    /// <summary>Takes a group out of its length bucket (before its queue changes length).</summary>
    private void Unlink(GroupQueue queue)
    {
        int length = queue.Items.Count;
        if (length == 0) return;
        if (queue.PreviousOfLength is { } before) before.NextOfLength = queue.NextOfLength;
        else _byLength[length] = queue.NextOfLength;
        if (queue.NextOfLength is { } after) after.PreviousOfLength = queue.PreviousOfLength;
        queue.PreviousOfLength = queue.NextOfLength = null;
    }

    /// <summary>Puts a group into the bucket of its new queue length, one more or one less than at <see cref="Unlink"/>.</summary>
    private void Link(GroupQueue queue)
    {
        int length = queue.Items.Count;
        // A length moves by one: when the longest bucket has emptied, the next longest is one below (or none is left).
        if (length == 0)
        {
            if (_longest > 0 && _byLength[_longest] is null) _longest--;
            return;
        }
        if (length >= _byLength.Length) Array.Resize(ref _byLength, Math.Max(length + 1, _byLength.Length * 2));
        var head = _byLength[length];
        queue.NextOfLength = head;
        if (head is not null) head.PreviousOfLength = queue;
        _byLength[length] = queue;
        if (length > _longest) _longest = length;
        else if (_byLength[_longest] is null) _longest--;
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
                Unlink(candidate);
                item = candidate.Items.Dequeue();
                Link(candidate);
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

using Ananas.Resolver;
using Ananas.Server.Frames;

namespace Ananas.Server.Scheduling;

/// <summary>
/// Shares the CPU of running resolutions fairly between client groups. Every resolution the scheduler starts runs
/// in its group's lane (<see cref="ResolutionLane.Current"/>), and its work after each wait (an upstream answer)
/// is queued there, not on the thread pool's shared first-come-first-served queue. At most <c>runners</c> (two per core by default)
/// thread-pool items serve the lanes, each taking one item from the next lane with work in round-robin order and
/// going back to the end of the thread pool's queue: a group with one item waiting runs within one turn of every
/// other group, however much a flooding group has queued, and the thread pool's queue holds at most
/// <c>runners</c> lane items, so callbacks behind them (socket answers) are not delayed by a backlog either.
/// Every operation is O(1); lanes exist while a resolution of their group runs or they hold work.
/// </summary>
public sealed class ResolutionLanes : IThreadPoolWorkItem
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ClientGroup, Lane> _lanes = [];
    private int _maxRunners;
    // The lanes with queued work, in turn order (an intrusive singly linked list: take at the head, append at the tail).
    private Lane? _head, _tail;
    private int _runners;
    private int _queued;
    private int _waitingLanes;
    private long _taken;

    /// <param name="runners">Items run at once (0: two per processor, so that a runner preempted or blocked in
    /// the kernel does not idle the lanes; a waiting group's item still runs within one turn of each).</param>
    public ResolutionLanes(int runners = 0)
    {
        _maxRunners = RunnersFor(runners);
    }

    private static int RunnersFor(int runners) => runners > 0 ? runners : 2 * Environment.ProcessorCount;

    /// <summary>A new runner count (a config reload): more start with the next item posted; fewer as running ones finish.</summary>
    public void Reconfigure(int runners)
    {
        lock (_lock) _maxRunners = RunnersFor(runners);
    }

    /// <summary>Items run at once at most.</summary>
    public int Runners => Volatile.Read(ref _maxRunners);

    /// <summary>Work items waiting in all lanes.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>Lanes with work waiting for a runner (the length of the turn list).</summary>
    public int LanesWithWork => Volatile.Read(ref _waitingLanes);

    /// <summary>Items taken by runners so far.</summary>
    public long Taken => Interlocked.Read(ref _taken);

    /// <summary>The value of <see cref="Taken"/> when <paramref name="lane"/>'s latest item was taken (0: none yet).</summary>
    public static long TakenAt(ResolutionLane lane) => Interlocked.Read(ref ((Lane)lane).TakenAt);

    /// <summary>Lanes that exist now (groups with a running resolution or queued work).</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _lanes.Count;
        }
    }

    /// <summary>The lane of <paramref name="group"/> for one resolution; pair with <see cref="Leave"/>.</summary>
    public ResolutionLane Enter(ClientGroup group)
    {
        lock (_lock)
        {
            if (!_lanes.TryGetValue(group, out var lane)) _lanes[group] = lane = new Lane(this, group);
            lane.Users++;
            return lane;
        }
    }

    /// <summary>A resolution that entered <paramref name="lane"/> has finished.</summary>
    public void Leave(ResolutionLane lane)
    {
        var own = (Lane)lane;
        lock (_lock)
        {
            own.Users--;
            if (own.Users == 0 && !own.Waiting) Forget(own);
        }
    }

    private void Forget(Lane lane)
    {
        if (_lanes.TryGetValue(lane.Group, out var current) && current == lane) _lanes.Remove(lane.Group);
    }

    private void Post(Lane lane, Action continuation)
    {
        bool start = false;
        lock (_lock)
        {
            lane.Items.Enqueue(continuation);
            _queued++;
            if (!lane.Waiting)
            {
                lane.Waiting = true;
                _waitingLanes++;
                if (_tail is null) _head = lane;
                else _tail.Next = lane;
                _tail = lane;
            }
            if (_runners < _maxRunners)
            {
                _runners++;
                start = true;
            }
        }
        if (start) ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>One runner's turn: the next lane's oldest item; then back to the end of the thread pool's queue while work remains.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        Action? work = null;
        lock (_lock)
        {
            if (_head is { } lane)
            {
                work = lane.Items.Dequeue();
                _queued--;
                lane.TakenAt = ++_taken;
                _head = lane.Next;
                lane.Next = null;
                if (_head is null) _tail = null;
                if (lane.Items.Count > 0)
                {
                    // Turn over: to the end of the round.
                    if (_tail is null) _head = lane;
                    else _tail.Next = lane;
                    _tail = lane;
                }
                else
                {
                    lane.Waiting = false;
                    _waitingLanes--;
                    if (lane.Users == 0) Forget(lane);
                }
            }
            else
            {
                _runners--;
            }
        }
        if (work is null) return;
        try
        {
            work();
        }
        finally
        {
            bool again;
            lock (_lock)
            {
                again = _head is not null && _runners <= _maxRunners;
                if (!again) _runners--;
            }
            if (again) ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    private sealed class Lane(ResolutionLanes owner, ClientGroup group) : ResolutionLane
    {
        public readonly ClientGroup Group = group;
        public readonly Queue<Action> Items = new();
        public int Users;
        public long TakenAt;
        public bool Waiting; // in the turn list
        public Lane? Next;

        public override void Post(Action continuation) => owner.Post(this, continuation);
    }
}

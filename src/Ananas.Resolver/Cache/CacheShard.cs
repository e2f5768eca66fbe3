using System.Collections.Concurrent;

namespace Ananas.Resolver.Cache;

/// <summary>
/// One shard of a <see cref="ShardedCache{TKey,TValue}"/>: a map that readers search without locking, a
/// lossy ring of recent reads, and a replacement policy (the subclass) that only the lock holder touches.
/// The shard's resident bytes never exceed <see cref="Capacity"/>: victims leave before a newcomer is
/// counted in.
/// </summary>
internal abstract class CacheShard<TKey, TValue> where TKey : notnull
{
    // Replay reads once half the ring is pending, so a busy shard rarely drops records.
    private const int DrainThreshold = ReadBuffer<CacheNode<TKey, TValue>>.Capacity / 2;

    private readonly Lock _gate = new();
    private readonly ReadBuffer<CacheNode<TKey, TValue>> _reads = new();
    private readonly long _staleRetentionTicks;

    // Written under the lock, read by statistics from any thread.
    private long _residentBytes;
    private long _count;
    private long _insertions;
    private long _evictions;
    private long _expirations;
    private long _removals;

    protected CacheShard(long capacity, TimeSpan staleRetention, IEqualityComparer<TKey> comparer)
    {
        Capacity = capacity;
        _staleRetentionTicks = staleRetention.Ticks;
        Map = new ConcurrentDictionary<TKey, CacheNode<TKey, TValue>>(comparer);
    }

    /// <summary>Resident entries only. Lock-free reads; writes under the shard lock.</summary>
    public ConcurrentDictionary<TKey, CacheNode<TKey, TValue>> Map { get; }

    public long Capacity { get; }

    public long ResidentBytes => Volatile.Read(ref _residentBytes);

    public long Count => Volatile.Read(ref _count);

    public long Insertions => Volatile.Read(ref _insertions);

    public long Evictions => Volatile.Read(ref _evictions);

    public long Expirations => Volatile.Read(ref _expirations);

    public long Removals => Volatile.Read(ref _removals);

    /// <summary>Reader side: note a hit without locking; replay pending reads if the lock is free right now.</summary>
    public void RecordRead(CacheNode<TKey, TValue> node, long nowTicks)
    {
        if (_reads.TryAdd(node) >= DrainThreshold && _gate.TryEnter())
        {
            try { DrainReads(nowTicks); }
            finally { _gate.Exit(); }
        }
    }

    /// <summary>Inserts or replaces; false when the entry is larger than the shard or already expired.</summary>
    public bool Set(CacheNode<TKey, TValue> node, long nowTicks)
    {
        lock (_gate)
        {
            DrainReads(nowTicks);
            bool wasResident = Map.TryGetValue(node.Key, out var old);
            if (wasResident)
            {
                // The old node stays visible to readers until the map points at the new one.
                Unlink(old!);
                AddResident(-old!.Cost, -1);
            }
            if (node.Cost > Capacity || node.ExpiresAtTicks <= nowTicks)
            {
                // Not admitted. Newer data said "do not cache", so the older answer must not outlive it.
                if (wasResident)
                {
                    Map.TryRemove(new KeyValuePair<TKey, CacheNode<TKey, TValue>>(old!.Key, old));
                    _removals++;
                }
                return false;
            }
            Admit(node, wasResident);
            AddResident(node.Cost, 1);
            Map[node.Key] = node;
            _insertions++;
            return true;
        }
    }

    public bool Remove(TKey key)
    {
        lock (_gate)
        {
            if (!Map.TryGetValue(key, out var node)) return false;
            RemoveResident(node);
            _removals++;
            return true;
        }
    }

    public int RemoveWhere(Func<TKey, TValue, bool> predicate)
    {
        lock (_gate)
        {
            List<CacheNode<TKey, TValue>>? doomed = null;
            foreach (var pair in Map)
            {
                if (predicate(pair.Key, pair.Value.Value)) (doomed ??= []).Add(pair.Value);
            }
            if (doomed is null) return 0;
            foreach (var node in doomed) RemoveResident(node);
            _removals += doomed.Count;
            return doomed.Count;
        }
    }

    /// <summary>Drops every entry expired beyond the stale retention; returns how many.</summary>
    public int RemoveExpired(long nowTicks)
    {
        lock (_gate)
        {
            long before = _expirations; // replaying reads may already remove some
            DrainReads(nowTicks);
            List<CacheNode<TKey, TValue>>? doomed = null;
            foreach (var pair in Map)
            {
                if (IsPastRetention(pair.Value, nowTicks)) (doomed ??= []).Add(pair.Value);
            }
            if (doomed is not null)
            {
                foreach (var node in doomed) RemoveResident(node);
                _expirations += doomed.Count;
            }
            return (int)(_expirations - before);
        }
    }

    /// <summary>Runs <paramref name="inspect"/> under the lock after replaying reads (tests check policy invariants).</summary>
    internal T Inspect<T>(Func<CacheShard<TKey, TValue>, T> inspect, long nowTicks)
    {
        lock (_gate)
        {
            DrainReads(nowTicks);
            return inspect(this);
        }
    }

    /// <summary>Promotes a resident node after a hit (ARC case I, LRU move-to-front).</summary>
    protected abstract void OnRead(CacheNode<TKey, TValue> node);

    /// <summary>Takes a resident node off the policy's lists without leaving a ghost.</summary>
    protected abstract void Unlink(CacheNode<TKey, TValue> node);

    /// <summary>
    /// Links a new node, first evicting (through <see cref="Evict"/>) until it fits. <paramref name="replacesResident"/>
    /// says the key was resident a moment ago (a refresh counts as a second reference).
    /// </summary>
    protected abstract void Admit(CacheNode<TKey, TValue> node, bool replacesResident);

    /// <summary>Called by the policy for a victim it has already taken off its lists.</summary>
    protected void Evict(CacheNode<TKey, TValue> victim)
    {
        Map.TryRemove(new KeyValuePair<TKey, CacheNode<TKey, TValue>>(victim.Key, victim));
        AddResident(-victim.Cost, -1);
        _evictions++;
    }

    private void RemoveResident(CacheNode<TKey, TValue> node)
    {
        Unlink(node);
        Map.TryRemove(new KeyValuePair<TKey, CacheNode<TKey, TValue>>(node.Key, node));
        AddResident(-node.Cost, -1);
    }

    private void AddResident(long bytes, long count)
    {
        Volatile.Write(ref _residentBytes, _residentBytes + bytes);
        Volatile.Write(ref _count, _count + count);
    }

    private bool IsPastRetention(CacheNode<TKey, TValue> node, long nowTicks) =>
        node.ExpiresAtTicks + _staleRetentionTicks <= nowTicks;

    private void DrainReads(long nowTicks)
    {
        while (_reads.TryTake(out var node))
        {
            // Evicted, purged or replaced since it was read.
            if (node!.List == CacheList.None) continue;
            if (IsPastRetention(node, nowTicks))
            {
                RemoveResident(node);
                _expirations++;
            }
            else
            {
                OnRead(node);
            }
        }
    }
}

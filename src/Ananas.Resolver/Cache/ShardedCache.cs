using System.Runtime.CompilerServices;

namespace Ananas.Resolver.Cache;

/// <summary>
/// The shared machinery of <see cref="ArcCache{TKey,TValue}"/> and <see cref="LruCache{TKey,TValue}"/>:
/// keys spread over power-of-two shards by hash, each shard an independent byte-bounded cache with
/// <c>capacity / shards</c> bytes, time from the injected clock, lock-free statistics.
/// </summary>
public abstract class ShardedCache<TKey, TValue> : IByteBoundedCache<TKey, TValue> where TKey : notnull
{
    private readonly CacheShard<TKey, TValue>[] _shards;
    private readonly int _shardMask;
    private readonly IEqualityComparer<TKey> _comparer;
    private readonly IClock _clock;
    private readonly ICacheCost<TKey, TValue> _cost;
    private readonly long _entryOverhead;
    private readonly StripedCounter _hits = new();
    private readonly StripedCounter _misses = new();
    private readonly StripedCounter _staleHits = new();

    private protected ShardedCache(CacheOptions options, IClock clock, ICacheCost<TKey, TValue> cost, IEqualityComparer<TKey>? comparer)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.CapacityBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.StaleRetention, TimeSpan.Zero);
        _clock = clock;
        _cost = cost;
        _comparer = comparer ?? EqualityComparer<TKey>.Default;
        _entryOverhead = CacheEntryOverhead.For<TKey>();
        int shardCount = options.ResolveShardCount();
        _shardMask = shardCount - 1;
        _shards = new CacheShard<TKey, TValue>[shardCount];
        long perShard = options.CapacityBytes / shardCount;
        for (int i = 0; i < shardCount; i++) _shards[i] = CreateShard(perShard, options.StaleRetention, _comparer);
        CapacityBytes = perShard * shardCount;
    }

    /// <summary>Capacity actually enforced: the configured capacity rounded down to a multiple of the shard count.</summary>
    public long CapacityBytes { get; }

    public int ShardCount => _shards.Length;

    /// <summary>Bytes of resident entries, summed over shards (each shard read on its own).</summary>
    public long ResidentBytes
    {
        get
        {
            long sum = 0;
            foreach (var shard in _shards) sum += shard.ResidentBytes;
            return sum;
        }
    }

    public long Count
    {
        get
        {
            long sum = 0;
            foreach (var shard in _shards) sum += shard.Count;
            return sum;
        }
    }

    /// <summary>What one entry is charged: the caller's cost plus the cache's own per-entry overhead.</summary>
    public long CostOf(TKey key, TValue value) => _cost.CostOf(key, value) + _entryOverhead;

    public bool TryGet(TKey key, out TValue value) =>
        Lookup(key, _clock.UtcNow.UtcTicks, 0, out value, out _) == CacheLookup.Fresh;

    public CacheLookup TryGet(TKey key, TimeSpan maxStale, out TValue value, out DateTimeOffset expiresAt)
    {
        var lookup = Lookup(key, _clock.UtcNow.UtcTicks, maxStale.Ticks, out value, out long expiresAtTicks);
        expiresAt = lookup == CacheLookup.Miss ? default : new DateTimeOffset(expiresAtTicks, TimeSpan.Zero);
        return lookup;
    }

    /// <summary>The hit path, for callers that already read the clock: one map probe, one ring append, one counter.</summary>
    internal CacheLookup Lookup(TKey key, long nowTicks, long maxStaleTicks, out TValue value, out long expiresAtTicks)
    {
        var shard = ShardFor(key);
        if (shard.Map.TryGetValue(key, out var node))
        {
            shard.RecordRead(node, nowTicks);
            expiresAtTicks = node.ExpiresAtTicks;
            value = node.Value;
            if (expiresAtTicks > nowTicks)
            {
                _hits.Increment();
                return CacheLookup.Fresh;
            }
            if (expiresAtTicks + maxStaleTicks > nowTicks)
            {
                _staleHits.Increment();
                return CacheLookup.Stale;
            }
        }
        _misses.Increment();
        value = default!;
        expiresAtTicks = 0;
        return CacheLookup.Miss;
    }

    /// <summary>
    /// As <see cref="Lookup"/> but without touching the hit and miss counters (a hit still informs the replacement
    /// policy): for callers that probe several keys per question and count questions themselves.
    /// </summary>
    internal CacheLookup LookupQuiet(TKey key, long nowTicks, long maxStaleTicks, out TValue value, out long expiresAtTicks)
    {
        var shard = ShardFor(key);
        if (shard.Map.TryGetValue(key, out var node))
        {
            expiresAtTicks = node.ExpiresAtTicks;
            if (expiresAtTicks + maxStaleTicks > nowTicks)
            {
                shard.RecordRead(node, nowTicks);
                value = node.Value;
                return expiresAtTicks > nowTicks ? CacheLookup.Fresh : CacheLookup.Stale;
            }
        }
        value = default!;
        expiresAtTicks = 0;
        return CacheLookup.Miss;
    }

    /// <summary>The resident entry for <paramref name="key"/>, expired or not, without counting or promoting it (for store-side checks).</summary>
    internal bool TryPeek(TKey key, out TValue value, out long expiresAtTicks)
    {
        if (ShardFor(key).Map.TryGetValue(key, out var node))
        {
            value = node.Value;
            expiresAtTicks = node.ExpiresAtTicks;
            return true;
        }
        value = default!;
        expiresAtTicks = 0;
        return false;
    }

    public bool Set(TKey key, TValue value, DateTimeOffset expiresAt)
    {
        var node = new CacheNode<TKey, TValue>(key, value, CostOf(key, value), expiresAt.UtcTicks);
        return ShardFor(key).Set(node, _clock.UtcNow.UtcTicks);
    }

    /// <summary>Stores an entry that lives <paramref name="timeToLive"/> from now (zero or less: not cached).</summary>
    public bool Set(TKey key, TValue value, TimeSpan timeToLive)
    {
        long now = _clock.UtcNow.UtcTicks;
        long expires = timeToLive <= TimeSpan.Zero ? now : now + Math.Min(timeToLive.Ticks, DateTimeOffset.MaxValue.UtcTicks - now);
        var node = new CacheNode<TKey, TValue>(key, value, CostOf(key, value), expires);
        return ShardFor(key).Set(node, now);
    }

    public bool Remove(TKey key) => ShardFor(key).Remove(key);

    public int RemoveWhere(Func<TKey, TValue, bool> predicate)
    {
        int removed = 0;
        foreach (var shard in _shards) removed += shard.RemoveWhere(predicate);
        return removed;
    }

    public int RemoveExpired()
    {
        long now = _clock.UtcNow.UtcTicks;
        int removed = 0;
        foreach (var shard in _shards) removed += shard.RemoveExpired(now);
        return removed;
    }

    public CacheStatistics GetStatistics()
    {
        long insertions = 0, evictions = 0, expirations = 0, removals = 0, bytes = 0, count = 0;
        foreach (var shard in _shards)
        {
            insertions += shard.Insertions;
            evictions += shard.Evictions;
            expirations += shard.Expirations;
            removals += shard.Removals;
            bytes += shard.ResidentBytes;
            count += shard.Count;
        }
        return new CacheStatistics(_hits.Read(), _misses.Read(), _staleHits.Read(), insertions, evictions, expirations, removals, bytes, count, CapacityBytes);
    }

    private protected abstract CacheShard<TKey, TValue> CreateShard(long capacity, TimeSpan staleRetention, IEqualityComparer<TKey> comparer);

    internal CacheShard<TKey, TValue> Shard(int index) => _shards[index];

    internal long NowTicks => _clock.UtcNow.UtcTicks;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private CacheShard<TKey, TValue> ShardFor(TKey key)
    {
        // Mix the hash so that shard choice and the map's own bucket choice use different bits.
        uint h = (uint)_comparer.GetHashCode(key);
        h ^= h >> 16;
        h *= 0x45D9F3B;
        h ^= h >> 16;
        return _shards[h & (uint)_shardMask];
    }
}

namespace Ananas.Resolver.Cache;

/// <summary>Which list of a shard's replacement policy a node is on.</summary>
internal enum CacheList : byte
{
    /// <summary>Unlinked: evicted, expired, purged or replaced. Readers may still hold it; drains ignore it.</summary>
    None,

    /// <summary>ARC: resident, seen once recently.</summary>
    T1,

    /// <summary>ARC: resident, seen at least twice recently.</summary>
    T2,

    /// <summary>ARC: ghost (key only) evicted from T1.</summary>
    B1,

    /// <summary>ARC: ghost (key only) evicted from T2.</summary>
    B2,

    /// <summary>Plain LRU: resident.</summary>
    Lru,
}

/// <summary>
/// One entry, resident or ghost. Key, value, cost and expiry never change after construction, so lock-free
/// readers that found the node in the map see a consistent entry; an update makes a new node. The links and
/// the list tag belong to the shard lock.
/// </summary>
internal sealed class CacheNode<TKey, TValue>(TKey key, TValue value, long cost, long expiresAtTicks)
{
    public readonly TKey Key = key;
    public readonly TValue Value = value;

    /// <summary>Bytes charged against the capacity (caller's cost plus <see cref="CacheEntryOverhead"/>).</summary>
    public readonly long Cost = cost;

    /// <summary>Absolute expiry in UTC ticks.</summary>
    public readonly long ExpiresAtTicks = expiresAtTicks;

    public CacheNode<TKey, TValue>? Previous;
    public CacheNode<TKey, TValue>? Next;
    public CacheList List;
}

namespace Ananas.Resolver.Cache;

/// <summary>A concurrent, byte-bounded, TTL-aware plain LRU with the same interface and machinery as <see cref="ArcCache{TKey,TValue}"/>.</summary>
public sealed class LruCache<TKey, TValue> : ShardedCache<TKey, TValue> where TKey : notnull
{
    public LruCache(CacheOptions options, IClock clock, ICacheCost<TKey, TValue> cost, IEqualityComparer<TKey>? comparer = null)
        : base(options, clock, cost, comparer)
    {
    }

    private protected override CacheShard<TKey, TValue> CreateShard(long capacity, TimeSpan staleRetention, IEqualityComparer<TKey> comparer) =>
        new LruShard<TKey, TValue>(capacity, staleRetention, comparer);
}

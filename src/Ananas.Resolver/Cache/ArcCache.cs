namespace Ananas.Resolver.Cache;

/// <summary>
/// A concurrent, byte-bounded, TTL-aware adaptive replacement cache: sharded ARC (see <see cref="ArcShard{TKey,TValue}"/>)
/// with lock-free lookups. Scans and one-hit wonders pass through T1 without flushing the entries that
/// were asked for repeatedly.
/// </summary>
public sealed class ArcCache<TKey, TValue> : ShardedCache<TKey, TValue> where TKey : notnull
{
    public ArcCache(CacheOptions options, IClock clock, ICacheCost<TKey, TValue> cost, IEqualityComparer<TKey>? comparer = null)
        : base(options, clock, cost, comparer)
    {
    }

    private protected override CacheShard<TKey, TValue> CreateShard(long capacity, TimeSpan staleRetention, IEqualityComparer<TKey> comparer) =>
        new ArcShard<TKey, TValue>(capacity, staleRetention, comparer);

    /// <summary>The lists and target of shard <paramref name="index"/>, read under its lock after replaying pending reads.</summary>
    internal ArcState GetShardState(int index) =>
        Shard(index).Inspect(static s => ((ArcShard<TKey, TValue>)s).State, NowTicks);
}

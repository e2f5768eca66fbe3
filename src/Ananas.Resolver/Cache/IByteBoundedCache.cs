namespace Ananas.Resolver.Cache;

/// <summary>
/// A concurrent cache bounded in bytes with absolute expiry per entry. Lookups take no lock and allocate
/// nothing; stores, removals and purges lock one shard (purges lock each shard in turn).
/// </summary>
public interface IByteBoundedCache<TKey, TValue> where TKey : notnull
{
    long CapacityBytes { get; }

    /// <summary>A fresh entry, or false (absent or expired).</summary>
    bool TryGet(TKey key, out TValue value);

    /// <summary>
    /// A fresh entry, or an expired one no more than <paramref name="maxStale"/> past its expiry (and
    /// still retained, see <see cref="CacheOptions.StaleRetention"/>). <paramref name="expiresAt"/> is the entry's expiry.
    /// </summary>
    CacheLookup TryGet(TKey key, TimeSpan maxStale, out TValue value, out DateTimeOffset expiresAt);

    /// <summary>
    /// Stores or replaces an entry that expires at <paramref name="expiresAt"/>. Returns false, and drops
    /// any older entry for the key, when the entry is already expired (a TTL of 0 is never cached) or
    /// larger than a shard.
    /// </summary>
    bool Set(TKey key, TValue value, DateTimeOffset expiresAt);

    bool Remove(TKey key);

    /// <summary>Removes every entry whose key and value satisfy <paramref name="predicate"/>; returns how many.</summary>
    int RemoveWhere(Func<TKey, TValue, bool> predicate);

    /// <summary>Removes entries expired beyond the stale retention; returns how many.</summary>
    int RemoveExpired();

    CacheStatistics GetStatistics();
}

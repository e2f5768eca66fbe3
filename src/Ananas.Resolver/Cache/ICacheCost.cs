namespace Ananas.Resolver.Cache;

/// <summary>
/// The bytes one entry's key and value occupy on the heap (arrays, strings, objects they own). The cache
/// adds its own per-entry bookkeeping (<see cref="CacheEntryOverhead"/>) on top, so this should count
/// only what the caller allocated for the entry.
/// </summary>
public interface ICacheCost<in TKey, in TValue>
{
    long CostOf(TKey key, TValue value);
}

/// <summary>The cache's own heap cost per entry, beyond what <see cref="ICacheCost{TKey,TValue}"/> reports.</summary>
public static class CacheEntryOverhead
{
    // An object header plus method table pointer on 64-bit .NET.
    private const int ObjectHeader = 16;

    /// <summary>
    /// The node (header, key, value reference, cost, expiry, two links, list tag), the map's node (header,
    /// key, value reference, next link, hash code) and the map's bucket slot. Counted from the field layout
    /// of <see cref="CacheNode{TKey,TValue}"/> and ConcurrentDictionary's node on 64-bit .NET.
    /// </summary>
    public static long For<TKey>()
    {
        long key = Math.Max(8, System.Runtime.CompilerServices.Unsafe.SizeOf<TKey>());
        long cacheNode = ObjectHeader + key + 8 /*value*/ + 8 /*cost*/ + 8 /*expiry*/ + 16 /*prev,next*/ + 8 /*list tag, padded*/;
        long mapNode = ObjectHeader + key + 8 /*value*/ + 8 /*next*/ + 8 /*hash, padded*/;
        return cacheNode + mapNode + 8 /*bucket*/;
    }
}

namespace Ananas.Resolver.Cache;

/// <summary>A point-in-time reading of a cache's counters (each counter is read on its own, not atomically with the rest).</summary>
public readonly record struct CacheStatistics(
    long Hits,
    long Misses,
    long StaleHits,
    long Insertions,
    long Evictions,
    long Expirations,
    long Removals,
    long ResidentBytes,
    long EntryCount,
    long CapacityBytes)
{
    public double HitRatio => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);
}

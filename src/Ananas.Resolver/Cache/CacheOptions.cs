namespace Ananas.Resolver.Cache;

/// <summary>Size, sharding and stale retention of an <see cref="ArcCache{TKey,TValue}"/> or <see cref="LruCache{TKey,TValue}"/>.</summary>
public sealed record CacheOptions
{
    /// <summary>256 MiB: the default budget of the DNS cache.</summary>
    public const long DefaultCapacityBytes = 256L * 1024 * 1024;

    /// <summary>Bytes of resident entries (keys, values and per-entry overhead) the cache never exceeds.</summary>
    public long CapacityBytes { get; init; } = DefaultCapacityBytes;

    /// <summary>
    /// Independent shards, each with its own lock, map and policy and <c>CapacityBytes / ShardCount</c> bytes.
    /// Rounded up to a power of two. 0 picks 4 × processors, clamped to 16–64.
    /// </summary>
    public int ShardCount { get; init; }

    /// <summary>
    /// How long an expired entry is kept so that it can be served stale (RFC 8767). Zero drops an entry
    /// as soon as it is seen expired.
    /// </summary>
    public TimeSpan StaleRetention { get; init; } = TimeSpan.Zero;

    internal int ResolveShardCount()
    {
        int n = ShardCount > 0 ? ShardCount : Math.Clamp(Environment.ProcessorCount * 4, 16, 64);
        return (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)n);
    }
}

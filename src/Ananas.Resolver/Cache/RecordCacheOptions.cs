namespace Ananas.Resolver.Cache;

/// <summary>Size, TTL bounds and stale retention of a <see cref="RecordCache"/>.</summary>
public sealed record RecordCacheOptions
{
    /// <summary>Bytes of cached RRsets and negative answers (see <see cref="RecordCost"/> for what an entry is charged). 256 MiB by default.</summary>
    public long CapacityBytes { get; init; } = CacheOptions.DefaultCapacityBytes;

    /// <summary>Shards of the underlying <see cref="ArcCache{TKey,TValue}"/> (0: chosen from the processor count).</summary>
    public int ShardCount { get; init; }

    /// <summary>TTLs below this are raised to it (Unbound <c>cache-min-ttl</c>). A TTL of 0 is still never stored.</summary>
    public TimeSpan MinTtl { get; init; } = TimeSpan.Zero;

    /// <summary>TTLs above this are capped.</summary>
    public TimeSpan MaxTtl { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Negative answers are cached at most this long (RFC 2308 §5).</summary>
    public TimeSpan MaxNegativeTtl { get; init; } = TimeSpan.FromHours(3);

    /// <summary>How long expired entries are kept so that they can be served stale (RFC 8767); zero when serve-stale is off.</summary>
    public TimeSpan StaleRetention { get; init; } = TimeSpan.Zero;

    /// <summary>The options a recursor with <paramref name="options"/> needs: its TTL bounds and, with serve-stale on, its stale window.</summary>
    public static RecordCacheOptions For(RecursorOptions options) => new()
    {
        CapacityBytes = options.CacheCapacityBytes,
        MinTtl = options.MinCacheTtl,
        MaxTtl = options.MaxCacheTtl,
        MaxNegativeTtl = options.MaxNegativeTtl,
        StaleRetention = options.ServeStale.Enabled ? options.ServeStale.MaxStale : TimeSpan.Zero,
    };
}

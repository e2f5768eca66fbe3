namespace Ananas.Resolver.Cache;

/// <summary>Settings of the <see cref="AnswerCache"/>.</summary>
public sealed record AnswerCacheOptions
{
    /// <summary>Size, sharding and stale retention of the underlying <see cref="ArcCache{TKey,TValue}"/>.</summary>
    public CacheOptions Storage { get; init; } = new();

    /// <summary>No response is kept longer than this, whatever its TTLs say.</summary>
    public TimeSpan MaxLifetime { get; init; } = TimeSpan.FromDays(1);

    /// <summary>The TTL written into stale answers (RFC 8767 §4 recommends 30 seconds).</summary>
    public uint StaleTtl { get; init; } = 30;
}

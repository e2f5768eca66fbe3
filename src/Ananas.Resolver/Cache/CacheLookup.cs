namespace Ananas.Resolver.Cache;

/// <summary>The outcome of a lookup that may accept stale data.</summary>
public enum CacheLookup : byte
{
    Miss,
    Fresh,

    /// <summary>Expired, but within the caller's stale window (RFC 8767 serve-stale).</summary>
    Stale,
}

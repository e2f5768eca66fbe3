using Ananas.Dns;
using Ananas.Resolver.Iteration;

namespace Ananas.Resolver.Cache;

/// <summary>
/// Resolution failures by client question (RFC 9520 §3): while an entry lives, the question is answered SERVFAIL from
/// here (EDE 13 Cached Error) instead of sending the same failing queries upstream again. Keyed by (QNAME, QTYPE, CD):
/// a validation failure must not be served to a client that asked for no validation. A small byte-bounded
/// <see cref="ArcCache{TKey,TValue}"/> of its own, so that a flood of failing random names cannot push data out of the
/// record cache. Thread-safe.
/// </summary>
public sealed class FailureCache
{
    /// <summary>RFC 9520 §3.2: failures are cached for at least one second.</summary>
    public static readonly TimeSpan MinimumLifetime = TimeSpan.FromSeconds(1);

    /// <summary>RFC 9520 §3.2: and for at most five minutes.</summary>
    public static readonly TimeSpan MaximumLifetime = TimeSpan.FromMinutes(5);

    private readonly ArcCache<FailureKey, ResolutionFailure> _cache;
    private readonly IClock _clock;

    public FailureCache(IClock clock, long capacityBytes = DefaultCapacityBytes)
    {
        _clock = clock;
        _cache = new ArcCache<FailureKey, ResolutionFailure>(new CacheOptions { CapacityBytes = capacityBytes, ShardCount = 4 }, clock, EntryCost.Instance);
    }

    /// <summary>4 MiB: tens of thousands of failing questions.</summary>
    public const long DefaultCapacityBytes = 4L * 1024 * 1024;

    /// <summary>Entries held.</summary>
    public long Count => _cache.Count;

    /// <summary>Clamps a configured lifetime into RFC 9520's bounds (zero stays zero: failure caching off).</summary>
    public static TimeSpan Bound(TimeSpan lifetime) =>
        lifetime <= TimeSpan.Zero ? TimeSpan.Zero : lifetime < MinimumLifetime ? MinimumLifetime : lifetime > MaximumLifetime ? MaximumLifetime : lifetime;

    /// <summary>The cached failure for the question, or null.</summary>
    public ResolutionFailure? Get(DnsName name, RRType type, bool checkingDisabled) =>
        _cache.TryGet(new FailureKey(name, type, checkingDisabled), out var failure) ? failure : null;

    /// <summary>Remembers that resolving the question failed, for <paramref name="lifetime"/> (bounded by <see cref="Bound"/>).</summary>
    public void Store(DnsName name, RRType type, bool checkingDisabled, ResolutionFailure failure, TimeSpan lifetime)
    {
        lifetime = Bound(lifetime);
        if (lifetime == TimeSpan.Zero) return;
        _cache.Set(new FailureKey(name, type, checkingDisabled), failure, _clock.UtcNow + lifetime);
    }

    /// <summary>Forgets the failure for the question (it has been answered since).</summary>
    public void Remove(DnsName name, RRType type, bool checkingDisabled) => _cache.Remove(new FailureKey(name, type, checkingDisabled));

    /// <summary>Removes the failures for <paramref name="name"/>, every type. Returns how many.</summary>
    public int Purge(DnsName name) => _cache.RemoveWhere((key, _) => key.Name.Equals(name));

    /// <summary>Removes the failures for (<paramref name="name"/>, <paramref name="type"/>). Returns how many.</summary>
    public int Purge(DnsName name, RRType type) => _cache.RemoveWhere((key, _) => key.Type == type && key.Name.Equals(name));

    /// <summary>Removes the failures for <paramref name="apex"/> and every name below it. Returns how many.</summary>
    public int PurgeSubtree(DnsName apex) => _cache.RemoveWhere((key, _) => key.Name.IsSubdomainOf(apex));

    private readonly record struct FailureKey(DnsName Name, RRType Type, bool CheckingDisabled);

    private sealed class EntryCost : ICacheCost<FailureKey, ResolutionFailure>
    {
        public static readonly EntryCost Instance = new();

        /// <summary>The key's name, the failure record and its text.</summary>
        public long CostOf(FailureKey key, ResolutionFailure value) => RecordCost.Of(key.Name) + 16 + 8 + 8 + 24 + 2L * value.Text.Length;
    }
}

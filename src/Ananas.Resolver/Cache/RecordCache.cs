using System.Runtime.InteropServices;
using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Cache;

/// <summary>
/// The recursor's RRset and negative cache: one byte-bounded, sharded <see cref="ArcCache{TKey,TValue}"/> (lock-free
/// reads, ARC replacement, 256 MiB by default) keyed by (owner, type, class, kind), so positive RRsets, NODATA and
/// NXDOMAIN entries and parent-side glue compete for one budget. Entries are charged their heap size
/// (<see cref="RecordCost"/>). RFC 2181 ranking on replacement; TTLs bounded by <see cref="RecordCacheOptions"/>;
/// TTL 0 never stored; expired entries kept for <see cref="RecordCacheOptions.StaleRetention"/> so that they can be
/// served stale (RFC 8767).
/// </summary>
/// <remarks>
/// Rank checks read the held entry, then store: two stores racing for one key may let the lower-ranked one win
/// until the next store, which is harmless (both are data the resolver accepted) and keeps stores lock-free up to
/// the one shard lock the ARC takes.
/// </remarks>
public sealed class RecordCache : IRecordCache
{
    private readonly IClock _clock;
    private readonly ArcCache<RecordKey, RecordEntry> _cache;
    private readonly long _minTtlSeconds;
    private readonly long _maxTtlSeconds;
    private readonly long _maxNegativeTtlSeconds;
    private readonly StripedCounter _hits = new();
    private readonly StripedCounter _misses = new();
    private readonly StripedCounter _staleHits = new();

    public RecordCache(IClock clock, TimeSpan? maxTtl = null, TimeSpan? maxNegativeTtl = null)
        : this(clock, new RecordCacheOptions
        {
            MaxTtl = maxTtl ?? TimeSpan.FromDays(1),
            MaxNegativeTtl = maxNegativeTtl ?? TimeSpan.FromHours(3),
        })
    {
    }

    public RecordCache(IClock clock, RecordCacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _clock = clock;
        Options = options;
        _maxTtlSeconds = (long)options.MaxTtl.TotalSeconds;
        _minTtlSeconds = Math.Min((long)options.MinTtl.TotalSeconds, _maxTtlSeconds);
        _maxNegativeTtlSeconds = (long)options.MaxNegativeTtl.TotalSeconds;
        var storage = new CacheOptions { CapacityBytes = options.CapacityBytes, ShardCount = options.ShardCount, StaleRetention = options.StaleRetention };
        _cache = new ArcCache<RecordKey, RecordEntry>(storage, clock, EntryCost.Instance, RecordKeyComparer.Instance);
        SecureNsec = new SecureNsecIndex(clock);
    }

    public SecureNsecIndex SecureNsec { get; }

    public RecordCacheOptions Options { get; }

    /// <summary>Entries held (expired ones within the stale retention included).</summary>
    public int Count => (int)_cache.Count;

    /// <summary>
    /// Lookups by the recursor's questions (<see cref="Get(DnsName, RRType, RRClass)"/> and <see cref="GetNegative(DnsName, RRType, RRClass)"/>;
    /// the ancestor probes behind them are not counted one by one), stale hits, and the ARC's evictions, bytes and entries.
    /// </summary>
    public CacheStatistics GetStatistics() =>
        _cache.GetStatistics() with { Hits = _hits.Read(), Misses = _misses.Read(), StaleHits = _staleHits.Read() };

    /// <summary>Drops entries expired beyond the stale retention. Returns how many.</summary>
    public int RemoveExpired() => _cache.RemoveExpired();

    public CachedRRset? Get(DnsName name, RRType type, RRClass @class) => Get(name, type, @class, TimeSpan.Zero);

    public CachedRRset? Get(DnsName name, RRType type, RRClass @class, TimeSpan maxStale)
    {
        var hit = Find(new RecordKey(name, type, @class, EntryKind.Positive), _clock.UtcNow.UtcTicks, maxStale.Ticks);
        CountLookup(hit);
        return hit;
    }

    public void Store(RRset rrset, TrustRank rank, ValidationState validation = ValidationState.Unchecked, IReadOnlyList<RrsigData>? signatures = null)
    {
        long now = _clock.UtcNow.UtcTicks;
        var key = new RecordKey(rrset.Name, rrset.Type, rrset.Class, EntryKind.Positive);
        if (HeldAbove(key, rank, now)) return;
        long ttl = PositiveTtl(rrset.Ttl);
        if (ttl == 0)
        {
            // "Use once": never cached, and older data for the key must not outlive it.
            _cache.Remove(key);
        }
        else
        {
            var (held, heldSignatures) = ForStorage(rrset, signatures ?? []);
            if (!_cache.Set(key, new RecordEntry(held, null, rank, validation, (uint)ttl) { Signatures = heldSignatures }, Expiry(now, ttl))) return;
        }
        // Data now exists (even if it may not be cached): a NODATA for this key or an NXDOMAIN for this very name is stale.
        RemoveIfNotAbove(key with { Kind = EntryKind.NoData }, rank, now);
        RemoveIfNotAbove(new RecordKey(rrset.Name, 0, rrset.Class, EntryKind.NameError), rank, now);
    }

    /// <summary>
    /// The RRset and RRSIGs as the cache keeps them: exact-size arrays instead of the growable lists a parse builds,
    /// and an expansion of a wildcard the cache holds with the same records and RRSIGs (RFC 4035 §5.3.4: the labels
    /// field is below the owner's label count, and the signatures are the wildcard's own) shares the wildcard's
    /// record and signature objects, so thousands of names under one wildcard do not each hold a copy of them.
    /// </summary>
    private (RRset RRset, IReadOnlyList<RrsigData> Signatures) ForStorage(RRset rrset, IReadOnlyList<RrsigData> signatures)
    {
        if (signatures.Count > 0 && signatures[0].Labels < rrset.Name.LabelCount && SameLabels(signatures)
            && _cache.TryPeek(new RecordKey(rrset.Name.GetAncestor(signatures[0].Labels).Prepend(WildcardLabel), rrset.Type, rrset.Class, EntryKind.Positive), out var wildcard, out _)
            && wildcard.RRset!.HasSameData(rrset) && SameSignatures(wildcard.Signatures, signatures))
            return (new RRset(rrset.Name, rrset.Type, rrset.Class, rrset.Ttl, wildcard.RRset.Data), wildcard.Signatures);
        var data = rrset.Data is RData[] ? rrset : new RRset(rrset.Name, rrset.Type, rrset.Class, rrset.Ttl, ExactArray(rrset.Data));
        return (data, signatures.Count == 0 ? [] : WithHeldSigners(rrset, signatures));
    }

    /// <summary>
    /// The RRSIGs in an exact-size array, each naming its signer (the zone) through a name the cache already holds
    /// with the very same octets: the owner at the zone's apex, else the owner of the zone's cached DNSKEY RRset. A
    /// zone's RRSIGs then share one signer name instead of each keeping its own copy from the message it came in.
    /// </summary>
    private IReadOnlyList<RrsigData> WithHeldSigners(RRset rrset, IReadOnlyList<RrsigData> signatures)
    {
        var held = ExactArray(signatures);
        for (int i = 0; i < held.Length; i++)
        {
            var sig = held[i];
            var signer = sig.SignerName;
            DnsName? shared = SameOctets(signer, rrset.Name) ? rrset.Name
                : _cache.TryPeek(new RecordKey(signer, RRType.DNSKEY, rrset.Class, EntryKind.Positive), out var keys, out _) && SameOctets(signer, keys.RRset!.Name) ? keys.RRset.Name
                : null;
            if (shared is null || ReferenceEquals(shared, signer)) continue;
            byte[] signature = MemoryMarshal.TryGetArray(sig.Signature, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
                ? segment.Array : sig.Signature.ToArray();
            held[i] = new RrsigData(sig.TypeCovered, sig.Algorithm, sig.Labels, sig.OriginalTtl, sig.Expiration, sig.Inception, sig.KeyTag, shared, signature);
        }
        return held;
    }

    /// <summary>The same name in the same letter case (what a client is shown must not change).</summary>
    private static bool SameOctets(DnsName a, DnsName b) => a.Wire.SequenceEqual(b.Wire);

    private static T[] ExactArray<T>(IReadOnlyList<T> items)
    {
        var array = new T[items.Count];
        for (int i = 0; i < array.Length; i++) array[i] = items[i];
        return array;
    }

    private static ReadOnlySpan<byte> WildcardLabel => "*"u8;

    private static bool SameLabels(IReadOnlyList<RrsigData> signatures)
    {
        for (int i = 1; i < signatures.Count; i++)
            if (signatures[i].Labels != signatures[0].Labels) return false;
        return true;
    }

    /// <summary>The same RRSIGs (by value, in any order; sets hold no duplicates).</summary>
    private static bool SameSignatures(IReadOnlyList<RrsigData> held, IReadOnlyList<RrsigData> signatures)
    {
        if (held.Count != signatures.Count) return false;
        for (int i = 0; i < signatures.Count; i++)
        {
            bool found = false;
            for (int j = 0; j < held.Count && !found; j++) found = held[j].Equals(signatures[i]);
            if (!found) return false;
        }
        return true;
    }

    public void StoreParentSideGlue(RRset glue)
    {
        long ttl = PositiveTtl(glue.Ttl);
        var key = new RecordKey(glue.Name, glue.Type, glue.Class, EntryKind.ParentSideGlue);
        if (ttl == 0) { _cache.Remove(key); return; }
        _cache.Set(key, new RecordEntry(glue, null, TrustRank.Additional, ValidationState.Unchecked, (uint)ttl), Expiry(_clock.UtcNow.UtcTicks, ttl));
    }

    public void StoreParentSideNameServers(RRset ns)
    {
        long now = _clock.UtcNow.UtcTicks;
        long ttl = PositiveTtl(ns.Ttl);
        var key = new RecordKey(ns.Name, RRType.NS, ns.Class, EntryKind.ParentSideDelegation);
        if (ttl == 0) { _cache.Remove(key); return; }
        _cache.Set(key, new RecordEntry(ns, null, TrustRank.NonAuthoritativeAuthority, ValidationState.Unchecked, (uint)ttl), Expiry(now, ttl));
        // The child's NS RRset outranks the referral's (RFC 2181 §5.4.1) but must not outlive a change at the parent.
        var childKey = new RecordKey(ns.Name, RRType.NS, ns.Class, EntryKind.Positive);
        if (_cache.TryPeek(childKey, out var held, out _) && !held.RRset!.HasSameData(ns))
            _cache.Set(childKey, new RecordEntry(ns, null, TrustRank.NonAuthoritativeAuthority, ValidationState.Unchecked, (uint)ttl), Expiry(now, ttl));
    }

    public CachedRRset? GetParentSideGlue(DnsName name, RRType type, RRClass @class) =>
        Find(new RecordKey(name, type, @class, EntryKind.ParentSideGlue), _clock.UtcNow.UtcTicks, 0);

    public CachedNegative? GetNegative(DnsName name, RRType type, RRClass @class) => GetNegative(name, type, @class, TimeSpan.Zero);

    public CachedNegative? GetNegative(DnsName name, RRType type, RRClass @class, TimeSpan maxStale)
    {
        long now = _clock.UtcNow.UtcTicks;
        var result = FindNegative(name, type, @class, now, maxStale.Ticks);
        if (result is null) _misses.Increment();
        else if (result.Stale) _staleHits.Increment();
        else _hits.Increment();
        return result;
    }

    private CachedNegative? FindNegative(DnsName name, RRType type, RRClass @class, long now, long maxStaleTicks)
    {
        var lookup = _cache.LookupQuiet(new RecordKey(name, type, @class, EntryKind.NoData), now, maxStaleTicks, out var noData, out long expires);
        if (lookup != CacheLookup.Miss) return Negative(noData.Negative!, noData, lookup, expires, now);
        // RFC 8020: an NXDOMAIN for the name or an ancestor denies the name. One probe per label; ancestors are
        // built on the way up (a miss path: the positive lookup came first).
        for (var ancestor = name; ; ancestor = ancestor.Parent)
        {
            lookup = _cache.LookupQuiet(new RecordKey(ancestor, 0, @class, EntryKind.NameError), now, maxStaleTicks, out var nx, out expires);
            if (lookup != CacheLookup.Miss)
            {
                var answer = ReferenceEquals(ancestor, name) && nx.Negative!.Type == type ? nx.Negative! : nx.Negative! with { Name = name, Type = type };
                return Negative(answer, nx, lookup, expires, now);
            }
            if (ancestor.LabelCount <= 1) return null;
        }
    }

    public void StoreNegative(NegativeAnswer answer, TrustRank rank)
    {
        long now = _clock.UtcNow.UtcTicks;
        bool nameError = answer.Kind == NegativeKind.NameError;
        var key = nameError
            ? new RecordKey(answer.Name, 0, answer.Class, EntryKind.NameError)
            : new RecordKey(answer.Name, answer.Type, answer.Class, EntryKind.NoData);
        if (HeldAbove(key, rank, now)) return;
        var positiveKey = new RecordKey(answer.Name, answer.Type, answer.Class, EntryKind.Positive);
        // A lower-ranked NODATA does not hide better positive data.
        if (!nameError && HeldAbove(positiveKey, rank, now)) return;
        long ttl = Math.Min(answer.Ttl, _maxNegativeTtlSeconds);
        if (ttl == 0)
        {
            _cache.Remove(key);
            return;
        }
        if (_cache.Set(key, new RecordEntry(null, answer, rank, ValidationState.Unchecked, (uint)ttl), Expiry(now, ttl)) && !nameError)
            RemoveIfNotAbove(positiveKey, rank, now);
    }

    public CachedRRset? FindClosestNameServers(DnsName name, RRClass @class)
    {
        long now = _clock.UtcNow.UtcTicks;
        for (var cut = name; ; cut = cut.Parent)
        {
            var ns = Find(new RecordKey(cut, RRType.NS, @class, EntryKind.Positive), now, 0);
            // Below the root the delegation lasts as long as the parent's copy: past it the parent is asked again.
            if (ns is not null && (cut.IsRoot || _cache.LookupQuiet(new RecordKey(cut, RRType.NS, @class, EntryKind.ParentSideDelegation), now, 0, out _, out _) == CacheLookup.Fresh))
                return ns;
            if (cut.IsRoot) return null;
        }
    }

    public int Purge(DnsName name) => _cache.RemoveWhere((key, _) => key.Name.Equals(name));

    public int Purge(DnsName name, RRType type) =>
        _cache.RemoveWhere((key, _) => key.Type == type && key.Kind is EntryKind.Positive or EntryKind.NoData or EntryKind.ParentSideGlue or EntryKind.ParentSideDelegation && key.Name.Equals(name));

    public int PurgeSubtree(DnsName apex)
    {
        SecureNsec.PurgeSubtree(apex);
        return _cache.RemoveWhere((key, _) => key.Name.IsSubdomainOf(apex));
    }

    private CachedRRset? Find(RecordKey key, long now, long maxStaleTicks)
    {
        var lookup = _cache.LookupQuiet(key, now, maxStaleTicks, out var entry, out long expires);
        if (lookup == CacheLookup.Miss) return null;
        return new CachedRRset(entry.RRset!, entry.Rank, entry.Validation, lookup == CacheLookup.Fresh ? Remaining(expires, now) : 0)
        {
            OriginalTtl = entry.Ttl,
            Stale = lookup == CacheLookup.Stale,
            Signatures = entry.Signatures,
        };
    }

    private static CachedNegative Negative(NegativeAnswer answer, RecordEntry entry, CacheLookup lookup, long expires, long now) =>
        new(answer, entry.Rank, lookup == CacheLookup.Fresh ? Remaining(expires, now) : 0) { OriginalTtl = entry.Ttl, Stale = lookup == CacheLookup.Stale };

    private void CountLookup(CachedRRset? hit)
    {
        if (hit is null) _misses.Increment();
        else if (hit.Stale) _staleHits.Increment();
        else _hits.Increment();
    }

    /// <summary>True when an unexpired entry of higher rank than <paramref name="rank"/> is held for the key.</summary>
    private bool HeldAbove(RecordKey key, TrustRank rank, long now) =>
        _cache.TryPeek(key, out var held, out long expires) && expires > now && held.Rank > rank;

    /// <summary>Removes the entry unless it is unexpired and of higher rank (expired entries kept for serve-stale go too).</summary>
    private void RemoveIfNotAbove(RecordKey key, TrustRank rank, long now)
    {
        if (_cache.TryPeek(key, out var held, out long expires) && (held.Rank <= rank || expires <= now)) _cache.Remove(key);
    }

    private long PositiveTtl(uint ttl) => ttl == 0 ? 0 : Math.Clamp(ttl, _minTtlSeconds, _maxTtlSeconds);

    private static DateTimeOffset Expiry(long now, long ttlSeconds) => new(now + ttlSeconds * TimeSpan.TicksPerSecond, TimeSpan.Zero);

    private static uint Remaining(long expiresTicks, long nowTicks)
    {
        long ticks = expiresTicks - nowTicks;
        return ticks <= 0 ? 0 : (uint)((ticks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond);
    }

    private enum EntryKind : byte
    {
        Positive,
        NoData,
        NameError,
        ParentSideGlue,
        ParentSideDelegation,
    }

    /// <summary>The cache key. NXDOMAIN entries use type 0: they deny every type of the name.</summary>
    private readonly record struct RecordKey(DnsName Name, RRType Type, RRClass Class, EntryKind Kind);

    /// <summary>Compares names case-insensitively through their precomputed hash (no hashing of the name per lookup).</summary>
    private sealed class RecordKeyComparer : IEqualityComparer<RecordKey>
    {
        public static readonly RecordKeyComparer Instance = new();

        public bool Equals(RecordKey x, RecordKey y) => x.Type == y.Type && x.Kind == y.Kind && x.Class == y.Class && x.Name.Equals(y.Name);

        public int GetHashCode(RecordKey key) =>
            key.Name.GetHashCode() ^ (int)(((uint)key.Type * 0x9E3779B1u) ^ ((uint)key.Class << 20) ^ ((uint)key.Kind << 28));
    }

    /// <summary>One entry: an RRset (positive, parent-side glue) or a negative answer, with its rank and stored TTL.</summary>
    private sealed class RecordEntry(RRset? rrset, NegativeAnswer? negative, TrustRank rank, ValidationState validation, uint ttl)
    {
        public readonly RRset? RRset = rrset;
        public readonly NegativeAnswer? Negative = negative;
        public readonly TrustRank Rank = rank;
        public readonly ValidationState Validation = validation;
        public readonly uint Ttl = ttl;

        /// <summary>The RRset's RRSIGs (validation on), shared with every <see cref="CachedRRset"/> read from it.</summary>
        public IReadOnlyList<RrsigData> Signatures { get; init; } = [];

        /// <summary>Object header, three references, rank, state, TTL (padded).</summary>
        public const int OwnBytes = 16 + 24 + 8;
    }

    private sealed class EntryCost : ICacheCost<RecordKey, RecordEntry>
    {
        public static readonly EntryCost Instance = new();

        public long CostOf(RecordKey key, RecordEntry value) =>
            RecordEntry.OwnBytes + (value.RRset is { } set ? RecordCost.Of(set) : RecordCost.Of(value.Negative!)) + RecordCost.Of(value.Signatures);
    }
}

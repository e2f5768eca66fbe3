namespace Ananas.Resolver.Cache;

/// <summary>
/// Keys held for a fixed hold-down on the injected clock, in a table a remote party can add to: a byte-bounded
/// <see cref="ArcCache{TKey,TValue}"/> (a flood evicts entries, never grows the heap) whose expired entries are swept
/// every <see cref="SweepEvery"/> additions as well as evicted under pressure. Thread-safe.
/// </summary>
public sealed class HoldDownTable<TKey, TValue> where TKey : notnull
{
    /// <summary>Additions between two sweeps of the expired entries.</summary>
    public const int SweepEvery = 4096;

    private readonly ArcCache<TKey, TValue> _entries;
    private readonly TimeSpan _holdDown;
    private int _sinceSweep;

    public HoldDownTable(IClock clock, TimeSpan holdDown, long capacityBytes, ICacheCost<TKey, TValue> cost)
    {
        _holdDown = holdDown;
        _entries = new ArcCache<TKey, TValue>(new CacheOptions { CapacityBytes = capacityBytes, ShardCount = 4 }, clock, cost);
    }

    /// <summary>Entries held (expired ones until swept or evicted).</summary>
    public long Count => _entries.Count;

    /// <summary>Bytes the entries are charged (at most the capacity).</summary>
    public long ResidentBytes => _entries.ResidentBytes;

    /// <summary>True while <paramref name="key"/> is within its hold-down.</summary>
    public bool Contains(TKey key) => _entries.TryGet(key, out _);

    /// <summary>Holds <paramref name="key"/> for the hold-down from now.</summary>
    public void Add(TKey key, TValue value)
    {
        _entries.Set(key, value, _holdDown);
        if (Interlocked.Increment(ref _sinceSweep) % SweepEvery == 0) _entries.RemoveExpired();
    }

    /// <summary>Removes the entries whose hold-down is over; returns how many.</summary>
    public int RemoveExpired() => _entries.RemoveExpired();
}

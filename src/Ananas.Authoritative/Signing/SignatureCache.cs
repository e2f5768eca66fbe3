namespace Ananas.Authoritative.Signing;

/// <summary>The signatures over one RRset (one RRSIG RDATA per zone key), reused until <see cref="ReuseUntil"/>.</summary>
public sealed class SignatureEntry(byte[] key, byte[][] rrsigs, long reuseUntil)
{
    public byte[] Key { get; } = key;

    /// <summary>RRSIG RDATA in wire form (no name compression), one per key.</summary>
    public byte[][] Rrsigs { get; } = rrsigs;

    /// <summary>Seconds since the epoch after which the entry is signed again.</summary>
    public long ReuseUntil { get; } = reuseUntil;
}

/// <summary>
/// A bounded signature cache without locks: a 4-way set-associative table of entries found by a hash of the
/// key (zone, key set, owner, type, TTL and RDATA), the key compared whole on a hit. A full set gives up the entry
/// that is due soonest. Its size never grows past <see cref="Capacity"/>, whatever names clients ask for (each
/// compact NXDOMAIN is a new NSEC RRset); the hash is seeded per process so clients cannot aim at one set.
/// </summary>
public sealed class SignatureCache
{
    private const int Ways = 4;
    private readonly SignatureEntry?[] _slots;
    private readonly int _setMask;

    public SignatureCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, Ways);
        // The largest power-of-two number of sets that stays within the capacity.
        int sets = 1;
        while ((long)sets * 2 * Ways <= capacity) sets <<= 1;
        _slots = new SignatureEntry?[sets * Ways];
        _setMask = sets - 1;
    }

    public int Capacity => _slots.Length;

    /// <summary>Entries held now (a scan: for metrics and tests).</summary>
    public int Count
    {
        get
        {
            int n = 0;
            foreach (var e in _slots) if (e is not null) n++;
            return n;
        }
    }

    /// <summary>The entry for <paramref name="key"/> if one is cached and still to be reused at <paramref name="now"/>.</summary>
    public SignatureEntry? Find(ReadOnlySpan<byte> key, long now)
    {
        int set = SetOf(key);
        for (int i = 0; i < Ways; i++)
        {
            var entry = Volatile.Read(ref _slots[set + i]);
            if (entry is not null && now < entry.ReuseUntil && entry.Key.AsSpan().SequenceEqual(key)) return entry;
        }
        return null;
    }

    public void Add(SignatureEntry entry)
    {
        int set = SetOf(entry.Key);
        int victim = set;
        long soonest = long.MaxValue;
        for (int i = 0; i < Ways; i++)
        {
            var current = Volatile.Read(ref _slots[set + i]);
            if (current is null || current.Key.AsSpan().SequenceEqual(entry.Key))
            {
                victim = set + i;
                break;
            }
            if (current.ReuseUntil < soonest)
            {
                soonest = current.ReuseUntil;
                victim = set + i;
            }
        }
        // Two threads may race for one slot: one entry wins, the other is signed again later.
        Volatile.Write(ref _slots[victim], entry);
    }

    private int SetOf(ReadOnlySpan<byte> key)
    {
        var hash = new HashCode();
        hash.AddBytes(key);
        return (hash.ToHashCode() & _setMask) * Ways;
    }
}

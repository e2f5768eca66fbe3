using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Authoritative.Answering;

/// <summary>
/// Finished replies in front of the store: a bounded, 4-way set-associative table of fixed-size slots allocated
/// once, keyed by everything of a query the reply depends on (the name as asked, case included, type, class, RD
/// and CD, EDNS presence, DO and CO, and the size limit) and stamped with the store snapshot (LMDB transaction
/// id) and zone index it was made from. A hit is a copy and the ID patched in; any write to the store or reload
/// of the zone index makes every entry stale, so a cached reply is never older than what the store would give.
/// Slots are read without locks under a per-slot sequence number (odd while written): a reader that sees it
/// change ignores what it copied. Replies with signatures are never cached (their validity is time-bound).
/// </summary>
public sealed unsafe class ReplyCache
{
    private const int Ways = 4;

    /// <summary>Octets per slot: the key and the reply together (a longer pair is not cached).</summary>
    public const int SlotSize = 512;

    /// <summary>Longest key: a name (255) plus type, class, flags and limit.</summary>
    public const int MaxKey = DnsName.MaxWireLength + 8;

    // Outside the managed heap (the garbage collector never sees it; freed by the finalizer, when no thread can read it).
    private readonly byte* _data;
    // A probe reads the set's four hashes (one cache line) and then only the matching way's entry and slot: the
    // hit path is cache-miss bound, one array per field cost a line per field.
    private readonly ulong[] _hash;
    private readonly Entry[] _entries;
    private readonly byte[] _nextWay;
    private readonly int _setMask;

    /// <summary>What a slot holds besides its octets; <see cref="Sequence"/> is odd while the slot is written.</summary>
    private struct Entry
    {
        public long Sequence;
        public ulong Snapshot;
        public ulong IndexGeneration;
        public short KeyLength;
        public short ReplyLength;
    }

    public ReplyCache(int capacity)
    {
        capacity = Math.Max(capacity, Ways);
        int sets = 1;
        while ((long)sets * 2 * Ways <= capacity) sets <<= 1;
        int slots = sets * Ways;
        _data = (byte*)NativeMemory.AlignedAlloc((nuint)slots * SlotSize, 64);
        _hash = new ulong[slots];
        _entries = new Entry[slots];
        _nextWay = new byte[sets];
        _setMask = sets - 1;
        // Written through once here: memory fresh from the system is mapped at its first touch, and filling the
        // cache would otherwise take that page fault (a page zeroed by the kernel) on the answering thread.
        new Span<byte>(_data, slots * SlotSize).Clear();
        MemoryMarshal.AsBytes(_hash.AsSpan()).Clear();
        MemoryMarshal.AsBytes(_entries.AsSpan()).Clear();
        _nextWay.AsSpan().Clear();
    }

    ~ReplyCache() => NativeMemory.AlignedFree(_data);

    public int Capacity => _entries.Length;

    // Hits by the reply's RCODE (the header's four bits): one count serves the hit total and the answers by rcode.
    private readonly long[] _hitsByRcode = new long[16];
    public long Misses;
    public long Stores;

    /// <summary>Queries answered from the cache.</summary>
    public long Hits
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < _hitsByRcode.Length; i++) sum += Volatile.Read(ref _hitsByRcode[i]);
            return sum;
        }
    }

    /// <summary>Queries answered from the cache with <paramref name="rcode"/> in the header.</summary>
    public long HitsWith(int rcode) => (uint)rcode < (uint)_hitsByRcode.Length ? Volatile.Read(ref _hitsByRcode[rcode]) : 0;

    /// <summary>
    /// Writes the cache key of <paramref name="q"/> answered within <paramref name="limit"/> octets into
    /// <paramref name="key"/> (at least <see cref="MaxKey"/> long); returns its length.
    /// </summary>
    public static int WriteKey(in QueryView q, int limit, Span<byte> key)
    {
        var name = q.Name;
        name.CopyTo(key);
        // RD and CD are echoed in the reply; EDNS presence, DO and CO shape its OPT record and what it holds.
        ulong flags = (ulong)((q.Header.FlagsWord & (ushort)(HeaderFlags.RD | HeaderFlags.CD)) >> 4);
        ulong edns = (ulong)((q.HasEdns ? 1 : 0) | (q.DnssecOk ? 2 : 0) | ((q.OptTtl & 0x4000) != 0 ? 4 : 0));
        // Type, class, those two octets and the limit after the name, in one store (eight bounds-checked ones before).
        BinaryPrimitives.WriteUInt64BigEndian(key[name.Length..],
            (ulong)(ushort)q.Type << 48 | (ulong)(ushort)q.Class << 32 | flags << 24 | edns << 16 | (ushort)limit);
        return name.Length + 8;
    }

    /// <summary>
    /// Copies the reply cached for <paramref name="key"/> from <paramref name="snapshot"/> and
    /// <paramref name="indexGeneration"/> into <paramref name="reply"/>; returns its length, or 0 (a miss).
    /// </summary>
    public int TryCopy(ReadOnlySpan<byte> key, ulong snapshot, ulong indexGeneration, Span<byte> reply)
    {
        ulong hash = Hash(key);
        int set = (int)(hash & (ulong)_setMask) * Ways;
        for (int way = 0; way < Ways; way++)
        {
            int slot = set + way;
            // The hash only filters: everything that decides a hit is read after the sequence and checked by it.
            if (_hash[slot] != hash) continue;
            ref var entry = ref _entries[slot];
            long sequence = Volatile.Read(ref entry.Sequence);
            if ((sequence & 1) != 0 || entry.Snapshot != snapshot || entry.IndexGeneration != indexGeneration) continue;
            int keyLength = entry.KeyLength, replyLength = entry.ReplyLength;
            if (keyLength != key.Length || replyLength > reply.Length) continue;
            var data = new Span<byte>(_data + (nint)slot * SlotSize, SlotSize);
            if (!data[..keyLength].SequenceEqual(key)) continue;
            data.Slice(keyLength, replyLength).CopyTo(reply);
            // What was copied counts only if no writer took the slot meanwhile: the copy's reads come before the
            // sequence's second read (a load-load barrier, free on x64; the writer's side is a full fence).
            Volatile.ReadBarrier();
            if (Volatile.Read(ref entry.Sequence) != sequence) break;
            Interlocked.Increment(ref _hitsByRcode[reply[3] & 0x0F]);
            return replyLength;
        }
        Interlocked.Increment(ref Misses);
        return 0;
    }

    /// <summary>Caches <paramref name="reply"/> for <paramref name="key"/> (nothing when the pair does not fit a slot or the slot is being written).</summary>
    public void Store(ReadOnlySpan<byte> key, ulong snapshot, ulong indexGeneration, ReadOnlySpan<byte> reply)
    {
        if (key.Length + reply.Length > SlotSize) return;
        ulong hash = Hash(key);
        int setIndex = (int)(hash & (ulong)_setMask);
        int set = setIndex * Ways;
        int victim = -1;
        for (int way = 0; way < Ways && victim < 0; way++)
        {
            // A stale entry (an older snapshot) or an empty slot goes first.
            ref var entry = ref _entries[set + way];
            if (entry.Snapshot != snapshot || entry.IndexGeneration != indexGeneration || _hash[set + way] == hash) victim = set + way;
        }
        if (victim < 0) victim = set + (_nextWay[setIndex]++ & (Ways - 1));
        ref var taken = ref _entries[victim];
        long sequence = Volatile.Read(ref taken.Sequence);
        if ((sequence & 1) != 0 || Interlocked.CompareExchange(ref taken.Sequence, sequence + 1, sequence) != sequence) return;
        var data = new Span<byte>(_data + (nint)victim * SlotSize, SlotSize);
        key.CopyTo(data);
        reply.CopyTo(data[key.Length..]);
        _hash[victim] = hash;
        taken.Snapshot = snapshot;
        taken.IndexGeneration = indexGeneration;
        taken.KeyLength = (short)key.Length;
        taken.ReplyLength = (short)reply.Length;
        Volatile.Write(ref taken.Sequence, sequence + 2);
        Interlocked.Increment(ref Stores);
    }

    public void AppendPrometheus(System.Text.StringBuilder sb)
    {
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        sb.Append("# HELP ananas_auth_reply_cache_hits_total Queries answered from the reply cache (no store read).\n# TYPE ananas_auth_reply_cache_hits_total counter\n");
        sb.Append(culture, $"ananas_auth_reply_cache_hits_total {Hits}\n");
        sb.Append("# HELP ananas_auth_reply_cache_misses_total Queries the reply cache did not hold (answered from the store).\n# TYPE ananas_auth_reply_cache_misses_total counter\n");
        sb.Append(culture, $"ananas_auth_reply_cache_misses_total {Volatile.Read(ref Misses)}\n");
        sb.Append("# HELP ananas_auth_reply_cache_stores_total Replies put into the reply cache.\n# TYPE ananas_auth_reply_cache_stores_total counter\n");
        sb.Append(culture, $"ananas_auth_reply_cache_stores_total {Volatile.Read(ref Stores)}\n");
        sb.Append("# HELP ananas_auth_reply_cache_capacity Slots of the reply cache.\n# TYPE ananas_auth_reply_cache_capacity gauge\n");
        sb.Append(culture, $"ananas_auth_reply_cache_capacity {Capacity}\n");
    }

    private static readonly ulong s_seed = (ulong)Random.Shared.NextInt64() | 1;

    /// <summary>
    /// The key eight octets at a time (multiply and rotate), seeded per process and with the length, then a final
    /// mix (the set comes from the low bits). A collision only costs a key comparison or an eviction.
    /// </summary>
    private static ulong Hash(ReadOnlySpan<byte> key)
    {
        const ulong Prime = 0x9E3779B97F4A7C15UL;
        ulong h = s_seed ^ (ulong)key.Length;
        ref byte start = ref MemoryMarshal.GetReference(key);
        int i = 0;
        for (; i + 8 <= key.Length; i += 8)
            h = BitOperations.RotateLeft((h ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i))) * Prime, 29);
        ulong tail = 0;
        for (; i < key.Length; i++) tail = (tail << 8) | Unsafe.Add(ref start, i);
        h = (h ^ tail) * Prime;
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        return h;
    }
}

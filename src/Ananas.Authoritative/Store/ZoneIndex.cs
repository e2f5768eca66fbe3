using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using Ananas.Dns;
using LightningDB;
using MessagePack;

namespace Ananas.Authoritative.Store;

/// <summary>
/// One zone as the answerer needs it without a store read: its id (the key prefix of its nodes), apex and the
/// SOA that every negative answer carries. The zone row in the <c>zones</c> table (key: the apex in lowercase
/// wire form) is the MessagePack array <c>[id: uint, apex: bin, soa ttl: uint, soa rdata: bin, names: uint, records: uint]</c>.
/// </summary>
public sealed class ZoneEntry
{
    public required uint Id { get; init; }

    public required DnsName Apex { get; init; }

    public required uint SoaTtl { get; init; }

    public required byte[] SoaRdata { get; init; }

    public int Names { get; init; }

    public int Records { get; init; }

    /// <summary>The zone's signing keys (the store's <c>keys</c> table), or null when it is served unsigned.</summary>
    public Signing.ZoneKeySet? Keys { get; internal set; }
    /// <summary>The SOA serial (the fifth field from the end of the SOA RDATA).</summary>
    public uint Serial => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(SoaRdata.AsSpan(SoaRdata.Length - 20));

    /// <summary>RFC 2308 §3: a negative answer's SOA TTL is the lesser of the SOA's TTL and its MINIMUM.</summary>
    public uint NegativeTtl
    {
        get
        {
            uint minimum = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(SoaRdata.AsSpan(SoaRdata.Length - 4));
            return Math.Min(SoaTtl, minimum);
        }
    }

    public byte[] Encode()
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(6);
        writer.Write(Id);
        writer.Write(Apex.Wire);
        writer.Write(SoaTtl);
        writer.Write(SoaRdata);
        writer.Write(Names);
        writer.Write(Records);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static ZoneEntry Decode(ReadOnlyMemory<byte> value)
    {
        var reader = new MessagePackReader(value);
        int count = reader.ReadArrayHeader();
        if (count < 6) throw new InvalidDataException("zone row: expected 6 items");
        uint id = reader.ReadUInt32();
        var apex = DnsName.FromWire(reader.ReadBytes()!.Value.ToArray());
        uint ttl = reader.ReadUInt32();
        var soa = reader.ReadBytes()!.Value.ToArray();
        int names = reader.ReadInt32();
        int records = reader.ReadInt32();
        if (soa.Length < 22) throw new InvalidDataException("zone row: SOA RDATA too short");
        return new ZoneEntry { Id = id, Apex = apex, SoaTtl = ttl, SoaRdata = soa, Names = names, Records = records };
    }
}

/// <summary>
/// Every zone of the store in memory, found by longest match without a store read (100k+ zones take a few
/// megabytes). An open-addressing table keyed by a hash of the apex that is built label by label from the root,
/// so one backward pass over a query name gives the hash of each of its suffixes and each probe costs one slot
/// (and one comparison of the apex on a hash match). Immutable; the store's watcher swaps in a new one when the
/// store's generation changes.
/// </summary>
public sealed class ZoneIndex
{
    private const int MaxLabels = 128;

    // Seeded per process: which names share a slot is not predictable from outside.
    private static readonly ulong s_seed = (ulong)Random.Shared.NextInt64() | 1;

    private struct Slot
    {
        public ulong Hash;
        public byte[]? Apex;
        public ZoneEntry? Zone;
    }

    private readonly Slot[] _slots;
    private readonly int _shift;
    private readonly ZoneEntry[] _zones;

    // Bit n set: some apex has n labels. A suffix of another length is never probed (most query names are
    // longer than every apex by a label or more: each such probe would cost a cache miss for nothing).
    private readonly UInt128 _apexLabelCounts;

    private ZoneIndex(List<(byte[] Apex, ZoneEntry Zone)> zones, ulong generation)
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, zones.Count * 2));
        _slots = new Slot[size];
        _shift = 64 - BitOperations.Log2((uint)size);
        _zones = new ZoneEntry[zones.Count];
        Span<int> starts = stackalloc int[MaxLabels + 1];
        Span<ulong> hashes = stackalloc ulong[MaxLabels + 1];
        for (int i = 0; i < zones.Count; i++)
        {
            var (apex, zone) = zones[i];
            _zones[i] = zone;
            int labels = SuffixHashes(apex, starts, hashes);
            if (labels < 0) throw new InvalidDataException("zones table: an apex is not a wire name");
            _apexLabelCounts |= UInt128.One << labels;
            int slot = SlotOf(hashes[0]);
            while (_slots[slot].Apex is not null) slot = (slot + 1) & (_slots.Length - 1);
            _slots[slot] = new Slot { Hash = hashes[0], Apex = apex, Zone = zone };
        }
        Generation = generation;
    }

    public static ZoneIndex Empty { get; } = new([], 0);

    public ulong Generation { get; }

    public int Count => _zones.Length;

    public IEnumerable<ZoneEntry> Zones => _zones;

    /// <summary>Reads every zone row in one read transaction (a consistent snapshot with its generation).</summary>
    public static ZoneIndex Load(EdgeStore store)
    {
        using var txn = store.BeginRead();
        return Load(store, txn);
    }

    internal static ZoneIndex Load(EdgeStore store, LightningTransaction txn)
    {
        ulong generation = store.ReadGeneration(txn);
        var zones = new Dictionary<byte[], ZoneEntry>(WireNameComparer.Instance);
        using var cursor = txn.CreateCursor(store.Zones);
        var (code, _, _) = cursor.First();
        while (code == MDBResultCode.Success)
        {
            var (_, key, value) = cursor.GetCurrent();
            zones[key.CopyToNewArray()] = ZoneEntry.Decode(value.CopyToNewArray());
            (code, _, _) = cursor.Next();
        }
        foreach (var (apex, keys) in Signing.KeyTable.ReadAll(store, txn))
        {
            if (keys.Count > 0 && zones.TryGetValue(apex, out var zone)) zone.Keys = new Signing.ZoneKeySet(zone.Apex, keys);
        }
        var list = new List<(byte[], ZoneEntry)>(zones.Count);
        foreach (var (apex, zone) in zones) list.Add((apex, zone));
        return new ZoneIndex(list, generation);
    }

    /// <summary>The zone with the longest apex that <paramref name="lowerWire"/> (lowercase, uncompressed) is in or under.</summary>
    [SkipLocalsInit] // SuffixHashes writes every entry read below
    public ZoneEntry? Find(ReadOnlySpan<byte> lowerWire, out int apexOffset)
    {
        Span<int> starts = stackalloc int[MaxLabels + 1];
        Span<ulong> hashes = stackalloc ulong[MaxLabels + 1];
        int labels = SuffixHashes(lowerWire, starts, hashes);
        for (int i = 0; i <= labels; i++)
        {
            if ((_apexLabelCounts & (UInt128.One << (labels - i))) == UInt128.Zero) continue;
            var suffix = lowerWire[starts[i]..];
            ulong hash = hashes[i];
            for (int slot = SlotOf(hash); _slots[slot].Apex is { } apex; slot = (slot + 1) & (_slots.Length - 1))
            {
                if (_slots[slot].Hash == hash && suffix.SequenceEqual(apex))
                {
                    apexOffset = starts[i];
                    return _slots[slot].Zone;
                }
            }
        }
        apexOffset = -1;
        return null;
    }

    /// <summary>The zone <paramref name="lowerWire"/> is in, skipping a zone whose apex it is (DS lives on the parent side).</summary>
    public ZoneEntry? FindParentSide(ReadOnlySpan<byte> lowerWire, out int apexOffset)
    {
        if (lowerWire[0] == 0)
        {
            apexOffset = -1;
            return null;
        }
        var zone = Find(lowerWire[(lowerWire[0] + 1)..], out apexOffset);
        if (zone is not null) apexOffset += lowerWire[0] + 1;
        return zone;
    }

    private int SlotOf(ulong hash) => (int)((hash * 0x9E3779B97F4A7C15UL) >> _shift);

    /// <summary>
    /// The start of each label of <paramref name="wire"/> and the hash of the suffix starting there (index = label
    /// number; the root's at index = label count, which is returned); -1 for a name that is not well formed.
    /// A suffix's hash is its first label folded (FNV-1a, length octet included) into the hash of the rest.
    /// </summary>
    private static int SuffixHashes(ReadOnlySpan<byte> wire, Span<int> starts, Span<ulong> hashes)
    {
        int labels = 0, p = 0;
        while (true)
        {
            if (p >= wire.Length || labels >= MaxLabels) return -1;
            starts[labels] = p;
            if (wire[p] == 0) break;
            p += wire[p] + 1;
            labels++;
        }
        ulong hash = s_seed;
        hashes[labels] = hash;
        for (int i = labels - 1; i >= 0; i--)
        {
            foreach (byte b in wire.Slice(starts[i], starts[i + 1] - starts[i])) hash = (hash ^ b) * 0x100000001B3UL;
            hashes[i] = hash;
        }
        return labels;
    }
}

/// <summary>Equality of lowercase wire names as byte strings, also for spans (allocation-free lookups).</summary>
public sealed class WireNameComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static WireNameComparer Instance { get; } = new();

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj) => GetHashCode(obj.AsSpan());

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<byte> alternate)
    {
        var hash = new HashCode();
        hash.AddBytes(alternate);
        return hash.ToHashCode();
    }

    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
}

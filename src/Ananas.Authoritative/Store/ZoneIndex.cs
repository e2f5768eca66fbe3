using System.Buffers;
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
/// Every zone of the store in memory, found by longest match: one hash probe per label of the query name,
/// in memory, never a store read (100k+ zones take a few megabytes). Immutable; the store's watcher swaps in
/// a new one when the store's generation changes.
/// </summary>
public sealed class ZoneIndex
{
    private readonly Dictionary<byte[], ZoneEntry> _zones;
    private readonly Dictionary<byte[], ZoneEntry>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    private ZoneIndex(Dictionary<byte[], ZoneEntry> zones, ulong generation)
    {
        _zones = zones;
        _lookup = zones.GetAlternateLookup<ReadOnlySpan<byte>>();
        Generation = generation;
    }

    public static ZoneIndex Empty { get; } = new(new Dictionary<byte[], ZoneEntry>(WireNameComparer.Instance), 0);

    public ulong Generation { get; }

    public int Count => _zones.Count;

    public IEnumerable<ZoneEntry> Zones => _zones.Values;

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
        return new ZoneIndex(zones, generation);
    }

    /// <summary>The zone with the longest apex that <paramref name="lowerWire"/> (lowercase, uncompressed) is in or under.</summary>
    public ZoneEntry? Find(ReadOnlySpan<byte> lowerWire, out int apexOffset)
    {
        int p = 0;
        while (true)
        {
            if (_lookup.TryGetValue(lowerWire[p..], out var zone))
            {
                apexOffset = p;
                return zone;
            }
            if (lowerWire[p] == 0) break;
            p += lowerWire[p] + 1;
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

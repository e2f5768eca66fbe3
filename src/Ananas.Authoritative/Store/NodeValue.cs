using System.Buffers;
using Ananas.Dns;
using MessagePack;

namespace Ananas.Authoritative.Store;

/// <summary>One RRset of a node: type, TTL and each record's RDATA in uncompressed wire form.</summary>
public sealed record StoredRRset(RRType Type, uint Ttl, IReadOnlyList<byte[]> Records);

/// <summary>
/// A node value (layout version 1): a MessagePack array of four items
/// <c>[ancestor flags: bin, previous name: bin|nil, previous name's ancestor flags: bin|nil, RRsets: array]</c>,
/// each RRset <c>[type: uint, ttl: uint, records: array of bin]</c>, RRsets in type order. The ancestor flags hold
/// one <see cref="NodeFlags"/> octet per depth from the apex (0) to the node itself; the previous name is the
/// encoded relative name of the node before this key in its zone, so that a missing name's closest encloser,
/// wildcard and cuts come with the one key the cursor lands on.
/// </summary>
public static class NodeValue
{
    public static byte[] Encode(ReadOnlySpan<byte> ancestorFlags, byte[]? previous, byte[]? previousFlags, IReadOnlyList<StoredRRset> rrsets)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(4);
        if (ancestorFlags.IsEmpty && rrsets.Count == 0) writer.WriteNil();
        else writer.Write(ancestorFlags);
        if (previous is null) writer.WriteNil(); else writer.Write(previous);
        if (previousFlags is null) writer.WriteNil(); else writer.Write(previousFlags);
        WriteRRsets(ref writer, rrsets);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>RRsets as layout 1 stores them, <c>[[type, ttl, [rdata: bin]]]</c> (also the form of an <see cref="Changes.EdgeChange"/>'s nodes).</summary>
    public static void WriteRRsets(ref MessagePackWriter writer, IReadOnlyList<StoredRRset> rrsets)
    {
        writer.WriteArrayHeader(rrsets.Count);
        foreach (var rrset in rrsets)
        {
            writer.WriteArrayHeader(3);
            writer.Write((ushort)rrset.Type);
            writer.Write(rrset.Ttl);
            writer.WriteArrayHeader(rrset.Records.Count);
            foreach (var rdata in rrset.Records) writer.Write(rdata);
        }
    }

    /// <summary>The end key's value: the gap after the last node.</summary>
    public static byte[] EncodeEnd(byte[] previous, byte[] previousFlags) => Encode([], previous, previousFlags, []);
}

/// <summary>
/// A parsed node value over a reusable buffer: offsets of every part, no objects per record. One per thread
/// and role (see <see cref="StoreReader"/>); <see cref="Load"/> refills it.
/// </summary>
public sealed class NodeView
{
    public struct SetRef
    {
        public RRType Type;
        public uint Ttl;
        public int First;
        public int Count;
    }

    private byte[] _buffer = new byte[4096];
    private SetRef[] _sets = new SetRef[16];
    private (int Offset, int Length)[] _records = new (int, int)[64];
    private int _flagsOffset, _flagsLength, _prevOffset, _prevLength, _prevFlagsOffset, _prevFlagsLength;

    public int SetCount { get; private set; }

    /// <summary>False when the value was not valid layout-1 MessagePack (the caller answers SERVFAIL).</summary>
    public bool Valid { get; private set; }

    public bool HasPrevious { get; private set; }

    public ReadOnlySpan<byte> AncestorFlags => _buffer.AsSpan(_flagsOffset, _flagsLength);

    public ReadOnlySpan<byte> Previous => _buffer.AsSpan(_prevOffset, _prevLength);

    public ReadOnlySpan<byte> PreviousFlags => _buffer.AsSpan(_prevFlagsOffset, _prevFlagsLength);

    public ref readonly SetRef Set(int index) => ref _sets[index];

    public ReadOnlySpan<byte> Record(int index) => _buffer.AsSpan(_records[index].Offset, _records[index].Length);

    /// <summary>The index of the RRset of <paramref name="type"/>, or -1.</summary>
    public int Find(RRType type)
    {
        for (int i = 0; i < SetCount; i++)
        {
            if (_sets[i].Type == type) return i;
        }
        return -1;
    }

    /// <summary>The loaded RRsets as objects (the write path's copy; answering reads the spans).</summary>
    public List<StoredRRset> ToRRsets()
    {
        var list = new List<StoredRRset>(SetCount);
        for (int i = 0; i < SetCount; i++)
        {
            ref readonly var set = ref _sets[i];
            var records = new List<byte[]>(set.Count);
            for (int j = 0; j < set.Count; j++) records.Add(Record(set.First + j).ToArray());
            list.Add(new StoredRRset(set.Type, set.Ttl, records));
        }
        return list;
    }

    /// <summary>Records over all RRsets.</summary>
    public int RecordCount()
    {
        int n = 0;
        for (int i = 0; i < SetCount; i++) n += _sets[i].Count;
        return n;
    }

    /// <summary>Copies <paramref name="value"/> (valid only inside the read transaction) and indexes it.</summary>
    public bool Load(ReadOnlySpan<byte> value)
    {
        if (_buffer.Length < value.Length) _buffer = new byte[Math.Max(value.Length, _buffer.Length * 2)];
        value.CopyTo(_buffer);
        SetCount = 0;
        HasPrevious = false;
        _flagsLength = _prevLength = _prevFlagsLength = 0;
        Valid = Parse(_buffer.AsSpan(0, value.Length));
        return Valid;
    }

    private bool Parse(ReadOnlySpan<byte> value)
    {
        var reader = new PackedValueReader(value);
        if (!reader.TryReadArrayHeader(out int items) || items != 4) return false;
        if (!reader.TryReadBinOrNil(out _flagsOffset, out _flagsLength, out _)) return false;
        if (!reader.TryReadBinOrNil(out _prevOffset, out _prevLength, out bool noPrevious)) return false;
        HasPrevious = !noPrevious;
        if (!reader.TryReadBinOrNil(out _prevFlagsOffset, out _prevFlagsLength, out _)) return false;
        if (!reader.TryReadArrayHeader(out int sets) || sets > 256 || sets > value.Length) return false;
        if (_sets.Length < sets) _sets = new SetRef[sets];
        int records = 0;
        for (int i = 0; i < sets; i++)
        {
            if (!reader.TryReadArrayHeader(out int fields) || fields != 3) return false;
            ref var set = ref _sets[i];
            if (!reader.TryReadUInt(ushort.MaxValue, out ulong type) || !reader.TryReadUInt(uint.MaxValue, out ulong ttl)) return false;
            set.Type = (RRType)type;
            set.Ttl = (uint)ttl;
            // Each record takes at least one octet: a count beyond the value's length is corrupt (and sizes no array).
            if (!reader.TryReadArrayHeader(out int count) || count > 65535 || count > value.Length) return false;
            set.First = records;
            set.Count = count;
            if (_records.Length < records + count) Array.Resize(ref _records, Math.Max(records + count, _records.Length * 2));
            for (int j = 0; j < count; j++)
            {
                if (!reader.TryReadBinOrNil(out int offset, out int length, out bool nil) || nil || length > 65535) return false;
                _records[records++] = (offset, length);
            }
        }
        SetCount = sets;
        return reader.End;
    }
}

using System.Runtime.InteropServices;

namespace Ananas.Resolver.Cache;

/// <summary>
/// One cached response, held inline in the cache node: a single array with the exact wire bytes as first
/// sent, then the key (lowercase question name, type, class, flags), then the offsets of every TTL field,
/// plus when it was stored. One array rather than three keeps a hit to one extra cache line fetch.
/// Immutable, so lock-free readers can copy from it while it is being replaced.
/// </summary>
internal readonly struct AnswerEntry
{
    private readonly byte[] _data;
    private readonly ushort _responseLength;
    private readonly ushort _keyLength;

    public AnswerEntry(ReadOnlySpan<byte> response, ReadOnlySpan<byte> key, int nameLength, ReadOnlySpan<ushort> ttlOffsets, long storedAtTicks)
    {
        _data = new byte[response.Length + key.Length + 2 * ttlOffsets.Length];
        response.CopyTo(_data);
        key.CopyTo(_data.AsSpan(response.Length));
        MemoryMarshal.AsBytes(ttlOffsets).CopyTo(_data.AsSpan(response.Length + key.Length));
        _responseLength = (ushort)response.Length;
        _keyLength = (ushort)key.Length;
        NameLength = (byte)nameLength;
        StoredAtTicks = storedAtTicks;
    }

    public ReadOnlySpan<byte> Response => new(_data, 0, _responseLength);

    /// <summary>Lowercase question name, type, class and flags (see <see cref="AnswerKey"/>).</summary>
    public ReadOnlySpan<byte> Key => new(_data, _responseLength, _keyLength);

    /// <summary>Where each record's TTL field starts; the OPT record's (which holds flags, not a TTL) is left out.</summary>
    public ReadOnlySpan<ushort> TtlOffsets => MemoryMarshal.Cast<byte, ushort>(_data.AsSpan(_responseLength + _keyLength));

    /// <summary>Length of the question name at the start of <see cref="Key"/> (and at offset 12 of the response).</summary>
    public int NameLength { get; }

    public long StoredAtTicks { get; }

    /// <summary>Heap bytes: the array (24-byte header). The struct itself lives in the cache node, counted as overhead.</summary>
    public long HeapBytes => 24 + _data.Length + 16; // value fields beyond the node's reference slot
}

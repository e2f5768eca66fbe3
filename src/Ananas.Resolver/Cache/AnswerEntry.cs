namespace Ananas.Resolver.Cache;

/// <summary>
/// One cached response: the exact wire bytes as first sent, the offsets of every TTL field in them, and
/// when they were stored. Immutable, so lock-free readers can copy from it while it is being replaced.
/// </summary>
internal sealed class AnswerEntry(byte[] key, int nameLength, byte[] response, ushort[] ttlOffsets, long storedAtTicks)
{
    /// <summary>Lowercase question name, type, class and flags (see <see cref="AnswerKey"/>).</summary>
    public readonly byte[] Key = key;

    /// <summary>Length of the question name at the start of <see cref="Key"/> (and at offset 12 of the response).</summary>
    public readonly int NameLength = nameLength;

    public readonly byte[] Response = response;

    /// <summary>Where each record's TTL field starts; the OPT record's (which holds flags, not a TTL) is left out.</summary>
    public readonly ushort[] TtlOffsets = ttlOffsets;

    public readonly long StoredAtTicks = storedAtTicks;

    /// <summary>Heap bytes: three arrays (24-byte headers) and this object (header and fields).</summary>
    public long HeapBytes => 3 * 24 + Key.Length + Response.Length + 2L * TtlOffsets.Length + 16 + 8 * 3 + 8 + 8;
}

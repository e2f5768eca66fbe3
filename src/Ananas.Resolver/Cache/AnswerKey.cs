using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;

namespace Ananas.Resolver.Cache;

/// <summary>
/// The answer cache key, read straight from query bytes without allocating: the question name in lowercase
/// wire form, then QTYPE, QCLASS and one octet of flags (DO, CD, EDNS present) that change the answer.
/// </summary>
internal static class AnswerKey
{
    /// <summary>Longest key: a 255-octet name, type, class, flags.</summary>
    public const int MaxLength = 255 + 5;

    public const byte DnssecOk = 1;
    public const byte CheckingDisabled = 2;
    public const byte Edns = 4;

    private const ushort OptType = 41;

    // A per-process seed so that nobody can precompute names that collide in the map.
    private static readonly ulong Seed = BinaryPrimitives.ReadUInt64LittleEndian(RandomNumberGenerator.GetBytes(8));

    /// <summary>
    /// Reads a standard query (QUERY opcode, one question, no answer or authority records, at most an OPT
    /// record in the additional section) into <paramref name="key"/>. False for anything else: such queries
    /// are not answered from this cache. Malformed input is a plain false, never an exception.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> query, Span<byte> key, out int keyLength, out int nameLength)
    {
        keyLength = nameLength = 0;
        if (query.Length < 12 + 5) return false;
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(query[2..]);
        // QR must be 0 and the opcode QUERY.
        if ((flags & 0xF800) != 0) return false;
        if (BinaryPrimitives.ReadUInt16BigEndian(query[4..]) != 1 || BinaryPrimitives.ReadUInt32BigEndian(query[6..]) != 0) return false;
        int additional = BinaryPrimitives.ReadUInt16BigEndian(query[10..]);
        if (additional > 1) return false;

        // The question name: uncompressed (nothing precedes it to point at). Find its end, then lower it
        // in one vectorised pass (length octets are below 64, so lowering leaves them alone).
        int pos = 12;
        while (true)
        {
            if (pos >= query.Length) return false;
            int len = query[pos];
            if (len == 0) break;
            if (len > 63 || pos + 1 + len >= query.Length || pos - 12 + 1 + len + 1 > 255) return false;
            pos += len + 1;
        }
        nameLength = pos - 12 + 1;
        var name = query.Slice(12, nameLength);
        if (Ascii.ToLower(name, key, out _) != OperationStatus.Done)
        {
            // Octets above 0x7F are legal in labels; lower the ASCII letters one by one.
            for (int i = 0; i < name.Length; i++) key[i] = ToLower(name[i]);
        }
        pos++;
        if (query.Length - pos < 4) return false;
        query.Slice(pos, 4).CopyTo(key[nameLength..]);
        pos += 4;

        byte keyFlags = (flags & 0x0010) != 0 ? CheckingDisabled : (byte)0;
        if (additional == 1)
        {
            // Only an OPT record (root owner) may follow; TSIG or anything else is per-message.
            if (query.Length - pos < 11 || query[pos] != 0 || BinaryPrimitives.ReadUInt16BigEndian(query[(pos + 1)..]) != OptType) return false;
            uint ttl = BinaryPrimitives.ReadUInt32BigEndian(query[(pos + 5)..]);
            int rdLength = BinaryPrimitives.ReadUInt16BigEndian(query[(pos + 9)..]);
            if (query.Length - (pos + 11) < rdLength) return false;
            keyFlags |= Edns;
            if ((ttl & 0x8000) != 0) keyFlags |= DnssecOk;
        }
        key[nameLength + 4] = keyFlags;
        keyLength = nameLength + 5;
        return true;
    }

    /// <summary>A seeded 64-bit hash of a key (8 octets at a time, murmur3 finaliser).</summary>
    public static ulong Hash(ReadOnlySpan<byte> key)
    {
        ulong h = Seed ^ ((ulong)key.Length * 0x9E3779B97F4A7C15);
        while (key.Length >= 8)
        {
            h = BitOperations.RotateLeft(h ^ (BinaryPrimitives.ReadUInt64LittleEndian(key) * 0x87C37B91114253D5), 31) * 0x4CF5AD432745937F;
            key = key[8..];
        }
        ulong tail = 0;
        for (int i = 0; i < key.Length; i++) tail |= (ulong)key[i] << (8 * i);
        h ^= tail * 0x87C37B91114253D5;
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCD;
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53;
        h ^= h >> 33;
        return h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte ToLower(byte b) => (uint)(b - 'A') <= 'Z' - 'A' ? (byte)(b | 0x20) : b;
}

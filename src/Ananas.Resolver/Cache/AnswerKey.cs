using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Ananas.Dns.Messages;

namespace Ananas.Resolver.Cache;

/// <summary>
/// The answer cache key, read straight from query bytes without allocating: the question name in lowercase
/// wire form, then QTYPE, QCLASS and one octet of flags (DO, CD, EDNS present, AD asked without DO) that change
/// the answer.
/// </summary>
internal static class AnswerKey
{
    /// <summary>Longest key: a 255-octet name, type, class, flags.</summary>
    public const int MaxLength = 255 + 5;

    public const byte DnssecOk = 1;
    public const byte CheckingDisabled = 2;
    public const byte Edns = 4;
    // A client that sets AD without DO asks for the AD bit (RFC 6840 §5.7); a plain query's answer, stored with AD
    // clear, must not be served to it.
    public const byte AuthenticDataWanted = 8;

    // A per-process seed so that nobody can precompute names that collide in the map.
    private static readonly ulong Seed = BinaryPrimitives.ReadUInt64LittleEndian(RandomNumberGenerator.GetBytes(8));

    /// <summary>
    /// Reads a standard query (QUERY opcode, one question, no answer or authority records, at most an OPT
    /// record in the additional section) into <paramref name="key"/> (at least <see cref="MaxLength"/> octets)
    /// through <see cref="QueryReader"/>. False for anything else: such queries are not answered from this
    /// cache. Malformed input is a plain false, never an exception.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> query, Span<byte> key, out int keyLength, out int nameLength)
    {
        keyLength = nameLength = 0;
        // The name is decoded straight into the key, then lowered in place.
        return QueryReader.TryRead(query, key, out var view, out _) && TryRead(view, query, key, out keyLength, out nameLength);
    }

    /// <summary>
    /// As <see cref="TryRead(ReadOnlySpan{byte}, Span{byte}, out int, out int)"/> for a query the caller has already
    /// read without error (<paramref name="view"/> over <paramref name="query"/>), so a hit reads the query once.
    /// </summary>
    public static bool TryRead(in QueryView view, ReadOnlySpan<byte> query, Span<byte> key, out int keyLength, out int nameLength)
    {
        keyLength = nameLength = 0;
        var header = view.Header;
        // QR must be 0 and the opcode QUERY; TSIG or any record but OPT is per-message, so not cacheable.
        if ((header.FlagsWord & 0xF800) != 0 || header.AnswerCount != 0 || header.AuthorityCount != 0) return false;
        if (header.AdditionalCount > (view.HasEdns ? 1 : 0)) return false;
        // A hit copies the question from the query, so it must be written out (not pointing into the header).
        if (!view.QuestionIsLiteral) return false;

        nameLength = view.Name.Length;
        var name = key[..nameLength];
        view.Name.CopyTo(name); // nothing to do when the name was decoded into the key itself
        if (Ascii.ToLowerInPlace(name, out _) != OperationStatus.Done)
        {
            // Octets above 0x7F are legal in labels; lower the ASCII letters one by one.
            for (int i = 0; i < name.Length; i++) name[i] = ToLower(name[i]);
        }
        query.Slice(view.QuestionEnd - 4, 4).CopyTo(key[nameLength..]);
        byte keyFlags = header.Has(HeaderFlags.CD) ? CheckingDisabled : (byte)0;
        if (view.HasEdns)
        {
            keyFlags |= Edns;
            if (view.DnssecOk) keyFlags |= DnssecOk;
        }
        if ((keyFlags & DnssecOk) == 0 && header.Has(HeaderFlags.AD)) keyFlags |= AuthenticDataWanted;
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

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ananas.Sandbox.Crypto;

/// <summary>libsodium's HMAC-SHA256 state: a plain value (two SHA-256 states) that can be keyed once and copied.</summary>
[InlineArray(Size)]
internal struct HmacSha256State
{
    public const int Size = 208;
    private byte _first;
}

/// <summary>
/// HMAC-SHA256 (RFC 2104) from libsodium on caller-owned state, for HKDF (RFC 5869). Incremental, so labeled inputs
/// (RFC 9180 §4) are fed piece by piece without building buffers, and a keyed state can be copied to MAC several
/// messages under one key; no per-call allocation and none of OpenSSL 3's per-operation algorithm fetch.
/// </summary>
internal static partial class HmacSha256
{
    public const int Length = 32;

    private const string Library = "libsodium";

    static HmacSha256()
    {
        if (sodium_init() < 0) throw new InvalidOperationException("libsodium failed to initialise");
        if ((int)crypto_auth_hmacsha256_statebytes() != HmacSha256State.Size)
            throw new InvalidOperationException($"libsodium's HMAC-SHA256 state is {crypto_auth_hmacsha256_statebytes()} bytes, not {HmacSha256State.Size}");
    }

    /// <summary>Keys <paramref name="state"/>; an empty key is the all-zero key (RFC 5869's absent salt).</summary>
    public static void Init(ref HmacSha256State state, ReadOnlySpan<byte> key) =>
        crypto_auth_hmacsha256_init(ref state[0], in MemoryMarshal.GetReference(key), (nuint)key.Length);

    public static void Update(ref HmacSha256State state, ReadOnlySpan<byte> data)
    {
        if (!data.IsEmpty) crypto_auth_hmacsha256_update(ref state[0], in MemoryMarshal.GetReference(data), (ulong)data.Length);
    }

    public static void Update(ref HmacSha256State state, byte value) => Update(ref state, new ReadOnlySpan<byte>(in value));

    /// <summary>Writes the 32-byte MAC; the state is spent.</summary>
    public static void Final(ref HmacSha256State state, Span<byte> mac)
    {
        if (mac.Length < Length) throw new ArgumentException("an HMAC-SHA256 output is 32 bytes", nameof(mac));
        crypto_auth_hmacsha256_final(ref state[0], ref MemoryMarshal.GetReference(mac));
    }

    [LibraryImport(Library)]
    private static partial int sodium_init();

    [LibraryImport(Library)]
    private static partial nuint crypto_auth_hmacsha256_statebytes();

    [LibraryImport(Library)]
    private static partial int crypto_auth_hmacsha256_init(ref byte state, in byte key, nuint keyLength);

    [LibraryImport(Library)]
    private static partial int crypto_auth_hmacsha256_update(ref byte state, in byte data, ulong length);

    [LibraryImport(Library)]
    private static partial int crypto_auth_hmacsha256_final(ref byte state, ref byte mac);
}

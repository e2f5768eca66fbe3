using System.Runtime.InteropServices;

namespace Ananas.Sandbox.Crypto;

/// <summary>
/// X25519 (RFC 7748) straight from libsodium's scalar multiplication on caller-owned buffers. NSec's key objects
/// (the same libsodium underneath) put every key in guarded, locked memory: several system calls per import, most
/// of an ODoH query's cost, for keys that live in ordinary managed arrays here anyway.
/// </summary>
internal static partial class X25519
{
    public const int Length = 32;

    private const string Library = "libsodium"; // the native library the NSec.Cryptography package ships

    static X25519()
    {
        if (sodium_init() < 0) throw new InvalidOperationException("libsodium failed to initialise");
    }

    /// <summary>The public key of <paramref name="privateKey"/>: X25519(sk, 9).</summary>
    public static byte[] PublicKeyOf(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != Length) throw new ArgumentException("an X25519 private key is 32 bytes", nameof(privateKey));
        var publicKey = new byte[Length];
        if (crypto_scalarmult_curve25519_base(ref publicKey[0], in MemoryMarshal.GetReference(privateKey)) != 0)
            throw new InvalidOperationException("X25519 base-point multiplication failed");
        return publicKey;
    }

    /// <summary>DH(sk, pk) into <paramref name="shared"/>; false when <paramref name="publicKey"/> is not 32 bytes or is of
    /// small order, i.e. the result would be all zeros (RFC 9180 §7.1.4: a ValidationError).</summary>
    public static bool TryAgree(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey, Span<byte> shared)
    {
        if (privateKey.Length != Length || publicKey.Length != Length || shared.Length < Length) return false;
        return crypto_scalarmult_curve25519(ref MemoryMarshal.GetReference(shared), in MemoryMarshal.GetReference(privateKey), in MemoryMarshal.GetReference(publicKey)) == 0;
    }

    [LibraryImport(Library)]
    private static partial int sodium_init();

    [LibraryImport(Library)]
    private static partial int crypto_scalarmult_curve25519(ref byte q, in byte n, in byte p);

    [LibraryImport(Library)]
    private static partial int crypto_scalarmult_curve25519_base(ref byte q, in byte n);
}

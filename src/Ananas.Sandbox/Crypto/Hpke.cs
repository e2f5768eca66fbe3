using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Ananas.Sandbox.Crypto;

/// <summary>The AEADs of RFC 9180 §7.3 this host offers with DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256.</summary>
public enum HpkeAead : ushort
{
    Aes128Gcm = 0x0001,
    ChaCha20Poly1305 = 0x0003,
}

/// <summary>
/// HPKE base mode (RFC 9180 §5.1.1) for DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and the AEADs of
/// <see cref="HpkeAead"/>: X25519 from libsodium (<see cref="X25519"/>; BouncyCastle's managed X25519 was most of a query's cost),
/// HKDF, AES-GCM and ChaCha20-Poly1305 from .NET.
/// </summary>
public static class Hpke
{
    public const ushort KemX25519Sha256 = 0x0020;
    public const ushort KdfHkdfSha256 = 0x0001;
    /// <summary>Nsecret = Nenc = Npk = Nsk = Nh for this KEM and KDF.</summary>
    public const int Length = 32;
    public const int TagLength = 16;
    public const int NonceLength = 12;

    private static readonly byte[] Version = "HPKE-v1"u8.ToArray();
    private static readonly byte[] KemSuite = [.. "KEM"u8, 0x00, 0x20];

    public static int KeyLength(HpkeAead aead) => aead == HpkeAead.Aes128Gcm ? 16 : 32;

    public static bool IsSupported(ushort aead) => aead == (ushort)HpkeAead.Aes128Gcm || (aead == (ushort)HpkeAead.ChaCha20Poly1305 && ChaCha20Poly1305.IsSupported);

    private static byte[] Suite(HpkeAead aead)
    {
        var suite = new byte[10];
        "HPKE"u8.CopyTo(suite);
        BinaryPrimitives.WriteUInt16BigEndian(suite.AsSpan(4), KemX25519Sha256);
        BinaryPrimitives.WriteUInt16BigEndian(suite.AsSpan(6), KdfHkdfSha256);
        BinaryPrimitives.WriteUInt16BigEndian(suite.AsSpan(8), (ushort)aead);
        return suite;
    }

    /// <summary>RFC 5869 Extract with SHA-256 (an empty salt is Nh zeros).</summary>
    public static byte[] Extract(ReadOnlySpan<byte> salt, ReadOnlySpan<byte> ikm)
    {
        var prk = new byte[Length];
        HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt, prk);
        return prk;
    }

    /// <summary>RFC 5869 Expand with SHA-256; <paramref name="output"/> at most 255 × 32 bytes.</summary>
    public static void Expand(ReadOnlySpan<byte> prk, ReadOnlySpan<byte> info, Span<byte> output) =>
        HKDF.Expand(HashAlgorithmName.SHA256, prk, output, info);

    private static byte[] LabeledExtract(byte[] suite, ReadOnlySpan<byte> salt, string label, ReadOnlySpan<byte> ikm) =>
        Extract(salt, [.. Version, .. suite, .. Encoding.ASCII.GetBytes(label), .. ikm]);

    private static byte[] LabeledExpand(byte[] suite, ReadOnlySpan<byte> prk, string label, ReadOnlySpan<byte> info, int length)
    {
        var output = new byte[length];
        Expand(prk, [(byte)(length >> 8), (byte)length, .. Version, .. suite, .. Encoding.ASCII.GetBytes(label), .. info], output);
        return output;
    }

    /// <summary>DeriveKeyPair (RFC 9180 §7.1.3) for X25519: (skX, pkX).</summary>
    public static (byte[] PrivateKey, byte[] PublicKey) DeriveKeyPair(ReadOnlySpan<byte> ikm)
    {
        var prk = LabeledExtract(KemSuite, [], "dkp_prk", ikm);
        var sk = LabeledExpand(KemSuite, prk, "sk", [], Length);
        return (sk, PublicKeyOf(sk));
    }

    public static (byte[] PrivateKey, byte[] PublicKey) GenerateKeyPair() => DeriveKeyPair(RandomNumberGenerator.GetBytes(Length));

    public static byte[] PublicKeyOf(byte[] privateKey) => X25519.PublicKeyOf(privateKey);

    /// <summary>DH(skX, pkY); null when the result is all zeros or the key is not one (RFC 9180 §7.1.4: a ValidationError).</summary>
    private static byte[]? Dh(byte[] privateKey, ReadOnlySpan<byte> publicKey)
    {
        var shared = new byte[Length];
        return X25519.TryAgree(privateKey, publicKey, shared) ? shared : null;
    }

    private static byte[] ExtractAndExpand(byte[] dh, ReadOnlySpan<byte> kemContext)
    {
        var prk = LabeledExtract(KemSuite, [], "eae_prk", dh);
        return LabeledExpand(KemSuite, prk, "shared_secret", kemContext, Length);
    }

    /// <summary>SetupBaseS: the sender's context and the encapsulated key. <paramref name="ikmE"/> fixes the ephemeral key (test vectors).</summary>
    public static (HpkeContext Context, byte[] Enc)? SetupBaseS(HpkeAead aead, ReadOnlySpan<byte> pkR, ReadOnlySpan<byte> info, ReadOnlySpan<byte> ikmE = default)
    {
        var (skE, pkE) = ikmE.IsEmpty ? GenerateKeyPair() : DeriveKeyPair(ikmE);
        if (Dh(skE, pkR) is not { } dh) return null;
        var shared = ExtractAndExpand(dh, [.. pkE, .. pkR]);
        return (KeySchedule(aead, shared, info), pkE);
    }

    /// <summary>SetupBaseR: the recipient's context; null when <paramref name="enc"/> is not a usable X25519 key.</summary>
    public static HpkeContext? SetupBaseR(HpkeAead aead, ReadOnlySpan<byte> enc, byte[] skR, byte[] pkR, ReadOnlySpan<byte> info)
    {
        if (Dh(skR, enc) is not { } dh) return null;
        var shared = ExtractAndExpand(dh, [.. enc, .. pkR]);
        return KeySchedule(aead, shared, info);
    }

    /// <summary>KeySchedule for mode_base (no PSK): key, base nonce and exporter secret.</summary>
    internal static HpkeContext KeySchedule(HpkeAead aead, byte[] sharedSecret, ReadOnlySpan<byte> info)
    {
        var suite = Suite(aead);
        var pskIdHash = LabeledExtract(suite, [], "psk_id_hash", []);
        var infoHash = LabeledExtract(suite, [], "info_hash", info);
        byte[] context = [0x00, .. pskIdHash, .. infoHash];
        var secret = LabeledExtract(suite, sharedSecret, "secret", []);
        var key = LabeledExpand(suite, secret, "key", context, KeyLength(aead));
        var nonce = LabeledExpand(suite, secret, "base_nonce", context, NonceLength);
        var exporter = LabeledExpand(suite, secret, "exp", context, Length);
        return new HpkeContext(aead, suite, key, nonce, exporter);
    }

    /// <summary>One AEAD Seal: <paramref name="output"/> holds the ciphertext then the 16-byte tag.</summary>
    public static void Seal(HpkeAead aead, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> output)
    {
        var cipher = output[..plaintext.Length];
        var tag = output.Slice(plaintext.Length, TagLength);
        if (aead == HpkeAead.Aes128Gcm)
        {
            using var gcm = new AesGcm(key, TagLength);
            gcm.Encrypt(nonce, plaintext, cipher, tag, aad);
        }
        else
        {
            using var chacha = new ChaCha20Poly1305(key);
            chacha.Encrypt(nonce, plaintext, cipher, tag, aad);
        }
    }

    /// <summary>One AEAD Open into <paramref name="output"/> (ciphertext length − 16 bytes); false when it does not authenticate.</summary>
    public static bool Open(HpkeAead aead, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, Span<byte> output)
    {
        if (ciphertext.Length < TagLength) return false;
        int length = ciphertext.Length - TagLength;
        try
        {
            if (aead == HpkeAead.Aes128Gcm)
            {
                using var gcm = new AesGcm(key, TagLength);
                gcm.Decrypt(nonce, ciphertext[..length], ciphertext[length..], output[..length], aad);
            }
            else
            {
                using var chacha = new ChaCha20Poly1305(key);
                chacha.Decrypt(nonce, ciphertext[..length], ciphertext[length..], output[..length], aad);
            }
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            output[..length].Clear();
            return false;
        }
    }
}

/// <summary>An HPKE encryption context (RFC 9180 §5.2, §5.3): sequence-numbered Seal/Open and Export.</summary>
public sealed class HpkeContext
{
    private readonly byte[] _suite;
    private readonly byte[] _key;
    private readonly byte[] _baseNonce;
    private readonly byte[] _exporterSecret;
    private ulong _sequence;

    internal HpkeContext(HpkeAead aead, byte[] suite, byte[] key, byte[] baseNonce, byte[] exporterSecret)
    {
        Aead = aead;
        _suite = suite;
        _key = key;
        _baseNonce = baseNonce;
        _exporterSecret = exporterSecret;
    }

    public HpkeAead Aead { get; }

    internal ReadOnlySpan<byte> Key => _key;
    internal ReadOnlySpan<byte> BaseNonce => _baseNonce;
    internal ReadOnlySpan<byte> ExporterSecret => _exporterSecret;

    public ulong Sequence
    {
        get => _sequence;
        internal set => _sequence = value;
    }

    private void Nonce(Span<byte> nonce)
    {
        _baseNonce.CopyTo(nonce);
        for (int i = 0; i < 8; i++) nonce[Hpke.NonceLength - 1 - i] ^= (byte)(_sequence >> (8 * i));
    }

    /// <summary>Seals into <paramref name="output"/> (plaintext + 16 bytes) and advances the sequence number.</summary>
    public void Seal(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, Span<byte> output)
    {
        Span<byte> nonce = stackalloc byte[Hpke.NonceLength];
        Nonce(nonce);
        Hpke.Seal(Aead, _key, nonce, aad, plaintext, output);
        _sequence++;
    }

    public byte[] Seal(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext)
    {
        var output = new byte[plaintext.Length + Hpke.TagLength];
        Seal(aad, plaintext, output);
        return output;
    }

    /// <summary>Opens into <paramref name="output"/>; false (sequence unchanged) when it does not authenticate.</summary>
    public bool Open(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext, Span<byte> output)
    {
        Span<byte> nonce = stackalloc byte[Hpke.NonceLength];
        Nonce(nonce);
        if (!Hpke.Open(Aead, _key, nonce, aad, ciphertext, output)) return false;
        _sequence++;
        return true;
    }

    public byte[]? Open(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext)
    {
        if (ciphertext.Length < Hpke.TagLength) return null;
        var output = new byte[ciphertext.Length - Hpke.TagLength];
        return Open(aad, ciphertext, output) ? output : null;
    }

    /// <summary>Export(exporter_context, L) = LabeledExpand(exporter_secret, "sec", exporter_context, L).</summary>
    public byte[] Export(ReadOnlySpan<byte> exporterContext, int length)
    {
        var output = new byte[length];
        byte[] info = [(byte)(length >> 8), (byte)length, .. "HPKE-v1"u8, .. _suite, .. "sec"u8, .. exporterContext];
        Hpke.Expand(_exporterSecret, info, output);
        return output;
    }
}

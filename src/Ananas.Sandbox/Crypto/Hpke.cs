using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Ananas.Sandbox.Crypto;

/// <summary>The AEADs of RFC 9180 §7.3 this host offers with DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256.</summary>
public enum HpkeAead : ushort
{
    Aes128Gcm = 0x0001,
    ChaCha20Poly1305 = 0x0003,
}

/// <summary>
/// HPKE base mode (RFC 9180 §5.1.1) for DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and the AEADs of
/// <see cref="HpkeAead"/>: X25519 and HMAC-SHA256 from libsodium (<see cref="X25519"/>, <see cref="HmacSha256"/>),
/// AES-GCM and ChaCha20-Poly1305 from .NET. Setting up a context allocates nothing: labeled inputs are fed to the
/// HMAC piece by piece, one keyed HMAC state serves the three expansions under the same secret, and the key
/// schedule context (psk_id_hash, info_hash: the same for every query with one info) is computed once per info.
/// </summary>
public static class Hpke
{
    public const ushort KemX25519Sha256 = 0x0020;
    public const ushort KdfHkdfSha256 = 0x0001;
    /// <summary>Nsecret = Nenc = Npk = Nsk = Nh for this KEM and KDF.</summary>
    public const int Length = 32;
    public const int TagLength = 16;
    public const int NonceLength = 12;
    /// <summary>The largest HKDF-Expand output (RFC 5869: 255 blocks).</summary>
    public const int MaxExpand = 255 * Length;
    private const int ContextLength = 1 + 2 * Length;

    private static ReadOnlySpan<byte> Version => "HPKE-v1"u8;
    private static ReadOnlySpan<byte> KemSuite => [0x4B, 0x45, 0x4D, 0x00, 0x20]; // "KEM", DHKEM(X25519, HKDF-SHA256)
    private static ReadOnlySpan<byte> SuiteAes128Gcm => [0x48, 0x50, 0x4B, 0x45, 0x00, 0x20, 0x00, 0x01, 0x00, 0x01]; // "HPKE", KEM, KDF, AEAD
    private static ReadOnlySpan<byte> SuiteChaCha20Poly1305 => [0x48, 0x50, 0x4B, 0x45, 0x00, 0x20, 0x00, 0x01, 0x00, 0x03];

    /// <summary>HMAC keyed with the empty salt (Nh zeros), copied for every Extract without salt.</summary>
    private static readonly HmacSha256State ZeroKey = Keyed([]);

    /// <summary>The last key schedule context computed: (AEAD, info, 0 || psk_id_hash || info_hash).</summary>
    private static ScheduleContext? s_context;

    private sealed record ScheduleContext(HpkeAead Aead, byte[] Info, byte[] Context);

    public static int KeyLength(HpkeAead aead) => aead == HpkeAead.Aes128Gcm ? 16 : 32;

    public static bool IsSupported(ushort aead) => aead == (ushort)HpkeAead.Aes128Gcm || (aead == (ushort)HpkeAead.ChaCha20Poly1305 && ChaCha20Poly1305.IsSupported);

    private static ReadOnlySpan<byte> Suite(HpkeAead aead) => aead == HpkeAead.Aes128Gcm ? SuiteAes128Gcm : SuiteChaCha20Poly1305;

    private static HmacSha256State Keyed(ReadOnlySpan<byte> key)
    {
        HmacSha256State state = default;
        HmacSha256.Init(ref state, key);
        return state;
    }

    /// <summary>RFC 5869 Extract with SHA-256 (an empty salt is Nh zeros).</summary>
    public static byte[] Extract(ReadOnlySpan<byte> salt, ReadOnlySpan<byte> ikm)
    {
        var prk = new byte[Length];
        Extract(salt, ikm, prk);
        return prk;
    }

    /// <summary>RFC 5869 Extract into <paramref name="prk"/> (32 bytes).</summary>
    public static void Extract(ReadOnlySpan<byte> salt, ReadOnlySpan<byte> ikm, Span<byte> prk)
    {
        var state = salt.IsEmpty ? ZeroKey : Keyed(salt);
        HmacSha256.Update(ref state, ikm);
        HmacSha256.Final(ref state, prk);
    }

    /// <summary>RFC 5869 Expand with SHA-256; <paramref name="output"/> at most <see cref="MaxExpand"/> bytes and not overlapping the inputs.</summary>
    public static void Expand(ReadOnlySpan<byte> prk, ReadOnlySpan<byte> info, Span<byte> output)
    {
        if (prk.Length < Length) throw new ArgumentException("a PRK is at least 32 bytes", nameof(prk));
        var keyed = Keyed(prk);
        Expand(in keyed, [], [], info, output);
    }

    /// <summary>
    /// T(1) || T(2) || … with T(i) = HMAC(prk, T(i-1) || prefix || label || info || i), from a state keyed with prk;
    /// LabeledExpand's info is I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info (<paramref name="prefix"/> holds
    /// all but the label and the info).
    /// </summary>
    private static void Expand(in HmacSha256State keyed, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> label, ReadOnlySpan<byte> info, Span<byte> output)
    {
        if (output.Length > MaxExpand) throw new ArgumentException("HKDF-Expand gives at most 255 × 32 bytes", nameof(output));
        Span<byte> block = stackalloc byte[Length];
        byte counter = 1;
        for (int done = 0; done < output.Length; done += Length, counter++)
        {
            var state = keyed;
            if (done > 0) HmacSha256.Update(ref state, block);
            HmacSha256.Update(ref state, prefix);
            HmacSha256.Update(ref state, label);
            HmacSha256.Update(ref state, info);
            HmacSha256.Update(ref state, counter);
            HmacSha256.Final(ref state, block);
            block[..Math.Min(Length, output.Length - done)].CopyTo(output[done..]);
        }
        block.Clear();
    }

    private static void LabeledExtract(ReadOnlySpan<byte> suite, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> label, ReadOnlySpan<byte> ikm, Span<byte> prk)
    {
        var state = salt.IsEmpty ? ZeroKey : Keyed(salt);
        HmacSha256.Update(ref state, Version);
        HmacSha256.Update(ref state, suite);
        HmacSha256.Update(ref state, label);
        HmacSha256.Update(ref state, ikm);
        HmacSha256.Final(ref state, prk);
    }

    private static void LabeledExpand(in HmacSha256State keyed, ReadOnlySpan<byte> suite, ReadOnlySpan<byte> label, ReadOnlySpan<byte> info, Span<byte> output)
    {
        Span<byte> prefix = stackalloc byte[2 + 7 + 10];
        BinaryPrimitives.WriteUInt16BigEndian(prefix, (ushort)output.Length);
        Version.CopyTo(prefix[2..]);
        suite.CopyTo(prefix[9..]);
        Expand(in keyed, prefix[..(9 + suite.Length)], label, info, output);
    }

    /// <summary>DeriveKeyPair (RFC 9180 §7.1.3) for X25519: (skX, pkX).</summary>
    public static (byte[] PrivateKey, byte[] PublicKey) DeriveKeyPair(ReadOnlySpan<byte> ikm)
    {
        Span<byte> prk = stackalloc byte[Length];
        LabeledExtract(KemSuite, [], "dkp_prk"u8, ikm, prk);
        var sk = new byte[Length];
        LabeledExpand(Keyed(prk), KemSuite, "sk"u8, [], sk);
        prk.Clear();
        return (sk, PublicKeyOf(sk));
    }

    public static (byte[] PrivateKey, byte[] PublicKey) GenerateKeyPair() => DeriveKeyPair(RandomNumberGenerator.GetBytes(Length));

    public static byte[] PublicKeyOf(byte[] privateKey) => X25519.PublicKeyOf(privateKey);

    /// <summary>shared_secret = ExtractAndExpand(dh, enc || pkR) (RFC 9180 §4.1).</summary>
    private static void ExtractAndExpand(ReadOnlySpan<byte> dh, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> pkR, Span<byte> shared)
    {
        Span<byte> prk = stackalloc byte[Length];
        LabeledExtract(KemSuite, [], "eae_prk"u8, dh, prk);
        Span<byte> kemContext = stackalloc byte[2 * Length];
        enc.CopyTo(kemContext);
        pkR.CopyTo(kemContext[Length..]);
        LabeledExpand(Keyed(prk), KemSuite, "shared_secret"u8, kemContext, shared[..Length]);
        prk.Clear();
    }

    /// <summary>SetupBaseS: the sender's context and the encapsulated key. <paramref name="ikmE"/> fixes the ephemeral key (test vectors).</summary>
    public static (HpkeContext Context, byte[] Enc)? SetupBaseS(HpkeAead aead, ReadOnlySpan<byte> pkR, ReadOnlySpan<byte> info, ReadOnlySpan<byte> ikmE = default)
    {
        var context = new HpkeContext();
        var enc = new byte[Length];
        return SetupBaseS(aead, pkR, info, context, enc, ikmE) ? (context, enc) : null;
    }

    /// <summary>SetupBaseS into <paramref name="context"/>, enc into <paramref name="enc"/> (32 bytes); false when <paramref name="pkR"/> is not a usable X25519 key.</summary>
    public static bool SetupBaseS(HpkeAead aead, ReadOnlySpan<byte> pkR, ReadOnlySpan<byte> info, HpkeContext context, Span<byte> enc, ReadOnlySpan<byte> ikmE = default)
    {
        var (skE, pkE) = ikmE.IsEmpty ? GenerateKeyPair() : DeriveKeyPair(ikmE);
        Span<byte> dh = stackalloc byte[Length];
        bool agreed = X25519.TryAgree(skE, pkR, dh);
        CryptographicOperations.ZeroMemory(skE);
        if (!agreed) return false;
        Span<byte> shared = stackalloc byte[Length];
        ExtractAndExpand(dh, pkE, pkR, shared);
        KeySchedule(aead, shared, info, context);
        pkE.CopyTo(enc);
        dh.Clear();
        shared.Clear();
        return true;
    }

    /// <summary>SetupBaseR: the recipient's context; null when <paramref name="enc"/> is not a usable X25519 key.</summary>
    public static HpkeContext? SetupBaseR(HpkeAead aead, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> skR, ReadOnlySpan<byte> pkR, ReadOnlySpan<byte> info)
    {
        var context = new HpkeContext();
        return SetupBaseR(aead, enc, skR, pkR, info, context) ? context : null;
    }

    /// <summary>SetupBaseR into <paramref name="context"/>; false when <paramref name="enc"/> is not a usable X25519 key (RFC 9180 §7.1.4).</summary>
    public static bool SetupBaseR(HpkeAead aead, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> skR, ReadOnlySpan<byte> pkR, ReadOnlySpan<byte> info, HpkeContext context)
    {
        Span<byte> dh = stackalloc byte[Length];
        if (!X25519.TryAgree(skR, enc, dh)) return false;
        Span<byte> shared = stackalloc byte[Length];
        ExtractAndExpand(dh, enc, pkR, shared);
        KeySchedule(aead, shared, info, context);
        dh.Clear();
        shared.Clear();
        return true;
    }

    /// <summary>KeySchedule for mode_base (no PSK) into <paramref name="context"/>: key, base nonce and exporter secret.</summary>
    private static void KeySchedule(HpkeAead aead, ReadOnlySpan<byte> sharedSecret, ReadOnlySpan<byte> info, HpkeContext context)
    {
        var suite = Suite(aead);
        Span<byte> scheduleContext = stackalloc byte[ContextLength];
        ScheduleContextFor(aead, info, scheduleContext);
        Span<byte> secret = stackalloc byte[Length];
        LabeledExtract(suite, sharedSecret, "secret"u8, [], secret);
        var keyed = Keyed(secret);
        secret.Clear();
        context.Begin(aead);
        LabeledExpand(in keyed, suite, "key"u8, scheduleContext, context.KeyBuffer);
        LabeledExpand(in keyed, suite, "base_nonce"u8, scheduleContext, context.BaseNonceBuffer);
        LabeledExpand(in keyed, suite, "exp"u8, scheduleContext, context.ExporterSecretBuffer);
        keyed = default;
    }

    /// <summary>key_schedule_context = mode || psk_id_hash || info_hash: from the cache when the AEAD and info are the last ones.</summary>
    private static void ScheduleContextFor(HpkeAead aead, ReadOnlySpan<byte> info, Span<byte> output)
    {
        if (s_context is { } cached && cached.Aead == aead && info.SequenceEqual(cached.Info))
        {
            cached.Context.CopyTo(output);
            return;
        }
        var suite = Suite(aead);
        output[0] = 0x00; // mode_base
        LabeledExtract(suite, [], "psk_id_hash"u8, [], output.Slice(1, Length));
        LabeledExtract(suite, [], "info_hash"u8, info, output.Slice(1 + Length, Length));
        // Infos are small and public (RFC 9180 §5.1); a long one is not worth keeping.
        if (info.Length <= 256) s_context = new ScheduleContext(aead, info.ToArray(), output[..ContextLength].ToArray());
    }

    /// <summary>Export(exporter_context, L) = LabeledExpand(exporter_secret, "sec", exporter_context, L) into <paramref name="output"/>.</summary>
    internal static void Export(HpkeAead aead, ReadOnlySpan<byte> exporterSecret, ReadOnlySpan<byte> exporterContext, Span<byte> output) =>
        LabeledExpand(Keyed(exporterSecret), Suite(aead), "sec"u8, exporterContext, output);

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

/// <summary>An HPKE encryption context (RFC 9180 §5.2, §5.3): sequence-numbered Seal/Open and Export. Reusable: a
/// setup overwrites it, <see cref="Clear"/> wipes its secrets.</summary>
public sealed class HpkeContext
{
    private readonly byte[] _key = new byte[32];
    private readonly byte[] _baseNonce = new byte[Hpke.NonceLength];
    private readonly byte[] _exporterSecret = new byte[Hpke.Length];
    private int _keyLength;
    private ulong _sequence;

    public HpkeAead Aead { get; private set; }

    internal ReadOnlySpan<byte> Key => _key.AsSpan(0, _keyLength);
    internal ReadOnlySpan<byte> BaseNonce => _baseNonce;
    internal ReadOnlySpan<byte> ExporterSecret => _exporterSecret;
    internal Span<byte> KeyBuffer => _key.AsSpan(0, _keyLength);
    internal Span<byte> BaseNonceBuffer => _baseNonce;
    internal Span<byte> ExporterSecretBuffer => _exporterSecret;

    public ulong Sequence
    {
        get => _sequence;
        internal set => _sequence = value;
    }

    /// <summary>Starts a new context for <paramref name="aead"/> (the key schedule then fills the buffers).</summary>
    internal void Begin(HpkeAead aead)
    {
        Aead = aead;
        _keyLength = Hpke.KeyLength(aead);
        _sequence = 0;
    }

    /// <summary>Wipes the key, base nonce and exporter secret.</summary>
    public void Clear()
    {
        CryptographicOperations.ZeroMemory(_key);
        CryptographicOperations.ZeroMemory(_baseNonce);
        CryptographicOperations.ZeroMemory(_exporterSecret);
        _sequence = 0;
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
        Hpke.Seal(Aead, Key, nonce, aad, plaintext, output);
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
        if (!Hpke.Open(Aead, Key, nonce, aad, ciphertext, output)) return false;
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
        Export(exporterContext, output);
        return output;
    }

    /// <summary>Export into <paramref name="output"/> (L = its length, at most 255 × 32; not overlapping the context).</summary>
    public void Export(ReadOnlySpan<byte> exporterContext, Span<byte> output) => Hpke.Export(Aead, _exporterSecret, exporterContext, output);
}

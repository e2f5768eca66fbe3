using System.Buffers.Binary;
using System.Security.Cryptography;
using NSec.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace Ananas.Resolver.Dnssec;

/// <summary>The outcome of one signature verification. Bad input never throws: it is one of these.</summary>
public enum SignatureResult : byte
{
    Valid,
    /// <summary>The signature does not verify (wrong key, altered data, malformed signature).</summary>
    Invalid,
    /// <summary>The algorithm is not implemented: the validator treats the zone as insecure (RFC 4035 §5.2), not bogus.</summary>
    UnsupportedAlgorithm,
    /// <summary>The DNSKEY's public key cannot be used (wrong length, bad point, RSA size out of bounds, protocol not 3).</summary>
    MalformedKey,
}

/// <summary>
/// One DNSSEC signing algorithm (IANA "DNS Security Algorithm Numbers"): parses a DNSKEY public key once into a
/// verifier object (cached by <see cref="DnskeyCache"/>) and verifies signatures with it.
/// Parsed keys must be safe to use from several threads at once.
/// </summary>
public interface IDnssecAlgorithm
{
    byte Number { get; }

    string Mnemonic { get; }

    /// <summary>The key object, or <c>null</c> when the public key is malformed. Must not throw.</summary>
    object? ParseKey(ReadOnlySpan<byte> publicKey);

    /// <summary>Whether <paramref name="signature"/> is a valid signature of <paramref name="data"/>. Must not throw.</summary>
    bool Verify(object key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature);
}

/// <summary>
/// RSA with PKCS#1 v1.5 (RFC 3110, RFC 5702): algorithms 5 RSASHA1, 7 RSASHA1-NSEC3-SHA1, 8 RSASHA256,
/// 10 RSASHA512. The key is <c>exponent length (1 octet, or 0 then 2 octets) | exponent | modulus</c>.
/// </summary>
public sealed class RsaAlgorithm : IDnssecAlgorithm
{
    private readonly HashAlgorithmName _hash;
    private readonly int _minBits;

    public const int MaxModulusBits = 4096;

    public RsaAlgorithm(byte number, string mnemonic, HashAlgorithmName hash, int minBits = 512)
    {
        Number = number;
        Mnemonic = mnemonic;
        _hash = hash;
        _minBits = minBits;
    }

    public byte Number { get; }

    public string Mnemonic { get; }

    public object? ParseKey(ReadOnlySpan<byte> publicKey)
    {
        if (!TrySplitKey(publicKey, out var exponent, out var modulus)) return null;
        int bits = BitLength(modulus);
        if (bits < _minBits || bits > MaxModulusBits) return null;
        try
        {
            var rsa = RSA.Create();
            rsa.ImportParameters(new RSAParameters { Exponent = exponent.ToArray(), Modulus = modulus.ToArray() });
            return rsa;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    public bool Verify(object key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        try
        {
            return ((RSA)key).VerifyData(data, signature, _hash, RSASignaturePadding.Pkcs1);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>Splits an RFC 3110 public key, leading zero octets of exponent and modulus removed.</summary>
    public static bool TrySplitKey(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> exponent, out ReadOnlySpan<byte> modulus)
    {
        exponent = modulus = default;
        if (key.Length < 1) return false;
        int expLength = key[0], offset = 1;
        if (expLength == 0)
        {
            if (key.Length < 3) return false;
            expLength = BinaryPrimitives.ReadUInt16BigEndian(key[1..]);
            offset = 3;
        }
        // An exponent longer than the modulus (or absurdly long) is no RSA key we accept.
        if (expLength == 0 || expLength > 16 || key.Length - offset <= expLength) return false;
        exponent = key.Slice(offset, expLength).TrimStart((byte)0);
        modulus = key[(offset + expLength)..].TrimStart((byte)0);
        return exponent.Length > 0 && modulus.Length > 0;
    }

    public static int BitLength(ReadOnlySpan<byte> magnitude)
    {
        magnitude = magnitude.TrimStart((byte)0);
        if (magnitude.IsEmpty) return 0;
        return (magnitude.Length - 1) * 8 + (32 - System.Numerics.BitOperations.LeadingZeroCount(magnitude[0]));
    }
}

/// <summary>ECDSA (RFC 6605): 13 ECDSAP256SHA256 and 14 ECDSAP384SHA384; key <c>X | Y</c>, signature <c>r | s</c>.</summary>
public sealed class EcdsaAlgorithm : IDnssecAlgorithm
{
    private readonly ECCurve _curve;
    private readonly HashAlgorithmName _hash;
    private readonly int _fieldLength;

    public EcdsaAlgorithm(byte number, string mnemonic, ECCurve curve, HashAlgorithmName hash, int fieldLength)
    {
        Number = number;
        Mnemonic = mnemonic;
        _curve = curve;
        _hash = hash;
        _fieldLength = fieldLength;
    }

    public byte Number { get; }

    public string Mnemonic { get; }

    public object? ParseKey(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != 2 * _fieldLength) return null;
        try
        {
            return ECDsa.Create(new ECParameters
            {
                Curve = _curve,
                Q = new ECPoint { X = publicKey[.._fieldLength].ToArray(), Y = publicKey[_fieldLength..].ToArray() },
            });
        }
        catch (CryptographicException)
        {
            return null; // not a point on the curve
        }
    }

    public bool Verify(object key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != 2 * _fieldLength) return false;
        try
        {
            return ((ECDsa)key).VerifyData(data, signature, _hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}

/// <summary>Ed25519 (RFC 8080, algorithm 15) through NSec (libsodium): 32-octet key, 64-octet signature.</summary>
public sealed class Ed25519Algorithm : IDnssecAlgorithm
{
    public byte Number => 15;

    public string Mnemonic => "ED25519";

    public object? ParseKey(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != 32) return null;
        try
        {
            return NSec.Cryptography.PublicKey.TryImport(SignatureAlgorithm.Ed25519, publicKey, KeyBlobFormat.RawPublicKey, out var key) ? key : null;
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            return null;
        }
    }

    public bool Verify(object key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        signature.Length == 64 && SignatureAlgorithm.Ed25519.Verify((NSec.Cryptography.PublicKey)key, data, signature);
}

/// <summary>Ed448 (RFC 8080, algorithm 16) through BouncyCastle: 57-octet key, 114-octet signature, empty context.</summary>
public sealed class Ed448Algorithm : IDnssecAlgorithm
{
    public byte Number => 16;

    public string Mnemonic => "ED448";

    public object? ParseKey(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != Ed448PublicKeyParameters.KeySize) return null;
        try
        {
            return new Ed448PublicKeyParameters(publicKey);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    public bool Verify(object key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != Ed448PublicKeyParameters.KeySize * 2) return false;
        try
        {
            // Signer objects hold state: one per call keeps the cached key shareable between threads.
            var signer = new Ed448Signer([]);
            signer.Init(false, (Ed448PublicKeyParameters)key);
            signer.BlockUpdate(data);
            return signer.VerifySignature(signature.ToArray());
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}

/// <summary>
/// DSA (RFC 2536, RFC 2539 via RFC 5155): 3 DSA and 6 DSA-NSEC3-SHA1, SHA-1 over the signed data. RFC 8624 §3.1 says
/// validators MUST NOT validate them any more, so they are only in <see cref="DnssecAlgorithmRegistry.WithDsa"/>
/// (<see cref="PeerCompatibility.ValidateDsa"/>, off by default: a DSA zone is then insecure). Key
/// <c>T | Q (20) | P | G | Y</c> with P, G, Y of 64 + 8T octets; signature <c>T | R (20) | S (20)</c>.
/// </summary>
public sealed class DsaAlgorithm(byte number, string mnemonic) : IDnssecAlgorithm
{
    public byte Number { get; } = number;

    public string Mnemonic { get; } = mnemonic;

    public object? ParseKey(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.IsEmpty || publicKey[0] > 8) return null;
        int size = 64 + publicKey[0] * 8;
        if (publicKey.Length != 1 + 20 + 3 * size) return null;
        try
        {
            var dsa = DSA.Create();
            dsa.ImportParameters(new DSAParameters
            {
                Q = publicKey.Slice(1, 20).ToArray(),
                P = publicKey.Slice(21, size).ToArray(),
                G = publicKey.Slice(21 + size, size).ToArray(),
                Y = publicKey.Slice(21 + 2 * size, size).ToArray(),
            });
            return dsa;
        }
        catch (Exception e) when (e is CryptographicException or PlatformNotSupportedException)
        {
            return null;
        }
    }

    public bool Verify(object key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        try
        {
            // Anything but the RFC 2536 layout is tried as a DER sequence of R and S, as Unbound does (val_secalgo.c):
            // old signers (and the peer test corpora) wrote DSA signatures that way.
            return signature.Length == 41
                ? ((DSA)key).VerifyData(data, signature[1..], HashAlgorithmName.SHA1, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
                : ((DSA)key).VerifyData(data, signature, HashAlgorithmName.SHA1, DSASignatureFormat.Rfc3279DerSequence);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}

/// <summary>The algorithms this resolver validates, by number.</summary>
public sealed class DnssecAlgorithmRegistry
{
    private readonly IDnssecAlgorithm?[] _byNumber = new IDnssecAlgorithm?[256];

    public static readonly DnssecAlgorithmRegistry Default = new(DefaultAlgorithms());

    /// <summary>The default algorithms plus DSA (3, 6), which RFC 8624 retired: for old zones and old test corpora only.</summary>
    public static readonly DnssecAlgorithmRegistry WithDsa = new([.. DefaultAlgorithms(), new DsaAlgorithm(3, "DSA"), new DsaAlgorithm(6, "DSA-NSEC3-SHA1")]);

    public DnssecAlgorithmRegistry(IEnumerable<IDnssecAlgorithm> algorithms)
    {
        foreach (var a in algorithms) _byNumber[a.Number] = a;
    }

    private static IDnssecAlgorithm[] DefaultAlgorithms() =>
    [
        new RsaAlgorithm(5, "RSASHA1", HashAlgorithmName.SHA1),
        new RsaAlgorithm(7, "RSASHA1-NSEC3-SHA1", HashAlgorithmName.SHA1),
        new RsaAlgorithm(8, "RSASHA256", HashAlgorithmName.SHA256),
        // RFC 5702 §2.2: RSA/SHA-512 keys are at least 1024 bits.
        new RsaAlgorithm(10, "RSASHA512", HashAlgorithmName.SHA512, minBits: 1024),
        new EcdsaAlgorithm(13, "ECDSAP256SHA256", ECCurve.NamedCurves.nistP256, HashAlgorithmName.SHA256, 32),
        new EcdsaAlgorithm(14, "ECDSAP384SHA384", ECCurve.NamedCurves.nistP384, HashAlgorithmName.SHA384, 48),
        new Ed25519Algorithm(),
        new Ed448Algorithm(),
    ];

    public IDnssecAlgorithm? Get(byte number) => _byNumber[number];

    public bool IsSupported(byte number) => _byNumber[number] is not null;
}

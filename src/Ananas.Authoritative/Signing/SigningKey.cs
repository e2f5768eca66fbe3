using System.Buffers;
using System.Security.Cryptography;
using Ananas.Dns.Records;
using MessagePack;
using NSec.Cryptography;

namespace Ananas.Authoritative.Signing;

/// <summary>
/// One zone signing key held in the edge store: ECDSA P-256 with SHA-256 (algorithm 13, RFC 6605) through
/// System.Security.Cryptography, or Ed25519 (algorithm 15, RFC 8080) through NSec, the same libraries the
/// resolver verifies with. Each key is a combined signing key (flags 257: zone key and SEP): it signs every
/// RRset, the DNSKEY RRset included, and its DS goes to the parent.
/// Stored as the MessagePack array <c>[algorithm: uint8, flags: uint16, public key: bin, private key: bin, created: int64]</c>
/// (private key: the P-256 scalar d, or the Ed25519 seed; 32 octets each).
/// </summary>
public sealed class SigningKey : IDisposable
{
    public const byte EcdsaP256Sha256 = 13;
    public const byte Ed25519 = 15;

    /// <summary>Zone key + secure entry point: a combined signing key.</summary>
    public const ushort CombinedKeyFlags = DnskeyData.ZoneKeyFlag | DnskeyData.SepFlag;

    private readonly byte[] _private;
    private readonly ECDsa? _ecdsa;
    private readonly Key? _ed25519;
    private readonly Lock _ecdsaLock = new();

    private SigningKey(byte algorithm, ushort flags, byte[] publicKey, byte[] privateKey, long created)
    {
        Algorithm = algorithm;
        Flags = flags;
        PublicKey = publicKey;
        _private = privateKey;
        Created = created;
        Dnskey = new DnskeyData(flags, 3, algorithm, publicKey);
        switch (algorithm)
        {
            case EcdsaP256Sha256:
                if (publicKey.Length != 64 || privateKey.Length != 32) throw new InvalidDataException("an ECDSA P-256 key has a 64-octet public key and a 32-octet private key");
                _ecdsa = ECDsa.Create(new ECParameters
                {
                    Curve = ECCurve.NamedCurves.nistP256,
                    D = privateKey,
                    Q = new ECPoint { X = publicKey[..32], Y = publicKey[32..] },
                });
                break;
            case Ed25519:
                if (publicKey.Length != 32 || privateKey.Length != 32) throw new InvalidDataException("an Ed25519 key has a 32-octet public key and a 32-octet seed");
                _ed25519 = Key.Import(SignatureAlgorithm.Ed25519, privateKey, KeyBlobFormat.RawPrivateKey);
                break;
            default:
                throw new InvalidDataException($"signing algorithm {algorithm} is not supported (13 ECDSAP256SHA256, 15 ED25519)");
        }
    }

    public static bool IsSupported(byte algorithm) => algorithm is EcdsaP256Sha256 or Ed25519;

    public byte Algorithm { get; }

    public ushort Flags { get; }

    public byte[] PublicKey { get; }

    /// <summary>Seconds since the epoch when the key was made.</summary>
    public long Created { get; }

    /// <summary>The key as DNSKEY RDATA (protocol 3).</summary>
    public DnskeyData Dnskey { get; }

    public ushort KeyTag => Dnskey.KeyTag;

    /// <summary>Both algorithms make 64-octet signatures (r | s for P-256, RFC 6605 §4; R | S for Ed25519).</summary>
    public int SignatureLength => 64;

    /// <summary>A new key from the system's random number generator.</summary>
    public static SigningKey Generate(byte algorithm, long created)
    {
        switch (algorithm)
        {
            case EcdsaP256Sha256:
            {
                using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                var p = ecdsa.ExportParameters(includePrivateParameters: true);
                return new SigningKey(algorithm, CombinedKeyFlags, [.. p.Q.X!, .. p.Q.Y!], p.D!, created);
            }
            case Ed25519:
            {
                using var key = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
                return new SigningKey(algorithm, CombinedKeyFlags, key.PublicKey.Export(KeyBlobFormat.RawPublicKey), key.Export(KeyBlobFormat.RawPrivateKey), created);
            }
            default:
                throw new ArgumentException($"signing algorithm {algorithm} is not supported (13 ECDSAP256SHA256, 15 ED25519)", nameof(algorithm));
        }
    }

    /// <summary>A key from its parts; the public key is taken as given (a test makes a key whose halves do not match).</summary>
    internal static SigningKey FromParts(byte algorithm, ushort flags, byte[] publicKey, byte[] privateKey, long created) =>
        new(algorithm, flags, publicKey, privateKey, created);

    /// <summary>Signs <paramref name="data"/> into <paramref name="signature"/> (<see cref="SignatureLength"/> octets).</summary>
    public void Sign(ReadOnlySpan<byte> data, Span<byte> signature)
    {
        if (_ecdsa is not null)
        {
            // An ECDsa object is not documented as safe for concurrent use; signing happens only on cache misses.
            lock (_ecdsaLock)
            {
                if (!_ecdsa.TrySignData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation, out int written) || written != 64)
                    throw new CryptographicException("ECDSA P-256 signing failed");
            }
            return;
        }
        SignatureAlgorithm.Ed25519.Sign(_ed25519!, data, signature[..64]);
    }

    public void Write(ref MessagePackWriter writer)
    {
        writer.WriteArrayHeader(5);
        writer.Write(Algorithm);
        writer.Write(Flags);
        writer.Write(PublicKey);
        writer.Write(_private);
        writer.Write(Created);
    }

    public static SigningKey Read(ref MessagePackReader reader)
    {
        if (reader.ReadArrayHeader() < 5) throw new InvalidDataException("signing key: expected 5 items");
        byte algorithm = reader.ReadByte();
        ushort flags = reader.ReadUInt16();
        var publicKey = reader.ReadBytes()?.ToArray() ?? throw new InvalidDataException("signing key: no public key");
        var privateKey = reader.ReadBytes()?.ToArray() ?? throw new InvalidDataException("signing key: no private key");
        long created = reader.ReadInt64();
        return new SigningKey(algorithm, flags, publicKey, privateKey, created);
    }

    /// <summary>Encodes a zone's key list (the value of its row in the <c>keys</c> table).</summary>
    public static byte[] EncodeList(IReadOnlyList<SigningKey> keys)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(keys.Count);
        foreach (var key in keys) key.Write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static List<SigningKey> DecodeList(ReadOnlyMemory<byte> value)
    {
        try
        {
            var reader = new MessagePackReader(value);
            int count = reader.ReadArrayHeader();
            if (count > 16) throw new InvalidDataException($"{count} keys for one zone, more than 16");
            var keys = new List<SigningKey>(count);
            for (int i = 0; i < count; i++) keys.Add(Read(ref reader));
            return keys;
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or CryptographicException or FormatException)
        {
            throw new InvalidDataException($"a signing key value is corrupt: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        _ecdsa?.Dispose();
        _ed25519?.Dispose();
    }
}

using System.Security.Cryptography;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Dnssec;
using NSec.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace Ananas.Resolver.Tests.Dnssec;

internal sealed class FixedClock(DateTimeOffset now) : IClock
{
    public DateTimeOffset UtcNow { get; set; } = now;

    public static FixedClock At(uint seconds) => new(DateTimeOffset.FromUnixTimeSeconds(seconds));

    public static FixedClock At(string yyyymmddhhmmss)
    {
        Assert.True(RrsigData.TryParseTime(yyyymmddhhmmss, out uint t));
        return At(t);
    }
}

/// <summary>Record parsing and signing helpers for the DNSSEC tests.</summary>
internal static class Kit
{
    public static ResourceRecord Rr(string text) => RecordText.Parse(text, DnsName.Root);

    public static DnsName N(string name) => DnsName.Parse(name);

    public static List<ResourceRecord> Rrs(params string[] lines) => [.. lines.Select(Rr)];

    public static DnskeyData Key(string text) => (DnskeyData)Rr(text).Data;

    public static RrsigData Sig(string text) => (RrsigData)Rr(text).Data;

    public static uint Time(string yyyymmddhhmmss)
    {
        Assert.True(RrsigData.TryParseTime(yyyymmddhhmmss, out uint t));
        return t;
    }

    /// <summary>A private key that can sign for one DNSSEC algorithm, and its DNSKEY.</summary>
    public abstract class TestKey
    {
        public abstract byte Algorithm { get; }

        public abstract byte[] PublicKey { get; }

        public abstract byte[] Sign(byte[] data);

        public DnskeyData Dnskey(ushort flags = 257) => new(flags, 3, Algorithm, PublicKey);

        /// <summary>Signs <paramref name="rrset"/> for <paramref name="zone"/>; labels default to the owner's.</summary>
        public RrsigData SignRRset(IReadOnlyList<ResourceRecord> rrset, DnsName zone, uint inception, uint expiration, int? labels = null, ushort? keyTag = null, uint originalTtl = 3600)
        {
            var owner = rrset[0].Name;
            byte l = (byte)(labels ?? (owner.IsWildcard ? owner.LabelCount - 1 : owner.LabelCount));
            var unsigned = new RrsigData(rrset[0].Type, Algorithm, l, originalTtl, expiration, inception, keyTag ?? Dnskey().KeyTag, zone, []);
            var signature = Sign(CanonicalForm.SignedData(unsigned, rrset));
            return new RrsigData(unsigned.TypeCovered, Algorithm, l, originalTtl, expiration, inception, unsigned.KeyTag, zone, signature);
        }
    }

    public sealed class RsaKey(byte algorithm, int bits = 2048) : TestKey
    {
        private readonly RSA _rsa = RSA.Create(bits);

        public override byte Algorithm => algorithm;

        public override byte[] PublicKey
        {
            get
            {
                var p = _rsa.ExportParameters(false);
                return [(byte)p.Exponent!.Length, .. p.Exponent, .. p.Modulus!];
            }
        }

        private HashAlgorithmName Hash => algorithm switch { 8 => HashAlgorithmName.SHA256, 10 => HashAlgorithmName.SHA512, _ => HashAlgorithmName.SHA1 };

        public override byte[] Sign(byte[] data) => _rsa.SignData(data, Hash, RSASignaturePadding.Pkcs1);
    }

    public sealed class EcdsaKey(byte algorithm) : TestKey
    {
        private readonly ECDsa _ec = ECDsa.Create(algorithm == 13 ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384);

        public override byte Algorithm => algorithm;

        public override byte[] PublicKey
        {
            get
            {
                var q = _ec.ExportParameters(false).Q;
                return [.. q.X!, .. q.Y!];
            }
        }

        public override byte[] Sign(byte[] data) =>
            _ec.SignData(data, algorithm == 13 ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    public sealed class Ed25519Key : TestKey
    {
        private readonly Key _key;

        public Ed25519Key(byte[]? seed = null)
        {
            var p = new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
            _key = seed is null ? NSec.Cryptography.Key.Create(SignatureAlgorithm.Ed25519, p)
                : NSec.Cryptography.Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey, p);
        }

        public override byte Algorithm => 15;

        public override byte[] PublicKey => _key.PublicKey.Export(KeyBlobFormat.RawPublicKey);

        public override byte[] Sign(byte[] data) => SignatureAlgorithm.Ed25519.Sign(_key, data);
    }

    public sealed class Ed448Key : TestKey
    {
        private readonly Ed448PrivateKeyParameters _key;

        public Ed448Key(byte[]? seed = null) =>
            _key = seed is null ? new Ed448PrivateKeyParameters(new Org.BouncyCastle.Security.SecureRandom()) : new Ed448PrivateKeyParameters(seed);

        public override byte Algorithm => 16;

        public override byte[] PublicKey => _key.GeneratePublicKey().GetEncoded();

        public override byte[] Sign(byte[] data)
        {
            var signer = new Ed448Signer([]);
            signer.Init(true, _key);
            signer.BlockUpdate(data, 0, data.Length);
            return signer.GenerateSignature();
        }
    }

    public static TestKey Create(byte algorithm) => algorithm switch
    {
        5 or 7 or 8 or 10 => new RsaKey(algorithm),
        13 or 14 => new EcdsaKey(algorithm),
        15 => new Ed25519Key(),
        16 => new Ed448Key(),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    /// <summary>A copy of <paramref name="data"/> with one bit flipped.</summary>
    public static byte[] Flip(ReadOnlySpan<byte> data, int index)
    {
        var copy = data.ToArray();
        copy[index % copy.Length] ^= 0x01;
        return copy;
    }

    public static RrsigData WithSignature(RrsigData s, byte[] signature) =>
        new(s.TypeCovered, s.Algorithm, s.Labels, s.OriginalTtl, s.Expiration, s.Inception, s.KeyTag, s.SignerName, signature);
}

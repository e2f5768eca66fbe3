using System.Security.Cryptography;
using Ananas.Dns;
using Ananas.Dns.Records;
using NSec.Cryptography;

namespace Ananas.Server.WarmUp;

/// <summary>
/// A throwaway DNSSEC signing key for the start-up warm-up's in-memory zones, made fresh at every start and never
/// stored: RSA/SHA-256 (algorithm 8), ECDSA P-256/SHA-256 (13) or Ed25519 (15), the algorithms most signed zones
/// use, so that the validator's code for each is compiled before the first client arrives.
/// </summary>
internal sealed class WarmUpKey : IDisposable
{
    private readonly RSA? _rsa;
    private readonly ECDsa? _ecdsa;
    private readonly Key? _ed25519;

    public WarmUpKey(byte algorithm)
    {
        Algorithm = algorithm;
        byte[] publicKey;
        switch (algorithm)
        {
            case 8:
                // 1,024 bits: the same verification code as a 2,048-bit key, made and used several times faster at start.
                _rsa = RSA.Create(1024);
                var rsa = _rsa.ExportParameters(false);
                publicKey = [(byte)rsa.Exponent!.Length, .. rsa.Exponent, .. rsa.Modulus!]; // RFC 3110 §2
                break;
            case 13:
                _ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                var q = _ecdsa.ExportParameters(false).Q;
                publicKey = [.. q.X!, .. q.Y!]; // RFC 6605 §4
                break;
            case 15:
                _ed25519 = Key.Create(SignatureAlgorithm.Ed25519);
                publicKey = _ed25519.PublicKey.Export(KeyBlobFormat.RawPublicKey); // RFC 8080 §3
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "the warm-up signs with algorithms 8, 13 and 15");
        }
        Dnskey = new DnskeyData(DnskeyData.ZoneKeyFlag | DnskeyData.SepFlag, 3, algorithm, publicKey);
    }

    public byte Algorithm { get; }

    public DnskeyData Dnskey { get; }

    /// <summary>The RRSIG record over <paramref name="rrset"/> (one owner and type), signed by <paramref name="zone"/>.</summary>
    public ResourceRecord Sign(IReadOnlyList<ResourceRecord> rrset, DnsName zone, uint inception, uint expiration)
    {
        var owner = rrset[0].Name;
        byte labels = (byte)(owner.IsWildcard ? owner.LabelCount - 1 : owner.LabelCount);
        var unsigned = new RrsigData(rrset[0].Type, Algorithm, labels, rrset[0].Ttl, expiration, inception, Dnskey.KeyTag, zone, []);
        var signature = Sign(CanonicalForm.SignedData(unsigned, rrset));
        var rrsig = new RrsigData(unsigned.TypeCovered, Algorithm, labels, unsigned.OriginalTtl, expiration, inception, unsigned.KeyTag, zone, signature);
        return new ResourceRecord(owner, rrset[0].Ttl, rrsig);
    }

    private byte[] Sign(byte[] data) => Algorithm switch
    {
        8 => _rsa!.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        13 => _ecdsa!.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
        _ => SignatureAlgorithm.Ed25519.Sign(_ed25519!, data),
    };

    public void Dispose()
    {
        _rsa?.Dispose();
        _ecdsa?.Dispose();
        _ed25519?.Dispose();
    }
}

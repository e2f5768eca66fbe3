using System.Security.Cryptography;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Resolver.Dnssec;
using BenchmarkDotNet.Attributes;
using NSec.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace Ananas.Benchmarks.Dnssec;

/// <summary>
/// One signature verification per algorithm through <see cref="SignatureVerifier"/> with the parsed key
/// cached (the steady state of a validator), over the signed data of a two-record A RRset; keys are
/// generated once in setup (RSA 2048).
/// </summary>
[MemoryDiagnoser]
public class DnssecVerifyBenchmarks
{
    private readonly Dictionary<byte, (DnskeyData Key, byte[] Data, byte[] Signature)> _cases = [];
    private readonly SignatureVerifier _verifier = new(DnssecAlgorithmRegistry.Default, new DnskeyCache());

    [Params((byte)8, (byte)10, (byte)13, (byte)14, (byte)15, (byte)16)]
    public byte Algorithm { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var zone = DnsName.Parse("example.org.");
        var rrset = new List<ResourceRecord>
        {
            new(DnsName.Parse("www.example.org."), 300, new AddressData(System.Net.IPAddress.Parse("192.0.2.1"))),
            new(DnsName.Parse("www.example.org."), 300, new AddressData(System.Net.IPAddress.Parse("192.0.2.2"))),
        };
        var (publicKey, sign) = CreateKey(Algorithm);
        var key = new DnskeyData(257, 3, Algorithm, publicKey);
        var unsigned = new RrsigData(RRType.A, Algorithm, 3, 300, 2_000_000_000, 1_700_000_000, key.KeyTag, zone, []);
        var data = CanonicalForm.SignedData(unsigned, rrset);
        _cases[Algorithm] = (key, data, sign(data));
        if (_verifier.Verify(key, data, _cases[Algorithm].Signature) != SignatureResult.Valid) throw new InvalidOperationException("setup signature does not verify");
    }

    private static (byte[] PublicKey, Func<byte[], byte[]> Sign) CreateKey(byte algorithm)
    {
        switch (algorithm)
        {
            case 8 or 10:
                var rsa = RSA.Create(2048);
                var p = rsa.ExportParameters(false);
                var hash = algorithm == 8 ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA512;
                return ([(byte)p.Exponent!.Length, .. p.Exponent, .. p.Modulus!], d => rsa.SignData(d, hash, RSASignaturePadding.Pkcs1));
            case 13 or 14:
                var ec = ECDsa.Create(algorithm == 13 ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384);
                var q = ec.ExportParameters(false).Q;
                var h = algorithm == 13 ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA384;
                return ([.. q.X!, .. q.Y!], d => ec.SignData(d, h, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
            case 15:
                var ed = Key.Create(SignatureAlgorithm.Ed25519);
                return (ed.PublicKey.Export(KeyBlobFormat.RawPublicKey), d => SignatureAlgorithm.Ed25519.Sign(ed, d));
            default:
                var ed448 = new Ed448PrivateKeyParameters(new Org.BouncyCastle.Security.SecureRandom());
                return (ed448.GeneratePublicKey().GetEncoded(), d =>
                {
                    var s = new Ed448Signer([]);
                    s.Init(true, ed448);
                    s.BlockUpdate(d, 0, d.Length);
                    return s.GenerateSignature();
                });
        }
    }

    [Benchmark]
    public SignatureResult Verify()
    {
        var (key, data, signature) = _cases[Algorithm];
        return _verifier.Verify(key, data, signature);
    }
}

/// <summary>The NSEC3 owner-name hash (SHA-1, 4-octet salt) of a three-label name.</summary>
[MemoryDiagnoser]
public class Nsec3HashBenchmarks
{
    private readonly DnsName _name = DnsName.Parse("www.example.org.");
    private readonly byte[] _salt = [0xAA, 0xBB, 0xCC, 0xDD];
    private readonly byte[] _hash = new byte[Nsec3Hash.Length];

    [Params(0, 10, 150)]
    public int Iterations { get; set; }

    [Benchmark]
    public byte Hash()
    {
        Nsec3Hash.Compute(_name, _salt, Iterations, _hash);
        return _hash[0];
    }
}

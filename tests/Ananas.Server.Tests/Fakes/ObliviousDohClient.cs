using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;

namespace Ananas.Server.Tests.Fakes;

/// <summary>
/// An Oblivious DoH client written from RFC 9230 and RFC 9180 for the tests, sharing no code with the server (its
/// own HPKE over .NET's HKDF/AES-GCM and BouncyCastle's X25519; the target's ODoH code is the Rust guest). Only the
/// suite DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM. Target-side operations are here too, for the
/// RFC 9230 test vectors.
/// </summary>
internal static class ObliviousDohClient
{
    public const string MediaType = "application/oblivious-dns-message";
    private const int Nk = 16, Nn = 12, Nh = 32;

    /// <summary>An HPKE base-mode context (RFC 9180 §5), sequence 0 only (ODoH seals or opens once).</summary>
    public sealed record Context(byte[] Key, byte[] BaseNonce, byte[] ExporterSecret);

    /// <summary>A query in flight: what the client needs to open the answer.</summary>
    public sealed record Pending(Context Context, byte[] QueryPlain);

    // ---- RFC 9180 pieces ----

    private static byte[] Cat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static byte[] I2(int n) => [(byte)(n >> 8), (byte)n];

    private static readonly byte[] KemId = Cat("KEM"u8.ToArray(), I2(0x20));
    private static readonly byte[] SuiteId = Cat("HPKE"u8.ToArray(), I2(0x20), I2(1), I2(1));

    private static byte[] Extract(byte[] salt, byte[] ikm) => HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt);

    private static byte[] Expand(byte[] prk, byte[] info, int length) => HKDF.Expand(HashAlgorithmName.SHA256, prk, length, info);

    private static byte[] LabeledExtract(byte[] suite, byte[] salt, string label, byte[] ikm) =>
        Extract(salt, Cat("HPKE-v1"u8.ToArray(), suite, Encoding.ASCII.GetBytes(label), ikm));

    private static byte[] LabeledExpand(byte[] suite, byte[] prk, string label, byte[] info, int length) =>
        Expand(prk, Cat(I2(length), "HPKE-v1"u8.ToArray(), suite, Encoding.ASCII.GetBytes(label), info), length);

    public static (byte[] Sk, byte[] Pk) DeriveKeyPair(byte[] ikm)
    {
        var sk = LabeledExpand(KemId, LabeledExtract(KemId, [], "dkp_prk", ikm), "sk", [], 32);
        return (sk, new X25519PrivateKeyParameters(sk).GeneratePublicKey().GetEncoded());
    }

    private static byte[] Dh(byte[] sk, byte[] pk)
    {
        var shared = new byte[32];
        new X25519PrivateKeyParameters(sk).GenerateSecret(new X25519PublicKeyParameters(pk), shared, 0);
        return shared;
    }

    private static Context Schedule(byte[] dh, byte[] enc, byte[] pkR, byte[] info)
    {
        var shared = LabeledExpand(KemId, LabeledExtract(KemId, [], "eae_prk", dh), "shared_secret", Cat(enc, pkR), 32);
        var context = Cat([0], LabeledExtract(SuiteId, [], "psk_id_hash", []), LabeledExtract(SuiteId, [], "info_hash", info));
        var secret = LabeledExtract(SuiteId, shared, "secret", []);
        return new Context(LabeledExpand(SuiteId, secret, "key", context, Nk), LabeledExpand(SuiteId, secret, "base_nonce", context, Nn),
            LabeledExpand(SuiteId, secret, "exp", context, Nh));
    }

    private static byte[] Export(Context c, byte[] exporterContext, int length) => LabeledExpand(SuiteId, c.ExporterSecret, "sec", exporterContext, length);

    private static byte[] Seal(byte[] key, byte[] nonce, byte[] aad, byte[] plaintext)
    {
        var output = new byte[plaintext.Length + 16];
        using var gcm = new AesGcm(key, 16);
        gcm.Encrypt(nonce, plaintext, output.AsSpan(0, plaintext.Length), output.AsSpan(plaintext.Length), aad);
        return output;
    }

    private static byte[] Open(byte[] key, byte[] nonce, byte[] aad, byte[] ciphertext)
    {
        var output = new byte[ciphertext.Length - 16];
        using var gcm = new AesGcm(key, 16);
        gcm.Decrypt(nonce, ciphertext.AsSpan(0, output.Length), ciphertext.AsSpan(output.Length), output, aad);
        return output;
    }

    // ---- RFC 9230 ----

    /// <summary>The first ObliviousDoHConfig with our suite in ObliviousDoHConfigs: (contents, public key).</summary>
    public static (byte[] Contents, byte[] PublicKey) ParseConfigs(byte[] configs)
    {
        int total = BinaryPrimitives.ReadUInt16BigEndian(configs);
        if (total + 2 != configs.Length) throw new FormatException("ObliviousDoHConfigs length does not match");
        int at = 2;
        while (at + 4 <= configs.Length)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(configs.AsSpan(at + 2));
            var contents = configs.AsSpan(at + 4, length).ToArray();
            at += 4 + length;
            if (BinaryPrimitives.ReadUInt16BigEndian(contents) == 0x20 && BinaryPrimitives.ReadUInt16BigEndian(contents.AsSpan(2)) == 1 && BinaryPrimitives.ReadUInt16BigEndian(contents.AsSpan(4)) == 1)
                return (contents, contents.AsSpan(8, BinaryPrimitives.ReadUInt16BigEndian(contents.AsSpan(6))).ToArray());
        }
        throw new FormatException("no configuration with X25519/HKDF-SHA256/AES-128-GCM");
    }

    public static byte[] KeyId(byte[] contents) => Expand(Extract([], contents), "odoh key id"u8.ToArray(), Nh);

    private static byte[] Plaintext(byte[] message, int padding) => Cat(I2(message.Length), message, I2(padding), new byte[padding]);

    private static byte[] Message(byte type, byte[] keyId, byte[] encrypted) => Cat([type], I2(keyId.Length), keyId, I2(encrypted.Length), encrypted);

    /// <summary>An encrypted query (ObliviousDoHMessage, type 1) to the configuration's key; padded to a multiple of 128 bytes (RFC 8467).</summary>
    public static (byte[] Message, Pending Pending) EncryptQuery(byte[] contents, byte[] dnsQuery)
    {
        var publicKey = contents.AsSpan(8).ToArray();
        var keyId = KeyId(contents);
        int padding = (128 - (dnsQuery.Length + 4) % 128) % 128;
        var plain = Plaintext(dnsQuery, padding);
        var (skE, pkE) = DeriveKeyPair(RandomNumberGenerator.GetBytes(32));
        var context = Schedule(Dh(skE, publicKey), pkE, publicKey, "odoh query"u8.ToArray());
        var ct = Seal(context.Key, context.BaseNonce, Cat([1], I2(keyId.Length), keyId), plain);
        return (Message(1, keyId, Cat(pkE, ct)), new Pending(context, plain));
    }

    /// <summary>Target side (vectors): opens a query with the private key; the context and Q_plain.</summary>
    public static Pending DecryptQuery(byte[] message, byte[] skR, byte[] pkR)
    {
        var (type, keyId, encrypted) = ParseMessage(message);
        if (type != 1) throw new FormatException("not a query");
        var enc = encrypted[..32];
        var context = Schedule(Dh(skR, enc), enc, pkR, "odoh query"u8.ToArray());
        return new Pending(context, Open(context.Key, context.BaseNonce, Cat([1], I2(keyId.Length), keyId), encrypted[32..]));
    }

    private static (byte[] Key, byte[] Nonce) ResponseKeys(Pending pending, byte[] responseNonce)
    {
        var secret = Export(pending.Context, "odoh response"u8.ToArray(), Nk);
        var prk = Extract(Cat(pending.QueryPlain, I2(responseNonce.Length), responseNonce), secret);
        return (Expand(prk, "odoh key"u8.ToArray(), Nk), Expand(prk, "odoh nonce"u8.ToArray(), Nn));
    }

    /// <summary>Target side (vectors): the encrypted response with a given response nonce and padding.</summary>
    public static byte[] EncryptResponse(Pending pending, byte[] response, int padding, byte[] responseNonce)
    {
        var (key, nonce) = ResponseKeys(pending, responseNonce);
        var ct = Seal(key, nonce, Cat([2], I2(responseNonce.Length), responseNonce), Plaintext(response, padding));
        return Message(2, responseNonce, ct);
    }

    /// <summary>Opens a response (ObliviousDoHMessage, type 2): the DNS message and the padding length (the padding must be zeros).</summary>
    public static (byte[] Response, int Padding) DecryptResponse(Pending pending, byte[] message)
    {
        var (type, responseNonce, encrypted) = ParseMessage(message);
        if (type != 2) throw new FormatException("not a response");
        var (key, nonce) = ResponseKeys(pending, responseNonce);
        var plain = Open(key, nonce, Cat([2], I2(responseNonce.Length), responseNonce), encrypted);
        return SplitPlaintext(plain);
    }

    public static (byte[] Message, int Padding) SplitPlaintext(byte[] plain)
    {
        int length = BinaryPrimitives.ReadUInt16BigEndian(plain);
        int padding = BinaryPrimitives.ReadUInt16BigEndian(plain.AsSpan(2 + length));
        if (4 + length + padding != plain.Length || plain.AsSpan(4 + length).ContainsAnyExcept((byte)0)) throw new FormatException("bad plaintext padding");
        return (plain.AsSpan(2, length).ToArray(), padding);
    }

    private static (byte Type, byte[] KeyId, byte[] Encrypted) ParseMessage(byte[] message)
    {
        int idLength = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(1));
        var keyId = message.AsSpan(3, idLength).ToArray();
        int length = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(3 + idLength));
        if (5 + idLength + length != message.Length) throw new FormatException("ObliviousDoHMessage length does not match");
        return (message[0], keyId, message.AsSpan(5 + idLength, length).ToArray());
    }
}

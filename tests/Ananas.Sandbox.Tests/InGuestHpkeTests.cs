using System.Buffers.Binary;
using System.Security.Cryptography;
using Ananas.Sandbox.Crypto;
using Ananas.Tests.Shared;

namespace Ananas.Sandbox.Tests;

/// <summary>
/// HPKE compiled into a guest (guests/tests/hpke.rs: X25519, SHA-256/HKDF, AES-128-GCM in plain Rust), the guest
/// side of the host-vs-guest comparison: it must compute what the RFC 9180 vectors (the ones <see cref="HpkeTests"/>
/// checks the host against) say, and its ODoH target crypto must interoperate with the host's.
/// </summary>
public sealed class InGuestHpkeTests : IDisposable
{
    private readonly GuestHpke _guest = new(Guests.PathOf("hpke"));

    public void Dispose() => _guest.Dispose();

    private static byte[] Hex(string hex) => Convert.FromHexString(hex);

    private static void Var(List<byte> input, ReadOnlySpan<byte> value)
    {
        input.Add((byte)(value.Length >> 8));
        input.Add((byte)value.Length);
        input.AddRange(value);
    }

    [Fact]
    public void The_guest_derives_keys_encapsulates_seals_opens_and_exports_as_RFC_9180_A_1_1_says()
    {
        var v = HpkeTests.A11;
        var input = new List<byte>();
        input.AddRange(Hex(v.IkmE));
        input.AddRange(Hex(v.IkmR));
        Var(input, Hex(HpkeTests.Info));
        Var(input, Hex(HpkeTests.Plaintext));
        input.Add((byte)v.Encryptions.Length);
        foreach (var (seq, aad, _) in v.Encryptions)
        {
            var s = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(s, (ulong)seq);
            input.AddRange(s);
            Var(input, Hex(aad));
        }
        input.Add((byte)v.Exports.Length);
        foreach (var (context, _) in v.Exports) Var(input, Hex(context));

        var output = _guest.Vector(input.ToArray());

        Assert.NotNull(output);
        int at = 0;
        string Next(int length)
        {
            string hex = Convert.ToHexStringLower(output.AsSpan(at, length));
            at += length;
            return hex;
        }
        Assert.Equal(v.SkRm, Next(32));
        Assert.Equal(v.PkRm, Next(32));
        Assert.Equal(v.PkEm, Next(32));
        Assert.Equal(v.SharedSecret, Next(32));
        Assert.Equal(v.Key, Next(16));
        Assert.Equal(v.BaseNonce, Next(12));
        Assert.Equal(v.ExporterSecret, Next(32));
        int plaintextLength = HpkeTests.Plaintext.Length / 2;
        foreach (var (_, _, ct) in v.Encryptions)
        {
            Assert.Equal(ct, Next(plaintextLength + 16));
            Assert.Equal(HpkeTests.Plaintext, Next(plaintextLength));
        }
        foreach (var (_, value) in v.Exports) Assert.Equal(value, Next(32));
        Assert.Equal(output.Length, at);
    }

    [Fact]
    public void The_guests_ODoH_target_opens_a_query_the_host_sealed_and_seals_an_answer_the_host_opens()
    {
        var (skR, pkR) = Hpke.GenerateKeyPair();
        var query = RandomNumberGenerator.GetBytes(128);
        var (sender, enc) = Hpke.SetupBaseS(HpkeAead.Aes128Gcm, pkR, "odoh query"u8)!.Value;
        var ct = sender.Seal([], query);

        var sealedAnswer = _guest.OdohTarget(skR, pkR, enc, ct, iterations: 2);

        // The client's side of the response, with the host's primitives: key and nonce from the query and the export.
        Assert.NotNull(sealedAnswer);
        Assert.Equal(468 + 16, sealedAnswer.Length);
        var prk = Hpke.Extract(query, sender.Export("odoh response"u8, 16));
        var key = new byte[16];
        var nonce = new byte[12];
        Hpke.Expand(prk, "odoh key"u8, key);
        Hpke.Expand(prk, "odoh nonce"u8, nonce);
        var answer = new byte[468];
        using var gcm = new AesGcm(key, 16);
        gcm.Decrypt(nonce, sealedAnswer.AsSpan(0, 468), sealedAnswer.AsSpan(468), answer);
        Assert.All(answer, b => Assert.Equal(0, b));
    }

    [Fact]
    public void The_guests_ODoH_target_refuses_a_tampered_query_and_a_zero_encapsulated_key()
    {
        var (skR, pkR) = Hpke.GenerateKeyPair();
        var (sender, enc) = Hpke.SetupBaseS(HpkeAead.Aes128Gcm, pkR, "odoh query"u8)!.Value;
        var ct = sender.Seal([], new byte[128]);
        ct[5] ^= 0x40;

        Assert.Null(_guest.OdohTarget(skR, pkR, enc, ct));
        Assert.Null(_guest.OdohTarget(skR, pkR, new byte[32], sender.Seal([], new byte[128])));
    }
}

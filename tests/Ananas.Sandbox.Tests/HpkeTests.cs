using Ananas.Sandbox.Crypto;

namespace Ananas.Sandbox.Tests;

/// <summary>RFC 9180 Appendix A.1.1 and A.2.1 (base mode, X25519/HKDF-SHA256 with AES-128-GCM and ChaCha20-Poly1305).</summary>
public sealed class HpkeTests
{
    public sealed record Vector(HpkeAead Aead, string IkmE, string PkEm, string IkmR, string PkRm, string SkRm, string SharedSecret,
        string Key, string BaseNonce, string ExporterSecret, (int Seq, string Aad, string Ct)[] Encryptions, (string Context, string Value)[] Exports);

    public const string Info = "4f6465206f6e2061204772656369616e2055726e";
    public const string Plaintext = "4265617574792069732074727574682c20747275746820626561757479";

    public static readonly Vector A11 = new(HpkeAead.Aes128Gcm,
        "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
        "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
        "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037",
        "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
        "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
        "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc",
        "4531685d41d65f03dc48f6b8302c05b0", "56d890e5accaaf011cff4b7d",
        "45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8",
        [
            (0, "436f756e742d30", "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a"),
            (1, "436f756e742d31", "af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84"),
            (255, "436f756e742d323535", "7175db9717964058640a3a11fb9007941a5d1757fda1a6935c805c21af32505bf106deefec4a49ac38d71c9e0a"),
            (256, "436f756e742d323536", "957f9800542b0b8891badb026d79cc54597cb2d225b54c00c5238c25d05c30e3fbeda97d2e0e1aba483a2df9f2"),
        ],
        [
            ("", "3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee"),
            ("00", "2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5"),
            ("54657374436f6e74657874", "e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931"),
        ]);

    public static readonly Vector A21 = new(HpkeAead.ChaCha20Poly1305,
        "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b",
        "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",
        "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df",
        "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a",
        "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb",
        "0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7",
        "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91", "5c4d98150661b848853b547f",
        "a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922",
        [
            (0, "436f756e742d30", "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28"),
            (1, "436f756e742d31", "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc98c"),
            (255, "436f756e742d323535", "18ab939d63ddec9f6ac2b60d61d36a7375d2070c9b683861110757062c52b8880a5f6b3936da9cd6c23ef2a95c"),
            (256, "436f756e742d323536", "7a4a13e9ef23978e2c520fd4d2e757514ae160cd0cd05e556ef692370ca53076214c0c40d4c728d6ed9e727a5b"),
        ],
        [
            ("", "4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e"),
            ("00", "8c1df14732580e5501b00f82b10a1647b40713191b7c1240ac80e2b68808ba69"),
            ("54657374436f6e74657874", "5acb09211139c43b3090489a9da433e8a30ee7188ba8b0a9a1ccf0c229283e53"),
        ]);

    public static TheoryData<string> Vectors => ["A.1.1", "A.2.1"];

    private static Vector Of(string name) => name == "A.1.1" ? A11 : A21;

    private static byte[] Hex(string hex) => Convert.FromHexString(hex);

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Key_derivation_encapsulation_and_the_key_schedule_match_the_RFC_vector(string name)
    {
        var v = Of(name);
        var (skR, pkR) = Hpke.DeriveKeyPair(Hex(v.IkmR));
        Assert.Equal(v.SkRm, Convert.ToHexStringLower(skR));
        Assert.Equal(v.PkRm, Convert.ToHexStringLower(pkR));

        var (sender, enc) = Hpke.SetupBaseS(v.Aead, pkR, Hex(Info), Hex(v.IkmE))!.Value;
        Assert.Equal(v.PkEm, Convert.ToHexStringLower(enc));
        Assert.Equal(v.Key, Convert.ToHexStringLower(sender.Key));
        Assert.Equal(v.BaseNonce, Convert.ToHexStringLower(sender.BaseNonce));
        Assert.Equal(v.ExporterSecret, Convert.ToHexStringLower(sender.ExporterSecret));

        var receiver = Hpke.SetupBaseR(v.Aead, enc, skR, pkR, Hex(Info))!;
        Assert.Equal(v.Key, Convert.ToHexStringLower(receiver.Key));
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Sealing_and_opening_at_each_sequence_number_match_the_RFC_vector(string name)
    {
        var v = Of(name);
        var (skR, pkR) = (Hex(v.SkRm), Hex(v.PkRm));
        var (sender, enc) = Hpke.SetupBaseS(v.Aead, pkR, Hex(Info), Hex(v.IkmE))!.Value;
        var receiver = Hpke.SetupBaseR(v.Aead, enc, skR, pkR, Hex(Info))!;
        foreach (var (seq, aad, ct) in v.Encryptions)
        {
            sender.Sequence = (ulong)seq;
            receiver.Sequence = (ulong)seq;
            Assert.Equal(ct, Convert.ToHexStringLower(sender.Seal(Hex(aad), Hex(Plaintext))));
            Assert.Equal(Plaintext, Convert.ToHexStringLower(receiver.Open(Hex(aad), Hex(ct))!));
        }
        // A flipped bit in the tag does not open (and leaves the sequence number where it was).
        var tampered = Hex(v.Encryptions[0].Ct);
        tampered[^1] ^= 1;
        receiver.Sequence = 0;
        Assert.Null(receiver.Open(Hex(v.Encryptions[0].Aad), tampered));
        Assert.Equal(0UL, receiver.Sequence);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Exported_secrets_match_the_RFC_vector(string name)
    {
        var v = Of(name);
        var receiver = Hpke.SetupBaseR(v.Aead, Hex(v.PkEm), Hex(v.SkRm), Hex(v.PkRm), Hex(Info))!;
        foreach (var (context, value) in v.Exports)
            Assert.Equal(value, Convert.ToHexStringLower(receiver.Export(Hex(context), 32)));
    }

    [Fact]
    public void An_encapsulated_key_of_the_wrong_length_or_a_low_order_point_sets_up_no_context()
    {
        var (sk, pk) = Hpke.GenerateKeyPair();
        Assert.Null(Hpke.SetupBaseR(HpkeAead.Aes128Gcm, new byte[31], sk, pk, []));
        Assert.Null(Hpke.SetupBaseR(HpkeAead.Aes128Gcm, new byte[32], sk, pk, []));   // the zero point: DH is all zeros
    }

    [Fact]
    public void A_rotated_key_keeps_opening_for_its_grace_period_then_stops()
    {
        var now = DateTimeOffset.Parse("2026-01-01T00:00:00Z");
        var keys = new HpkeKeySet(HpkeAead.Aes128Gcm, rotation: TimeSpan.FromHours(1), grace: TimeSpan.FromMinutes(10), clock: () => now);
        var first = keys.Current;
        Assert.Same(first, keys.Find(first.KeyId));

        now += TimeSpan.FromHours(1);   // due: the next access rotates
        var second = keys.Current;
        Assert.NotSame(first, second);
        Assert.Same(first, keys.Find(first.KeyId));
        Assert.Equal(second.Contents, keys.OdohConfigs().AsSpan(6).ToArray());

        now += TimeSpan.FromMinutes(10);
        Assert.Null(keys.Find(first.KeyId));
        Assert.Same(second, keys.Find(second.KeyId));
    }

    [Theory]
    // RFC 5869 A.1 (salt and info) and A.3 (no salt, no info): 42 bytes, two HMAC blocks.
    [InlineData("000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9", "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")]
    [InlineData("", "", "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")]
    public void Hkdf_extract_and_a_two_block_expand_match_the_RFC_5869_vectors(string salt, string info, string prk, string okm)
    {
        var ikm = Enumerable.Repeat((byte)0x0b, 22).ToArray();
        var extracted = Hpke.Extract(Hex(salt), ikm);
        Assert.Equal(prk, Convert.ToHexStringLower(extracted));
        var output = new byte[42];
        Hpke.Expand(extracted, Hex(info), output);
        Assert.Equal(okm, Convert.ToHexStringLower(output));
    }

    [Fact]
    public void A_context_set_up_again_serves_the_new_query_and_cleared_holds_no_secret()
    {
        var (skR, pkR) = Hpke.GenerateKeyPair();
        var context = new HpkeContext();
        foreach (var aead in new[] { HpkeAead.ChaCha20Poly1305, HpkeAead.Aes128Gcm })
        {
            var (sender, enc) = Hpke.SetupBaseS(aead, pkR, "odoh query"u8)!.Value;
            var sealedQuery = sender.Seal("aad"u8, "a query"u8);
            Assert.True(Hpke.SetupBaseR(aead, enc, skR, pkR, "odoh query"u8, context));
            Assert.Equal(aead, context.Aead);
            Assert.Equal(0UL, context.Sequence);
            Assert.Equal("a query"u8.ToArray(), context.Open("aad"u8, sealedQuery));
            Assert.Equal(sender.Export("odoh response"u8, 16), context.Export("odoh response"u8, 16));
        }
        context.Clear();
        Assert.True(context.ExporterSecret.IndexOfAnyExcept((byte)0) < 0);
        Assert.True(context.Key.IndexOfAnyExcept((byte)0) < 0);
    }
}

using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Resolver.Dnssec;
using static Ananas.Resolver.Tests.Dnssec.Kit;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>Keys generated in the test (.NET RSA/ECDSA, NSec Ed25519, BouncyCastle Ed448), RRsets signed here.</summary>
public sealed class GeneratedSignatureTests
{
    private static readonly DnsName Zone = N("example.org.");
    private static readonly uint Inception = Time("20240101000000"), Expiration = Time("20240201000000");
    private static readonly FixedClock During = FixedClock.At("20240115000000");

    private static List<ResourceRecord> RRset() => Rrs(
        "www.example.org. 300 IN A 192.0.2.1",
        "WWW.Example.ORG. 300 IN A 192.0.2.2",
        "www.example.org. 300 IN A 192.0.2.1"); // a duplicate: canonical form keeps one

    public static TheoryData<byte> Algorithms => [5, 7, 8, 10, 13, 14, 15, 16];

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Generated_signature_verifies_and_any_alteration_fails(byte algorithm)
    {
        var signer = Create(algorithm);
        var key = signer.Dnskey();
        var rrset = RRset();
        var sig = signer.SignRRset(rrset, Zone, Inception, Expiration);
        var verifier = new RRsetVerifier(During);

        var ok = verifier.Verify(rrset, [sig], Zone, [key], new ValidationBudget());
        Assert.Equal(RRsetStatus.Secure, ok.Status);
        Assert.Same(key, ok.Key);
        Assert.Equal(300u, ok.Ttl);

        // One bit of the data (an address), of the signature, or a changed RRSIG field.
        var altered = Rrs("www.example.org. 300 IN A 192.0.2.1", "www.example.org. 300 IN A 192.0.2.3");
        Assert.Equal(RRsetStatus.Bogus, verifier.Verify(altered, [sig], Zone, [key], new ValidationBudget()).Status);
        var badSig = WithSignature(sig, Flip(sig.Signature.Span, sig.Signature.Length / 2));
        var bogus = verifier.Verify(rrset, [badSig], Zone, [key], new ValidationBudget());
        Assert.Equal(RRsetStatus.Bogus, bogus.Status);
        Assert.Equal(EdeCode.DnssecBogus, bogus.Ede);
        var ttlChanged = new RrsigData(sig.TypeCovered, sig.Algorithm, sig.Labels, 7200, sig.Expiration, sig.Inception, sig.KeyTag, sig.SignerName, sig.Signature.ToArray());
        Assert.Equal(RRsetStatus.Bogus, verifier.Verify(rrset, [ttlChanged], Zone, [key], new ValidationBudget()).Status);
        // A truncated signature is just invalid, never an exception.
        Assert.Equal(SignatureResult.Invalid, SignatureVerifier.Default.Verify(key, CanonicalForm.SignedData(sig, rrset), sig.Signature.Span[..^1]));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Wrong_key_tag_is_dnskey_missing(byte algorithm)
    {
        var signer = Create(algorithm);
        var key = signer.Dnskey();
        var rrset = RRset();
        var sig = signer.SignRRset(rrset, Zone, Inception, Expiration, keyTag: (ushort)(key.KeyTag ^ 0x5555));
        var result = new RRsetVerifier(During).Verify(rrset, [sig], Zone, [key], new ValidationBudget());
        Assert.Equal(RRsetStatus.Bogus, result.Status);
        Assert.Equal(EdeCode.DnskeyMissing, result.Ede);
    }

    [Fact]
    public void Expired_and_not_yet_valid_signatures_map_to_ede_7_and_8()
    {
        var signer = new EcdsaKey(13);
        var key = signer.Dnskey();
        var rrset = RRset();
        var sig = signer.SignRRset(rrset, Zone, Inception, Expiration);
        var budget = new ValidationBudget();

        var late = new RRsetVerifier(FixedClock.At("20240201000001")).Verify(rrset, [sig], Zone, [key], budget);
        Assert.Equal((RRsetStatus.Bogus, EdeCode.SignatureExpired), (late.Status, late.Ede));
        var early = new RRsetVerifier(FixedClock.At("20231231235959")).Verify(rrset, [sig], Zone, [key], budget);
        Assert.Equal((RRsetStatus.Bogus, EdeCode.SignatureNotYetValid), (early.Status, early.Ede));
        // The window's ends are inclusive.
        Assert.True(new RRsetVerifier(FixedClock.At(Inception)).Verify(rrset, [sig], Zone, [key], budget).IsSecure);
        Assert.True(new RRsetVerifier(FixedClock.At(Expiration)).Verify(rrset, [sig], Zone, [key], budget).IsSecure);
        // Timing failures cost no verification.
        Assert.Equal(2, budget.VerificationsUsed);
    }

    [Fact]
    public void Validity_window_across_the_2106_wrap_uses_serial_arithmetic()
    {
        // Inception late in 2106 (near 2^32 seconds), expiration after the 32-bit counter wrapped.
        uint inception = 0xFFFF_0000, expiration = 0x0000_F000;
        var signer = new Ed25519Key();
        var key = signer.Dnskey();
        var rrset = RRset();
        var sig = signer.SignRRset(rrset, Zone, inception, expiration);
        RRsetVerification At(long unixSeconds) =>
            new RRsetVerifier(new FixedClock(DateTimeOffset.FromUnixTimeSeconds(unixSeconds))).Verify(rrset, [sig], Zone, [key], new ValidationBudget());

        Assert.True(At(0xFFFF_8000L).IsSecure);                   // 2106, before the wrap
        Assert.True(At(0x1_0000_1000L).IsSecure);                 // 2106, after the wrap
        Assert.Equal(EdeCode.SignatureExpired, At(0x1_0001_0000L).Ede);
        Assert.Equal(EdeCode.SignatureNotYetValid, At(0xFFFE_0000L).Ede);
        Assert.Equal(300u, At(0x1_0000_1000L).Ttl);
        Assert.Equal(0x1000u, new RRsetVerifier(new FixedClock(DateTimeOffset.FromUnixTimeSeconds(0x1_0000_E000L)))
            .Verify(Rrs("www.example.org. 86400 IN A 192.0.2.1", "www.example.org. 86400 IN A 192.0.2.2"),
                [signer.SignRRset(RRset(), Zone, inception, expiration, originalTtl: 86400)], Zone, [key], new ValidationBudget()).Ttl);
    }

    [Fact]
    public void Serial_time_comparison_follows_rfc1982()
    {
        Assert.True(SerialTime.IsBefore(1, 2));
        Assert.True(SerialTime.IsBefore(0xFFFF_FFF0, 0x10));
        Assert.False(SerialTime.IsBefore(0x10, 0xFFFF_FFF0));
        Assert.Equal(0, SerialTime.Compare(5, 5));
        Assert.Equal(0x20u, SerialTime.Until(0xFFFF_FFF0, 0x10));
        Assert.Equal(0u, SerialTime.Until(0x10, 0xFFFF_FFF0));
        Assert.Equal(0x10u, SerialTime.FromDateTime(DateTimeOffset.FromUnixTimeSeconds(0x1_0000_0010L)));
    }

    [Fact]
    public void Ttl_is_clamped_to_original_ttl_and_time_to_expiration()
    {
        var signer = new EcdsaKey(13);
        var key = signer.Dnskey();
        var rrset = Rrs("www.example.org. 86400 IN A 192.0.2.1");
        var sig = signer.SignRRset(rrset, Zone, Inception, Expiration, originalTtl: 3600);
        Assert.Equal(3600u, new RRsetVerifier(During).Verify(rrset, [sig], Zone, [key], new ValidationBudget()).Ttl);
        Assert.Equal(60u, new RRsetVerifier(FixedClock.At(Expiration - 60)).Verify(rrset, [sig], Zone, [key], new ValidationBudget()).Ttl);
        Assert.Equal(300u, RrsigChecks.ClampTtl(300, sig, Inception));
    }

    [Fact]
    public void Wildcard_expansion_is_verified_against_the_wildcard_owner()
    {
        var signer = new Ed25519Key();
        var key = signer.Dnskey();
        var wild = Rrs("*.w.example.org. 3600 IN MX 1 mail.example.org.");
        var sig = signer.SignRRset(wild, Zone, Inception, Expiration);
        Assert.Equal(3, sig.Labels);
        var expanded = Rrs("a.z.w.example.org. 3600 IN MX 1 mail.example.org.");
        var result = new RRsetVerifier(During).Verify(expanded, [sig], Zone, [key], new ValidationBudget());
        Assert.True(result.IsSecure, result.Reason);
        Assert.True(result.IsWildcardExpansion);
        Assert.False(new RRsetVerifier(During).Verify(wild, [sig], Zone, [key], new ValidationBudget()).IsWildcardExpansion);
    }

    [Fact]
    public void Rrsig_field_checks_reject_before_any_cryptography()
    {
        var signer = new EcdsaKey(13);
        var key = signer.Dnskey();
        var rrset = RRset();
        var sig = signer.SignRRset(rrset, Zone, Inception, Expiration);
        uint now = Time("20240115000000");
        Assert.Equal(RrsigCheck.Ok, RrsigChecks.Check(sig, rrset[0].Name, RRType.A, Zone, now));
        Assert.Equal(RrsigCheck.TypeMismatch, RrsigChecks.Check(sig, rrset[0].Name, RRType.AAAA, Zone, now));
        Assert.Equal(RrsigCheck.WrongSigner, RrsigChecks.Check(sig, rrset[0].Name, RRType.A, N("org."), now));
        Assert.Equal(RrsigCheck.OwnerOutsideSigner, RrsigChecks.Check(sig, N("www.example.net."), RRType.A, Zone, now));
        var tooMany = new RrsigData(RRType.A, 13, 4, 300, Expiration, Inception, key.KeyTag, Zone, sig.Signature.ToArray());
        Assert.Equal(RrsigCheck.TooManyLabels, RrsigChecks.Check(tooMany, rrset[0].Name, RRType.A, Zone, now));
        var budget = new ValidationBudget();
        var result = new RRsetVerifier(During).Verify(rrset, [tooMany], Zone, [key], budget);
        Assert.Equal(RRsetStatus.Bogus, result.Status);
        Assert.Equal(0, budget.VerificationsUsed);

        // No RRSIG at all, or only for another type: EDE 10.
        Assert.Equal(EdeCode.RrsigsMissing, new RRsetVerifier(During).Verify(rrset, Array.Empty<RrsigData>(), Zone, [key], budget).Ede);
        var other = signer.SignRRset(Rrs("www.example.org. 300 IN AAAA 2001:db8::1"), Zone, Inception, Expiration);
        Assert.Equal(EdeCode.RrsigsMissing, new RRsetVerifier(During).Verify(rrset, [other], Zone, [key], budget).Ede);
    }

    [Fact]
    public void Keys_without_zone_bit_or_bad_protocol_are_not_used()
    {
        var signer = new Ed25519Key();
        var rrset = RRset();
        foreach (var (flags, protocol) in new (ushort, byte)[] { (1, 3), (257, 2) })
        {
            var key = new DnskeyData(flags, protocol, 15, signer.PublicKey);
            var sig = signer.SignRRset(rrset, Zone, Inception, Expiration, keyTag: key.KeyTag);
            var result = new RRsetVerifier(During).Verify(rrset, [sig], Zone, [key], new ValidationBudget());
            Assert.Equal(EdeCode.DnskeyMissing, result.Ede);
        }
    }

    [Fact]
    public void A_revoked_key_in_a_validated_DNSKEY_RRset_verifies_data_but_is_no_DS_entry_point()
    {
        // bench/lab/dnssec-mutations revoked-key: Unbound and Knot Resolver both accept its signatures over data.
        var signer = new Ed25519Key();
        var rrset = RRset();
        var revoked = new DnskeyData(257 | DnskeyData.RevokeFlag, 3, 15, signer.PublicKey);
        var sig = signer.SignRRset(rrset, Zone, Inception, Expiration, keyTag: revoked.KeyTag);
        Assert.True(new RRsetVerifier(During).Verify(rrset, [sig], Zone, [revoked], new ValidationBudget()).IsSecure);
        var ds = new DsData(RRType.DS, revoked.KeyTag, 15, DsMatcher.Sha256, DsMatcher.ComputeDigest(Zone, revoked, DsMatcher.Sha256)!);
        Assert.Equal(DsSelectionStatus.NoMatchingKey, DsMatcher.SelectKeys(Zone, [revoked], [ds], DnssecAlgorithmRegistry.Default).Status);
    }

    [Fact]
    public void Unsupported_algorithm_is_distinct_from_bogus()
    {
        var key = new DnskeyData(257, 3, 253, [1, 2, 3, 4]);
        Assert.Equal(SignatureResult.UnsupportedAlgorithm, SignatureVerifier.Default.Verify(key, [1], [2]));
        var rrset = RRset();
        var sig = new RrsigData(RRType.A, 253, 3, 300, Expiration, Inception, key.KeyTag, Zone, [9, 9, 9]);
        var result = new RRsetVerifier(During).Verify(rrset, [sig], Zone, [key], new ValidationBudget());
        Assert.Equal(RRsetStatus.UnsupportedAlgorithm, result.Status);
        Assert.Equal(EdeCode.UnsupportedDnskeyAlgorithm, result.Ede);
        // GOST (12) and RSAMD5 (1) are not implemented either.
        Assert.False(DnssecAlgorithmRegistry.Default.IsSupported(12));
        Assert.False(DnssecAlgorithmRegistry.Default.IsSupported(1));
    }

    public static TheoryData<byte, string> MalformedKeys => new()
    {
        { 8, "" },
        { 8, "AA==" },                       // exponent length 0 with no 2-octet length
        { 8, "AwEAAQ==" },                   // exponent, no modulus
        { 13, "AQID" },                      // wrong length
        { 13, Convert.ToBase64String(new byte[64]) }, // (0,0) is not on P-256
        { 14, Convert.ToBase64String(new byte[95]) },
        { 15, Convert.ToBase64String(new byte[31]) },
        { 16, Convert.ToBase64String(new byte[56]) },
    };

    [Theory]
    [MemberData(nameof(MalformedKeys))]
    public void Malformed_keys_are_reported_not_thrown(byte algorithm, string base64)
    {
        var key = new DnskeyData(257, 3, algorithm, Convert.FromBase64String(base64));
        Assert.Equal(SignatureResult.MalformedKey, SignatureVerifier.Default.Verify(key, [1, 2, 3], new byte[64]));
    }

    [Fact]
    public void Rsa_key_size_bounds_are_enforced()
    {
        byte[] Key(int modulusBytes) => [3, 1, 0, 1, 0x80, .. new byte[modulusBytes - 1]];
        var verifier = SignatureVerifier.Default;
        Assert.Equal(SignatureResult.MalformedKey, verifier.Verify(new DnskeyData(257, 3, 8, Key(63)), [1], new byte[63]));
        Assert.Equal(SignatureResult.MalformedKey, verifier.Verify(new DnskeyData(257, 3, 8, Key(513)), [1], new byte[513]));
        Assert.Equal(4096, RsaAlgorithm.BitLength(Key(512).AsSpan(4)));
        Assert.Equal(SignatureResult.Invalid, verifier.Verify(new DnskeyData(257, 3, 8, [3, 1, 0, 1, .. new RsaKey(8).PublicKey.AsSpan(4)]), [1], new byte[256]));
    }

    [Fact]
    public void Parsed_keys_are_cached_and_the_cache_is_bounded()
    {
        var cache = new DnskeyCache(capacity: 8);
        var verifier = new SignatureVerifier(DnssecAlgorithmRegistry.Default, cache);
        var signer = new RsaKey(8);
        var key = signer.Dnskey();
        var rrset = RRset();
        var sig = signer.SignRRset(rrset, Zone, Inception, Expiration);
        for (int i = 0; i < 10; i++) Assert.Equal(SignatureResult.Valid, verifier.Verify(key, sig, rrset));
        Assert.Equal(1, cache.Parses);

        for (int i = 0; i < 50; i++) verifier.Verify(new Ed25519Key().Dnskey(), [1], new byte[64]);
        Assert.True(cache.Count <= 8, $"{cache.Count} entries");

        // Many threads at once on one cached key.
        Parallel.For(0, 64, _ => Assert.Equal(SignatureResult.Valid, verifier.Verify(key, sig, rrset)));
    }
}

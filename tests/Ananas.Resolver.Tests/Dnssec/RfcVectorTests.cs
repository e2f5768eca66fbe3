using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Resolver.Dnssec;
using static Ananas.Resolver.Tests.Dnssec.Kit;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>
/// Known-answer vectors printed in the RFCs: RFC 5702 §6 (RSASHA256, RSASHA512), RFC 6605 §6 (ECDSA P-256,
/// P-384), RFC 8080 §6 (Ed25519 as corrected by verified erratum 4935; Ed448 signed here with the RFC's
/// private key, EdDSA being deterministic), and the DS digests of RFC 4034 §5.4, RFC 6605 and RFC 8080.
/// </summary>
public sealed class RfcVectorTests
{
    public static TheoryData<string, string, string, string, string> Signatures => new()
    {
        {
            "RFC 5702 §6.1 RSASHA256 (512-bit key)",
            "example.net. 3600 IN DNSKEY 256 3 8 AwEAAcFcGsaxxdgiuuGmCkVImy4h99CqT7jwY3pexPGcnUFtR2Fh36BponcwtkZ4cAgtvd4Qs8PkxUdp6p/DlUmObdk=",
            "www.example.net. 3600 IN A 192.0.2.91",
            "www.example.net. 3600 IN RRSIG A 8 3 3600 20300101000000 20000101000000 9033 example.net. kRCOH6u7l0QGy9qpC9l1sLncJcOKFLJ7GhiUOibu4teYp5VE9RncriShZNz85mwlMgNEacFYK/lPtPiVYP4bwg==",
            "20100101000000"
        },
        {
            "RFC 5702 §6.2 RSASHA512",
            "example.net. 3600 IN DNSKEY 256 3 10 AwEAAdHoNTOW+et86KuJOWRDp1pndvwb6Y83nSVXXyLA3DLroROUkN6X0O6pnWnjJQujX/AyhqFDxj13tOnD9u/1kTg7cV6rklMrZDtJCQ5PCl/D7QNPsgVsMu1J2Q8gpMpztNFLpPBz1bWXjDtaR7ZQBlZ3PFY12ZTSncorffcGmhOL",
            "www.example.net. 3600 IN A 192.0.2.91",
            "www.example.net. 3600 IN RRSIG A 10 3 3600 20300101000000 20000101000000 3740 example.net. tsb4wnjRUDnB1BUi+t6TMTXThjVnG+eCkWqjvvjhzQL1d0YRoOe0CbxrVDYd0xDtsuJRaeUw1ep94PzEWzr0iGYgZBWm/zpq+9fOuagYJRfDqfReKBzMweOLDiNa8iP5g9vMhpuv6OPlvpXwm9Sa9ZXIbNl1MBGk0fthPgxdDLw=",
            "20100101000000"
        },
        {
            "RFC 6605 §6.1 ECDSAP256SHA256",
            "example.net. 3600 IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
            "www.example.net. 3600 IN A 192.0.2.1",
            "www.example.net. 3600 IN RRSIG A 13 3 3600 20100909100439 20100812100439 55648 example.net. qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw==",
            "20100901000000"
        },
        {
            "RFC 6605 §6.2 ECDSAP384SHA384",
            "example.net. 3600 IN DNSKEY 257 3 14 xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40",
            "www.example.net. 3600 IN A 192.0.2.1",
            "www.example.net. 3600 IN RRSIG A 14 3 3600 20100909102025 20100812102025 10771 example.net. /L5hDKIvGDyI1fcARX3z65qrmPsVz73QD1Mr5CEqOiLP95hxQouuroGCeZOvzFaxsT8Glr74hbavRKayJNuydCuzWTSSPdz7wnqXL5bdcJzusdnI0RSMROxxwGipWcJm",
            "20100901000000"
        },
        {
            "RFC 8080 §6.1 Ed25519 key 3613 (erratum 4935)",
            "example.com. 3600 IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
            "example.com. 3600 IN MX 10 mail.example.com.",
            "example.com. 3600 IN RRSIG MX 15 2 3600 1440021600 1438207200 3613 example.com. oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==",
            "20150801000000"
        },
        {
            "RFC 8080 §6.1 Ed25519 key 35217 (erratum 4935)",
            "example.com. 3600 IN DNSKEY 257 3 15 zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=",
            "example.com. 3600 IN MX 10 mail.example.com.",
            "example.com. 3600 IN RRSIG MX 15 2 3600 1440021600 1438207200 35217 example.com. zXQ0bkYgQTEFyfLyi9QoiY6D8ZdYo4wyUhVioYZXFdT410QPRITQSqJSnzQoSm5poJ7gD7AQR0O7KuI5k2pcBg==",
            "20150801000000"
        },
    };

    [Theory]
    [MemberData(nameof(Signatures))]
    public void Rfc_signature_verifies_and_fails_when_altered(string name, string dnskey, string record, string rrsig, string now)
    {
        var keyRr = Rr(dnskey);
        var key = (DnskeyData)keyRr.Data;
        var sig = Sig(rrsig);
        var rrset = Rrs(record);
        Assert.Equal(sig.KeyTag, key.KeyTag);

        var verifier = new RRsetVerifier(FixedClock.At(now));
        var result = verifier.Verify(rrset, [sig], keyRr.Name, [key], new ValidationBudget());
        Assert.True(result.IsSecure, $"{name}: {result.Reason}");

        Assert.Equal(SignatureResult.Valid, SignatureVerifier.Default.Verify(key, sig, rrset));
        var data = CanonicalForm.SignedData(sig, rrset);
        Assert.Equal(SignatureResult.Invalid, SignatureVerifier.Default.Verify(key, Flip(data, data.Length - 1), sig.Signature.Span));
        Assert.Equal(SignatureResult.Invalid, SignatureVerifier.Default.Verify(key, data, Flip(sig.Signature.Span, 7)));
    }

    [Fact]
    public void Rfc5702_512_bit_key_is_too_small_for_RSASHA512()
    {
        var key = Key("example.net. 3600 IN DNSKEY 256 3 10 AwEAAcFcGsaxxdgiuuGmCkVImy4h99CqT7jwY3pexPGcnUFtR2Fh36BponcwtkZ4cAgtvd4Qs8PkxUdp6p/DlUmObdk=");
        Assert.Equal(SignatureResult.MalformedKey, SignatureVerifier.Default.Verify(key, [1, 2, 3], new byte[64]));
    }

    [Fact]
    public void Rfc8080_ed448_signed_with_the_rfc_private_key_verifies()
    {
        // RFC 8080 §6.2: private key and the DNSKEY it gives (key tag 9713).
        var signer = new Ed448Key(Convert.FromBase64String("xZ+5Cgm463xugtkY5B0Jx6erFTXp13rYegst0qRtNsOYnaVpMx0Z/c5EiA9x8wWbDDct/U3FhYWA"));
        var key = Key("example.com. 3600 IN DNSKEY 257 3 16 3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA");
        Assert.Equal(key.PublicKey.ToArray(), signer.PublicKey);
        Assert.Equal(9713, key.KeyTag);
        var rrset = Rrs("example.com. 3600 IN MX 10 mail.example.com.");
        var sig = signer.SignRRset(rrset, N("example.com."), 1438207200, 1440021600);
        var result = new RRsetVerifier(FixedClock.At("20150801000000")).Verify(rrset, [sig], N("example.com."), [key], new ValidationBudget());
        Assert.True(result.IsSecure, result.Reason);
        Assert.Equal(SignatureResult.Invalid, SignatureVerifier.Default.Verify(key, sig, Rrs("example.com. 3600 IN MX 11 mail.example.com.")));
    }

    [Fact]
    public void Rfc8080_ed25519_private_key_reproduces_the_erratum_signature()
    {
        var signer = new Ed25519Key(Convert.FromBase64String("ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI="));
        Assert.Equal(Convert.FromBase64String("l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4="), signer.PublicKey);
        var sig = signer.SignRRset(Rrs("example.com. 3600 IN MX 10 mail.example.com."), N("example.com."), 1438207200, 1440021600);
        Assert.Equal("oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==", Convert.ToBase64String(sig.Signature.Span));
    }

    public static TheoryData<string, string> DsVectors => new()
    {
        // RFC 4034 §5.4
        { "dskey.example.com. 86400 IN DNSKEY 256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
          "dskey.example.com. 86400 IN DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118" },
        // RFC 6605 §6.1 and §6.2 (SHA-256, SHA-384)
        { "example.net. 3600 IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
          "example.net. 3600 IN DS 55648 13 2 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17" },
        { "example.net. 3600 IN DNSKEY 257 3 14 xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40",
          "example.net. 3600 IN DS 10771 14 4 72d7b62976ce06438e9c0bf319013cf801f09ecc84b8d7e9495f27e305c6a9b0563a9b5f4d288405c3008a946df983d6" },
        // RFC 8080 §6.1 and §6.2
        { "example.com. 3600 IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
          "example.com. 3600 IN DS 3613 15 2 3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b" },
        { "example.com. 3600 IN DNSKEY 257 3 16 3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA",
          "example.com. 3600 IN DS 9713 16 2 6ccf18d5bc5d7fc2fceb1d59d17321402f2aa8d368048db93dd811f5cb2b19c7" },
    };

    [Theory]
    [MemberData(nameof(DsVectors))]
    public void Rfc_ds_digest_matches_its_key(string dnskey, string ds)
    {
        var keyRr = Rr(dnskey);
        var key = (DnskeyData)keyRr.Data;
        var dsData = (DsData)Rr(ds).Data;
        Assert.Equal(DsMatchResult.Match, DsMatcher.Match(keyRr.Name, key, dsData));
        // The owner takes part in the digest, in canonical (lowercase) form.
        Assert.Equal(DsMatchResult.Match, DsMatcher.Match(DnsName.Parse(keyRr.Name.ToString().ToUpperInvariant()), key, dsData));
        Assert.Equal(DsMatchResult.DigestMismatch, DsMatcher.Match(N("other.example."), key, dsData));
        var wrongDigest = new DsData(dsData.KeyTag, dsData.Algorithm, dsData.DigestType, Flip(dsData.Digest.Span, 0));
        Assert.Equal(DsMatchResult.DigestMismatch, DsMatcher.Match(keyRr.Name, key, wrongDigest));
        var otherTag = new DsData((ushort)(dsData.KeyTag + 1), dsData.Algorithm, dsData.DigestType, dsData.Digest.ToArray());
        Assert.Equal(DsMatchResult.OtherKey, DsMatcher.Match(keyRr.Name, key, otherTag));
        var unknownDigest = new DsData(dsData.KeyTag, dsData.Algorithm, 3, dsData.Digest.ToArray());
        Assert.Equal(DsMatchResult.UnsupportedDigestType, DsMatcher.Match(keyRr.Name, key, unknownDigest));
    }

    [Fact]
    public void Ds_selection_reports_unsupported_digest_and_missing_key()
    {
        var keyRr = Rr("example.net. 3600 IN DNSKEY 257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==");
        var key = (DnskeyData)keyRr.Data;
        var good = (DsData)Rr("example.net. 3600 IN DS 55648 13 2 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17").Data;
        var registry = DnssecAlgorithmRegistry.Default;

        var ok = DsMatcher.SelectKeys(keyRr.Name, [key], [good], registry);
        Assert.Equal(DsSelectionStatus.KeysMatched, ok.Status);
        Assert.Same(key, Assert.Single(ok.Keys));

        var gost = new DsData(55648, 13, 3, new byte[32]);
        var unsupported = DsMatcher.SelectKeys(keyRr.Name, [key], [gost], registry);
        Assert.Equal(DsSelectionStatus.NoSupportedDs, unsupported.Status);
        Assert.Equal(EdeCode.UnsupportedDsDigestType, unsupported.Ede);

        var unknownAlgorithm = DsMatcher.SelectKeys(keyRr.Name, [key], [new DsData(55648, 253, 2, new byte[32])], registry);
        Assert.Equal(DsSelectionStatus.NoSupportedDs, unknownAlgorithm.Status);
        Assert.Equal(EdeCode.UnsupportedDnskeyAlgorithm, unknownAlgorithm.Ede);

        var missing = DsMatcher.SelectKeys(keyRr.Name, [key], [new DsData(55648, 13, 2, new byte[32])], registry);
        Assert.Equal(DsSelectionStatus.NoMatchingKey, missing.Status);
        Assert.Equal(EdeCode.DnskeyMissing, missing.Ede);

        // RFC 4509 §3: a SHA-1 DS is ignored when a SHA-256 one is present, so a matching SHA-1 alone does not help.
        var sha1 = new DsData(55648, 13, 1, DsMatcher.ComputeDigest(keyRr.Name, key, 1)!);
        var wrongSha256 = new DsData(55648, 13, 2, new byte[32]);
        Assert.Equal(DsSelectionStatus.NoMatchingKey, DsMatcher.SelectKeys(keyRr.Name, [key], [sha1, wrongSha256], registry).Status);
        Assert.Equal(DsSelectionStatus.KeysMatched, DsMatcher.SelectKeys(keyRr.Name, [key], [sha1], registry).Status);

        // A revoked key, or one without the zone-key bit, is never vouched for.
        var revoked = new DnskeyData((ushort)(key.Flags | DnskeyData.RevokeFlag), 3, 13, key.PublicKey.ToArray());
        var revokedDs = new DsData(revoked.KeyTag, 13, 2, DsMatcher.ComputeDigest(keyRr.Name, revoked, 2)!);
        Assert.Equal(DsSelectionStatus.NoMatchingKey, DsMatcher.SelectKeys(keyRr.Name, [revoked], [revokedDs], registry).Status);
    }
}

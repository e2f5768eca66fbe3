using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Tests;

public class RecordRoundTripTests
{
    private static readonly DnsName Root = DnsName.Root;

    private static byte[] Hex(string hex) => Convert.FromHexString(string.Concat(hex.Where(char.IsAsciiHexDigit)));

    private static RData ReadWire(RRType type, byte[] wire)
    {
        var reader = new WireReader(wire);
        return RData.Read(type, ref reader, wire.Length);
    }

    /// <summary>presentation → object → wire → object → presentation → object, all equal; printing is stable.</summary>
    private static ResourceRecord AssertRoundTrips(string text)
    {
        var rr = RecordText.Parse(text, Root);
        var wire = rr.Data.ToWire();
        var fromWire = ReadWire(rr.Type, wire);
        Assert.Equal(rr.Data, fromWire);
        Assert.Equal(wire, fromWire.ToWire());
        Assert.Equal(rr.Data.GetType(), fromWire.GetType());
        var printed = rr.ToString();
        var reparsed = RecordText.Parse(printed, Root);
        Assert.Equal(rr, reparsed);
        Assert.Equal(printed, reparsed.ToString());
        return rr;
    }

    [Theory]
    [InlineData("example.com. 3600 IN MX 10 mail.example.com.", typeof(MxData))]
    [InlineData("example.com. TXT \"v=spf1 -all\" \"second \\\"quoted\\\" string\" unquoted", typeof(TxtData))]
    [InlineData("example.com. SPF \"v=spf1 -all\"", typeof(TxtData))]
    [InlineData("example.com. TXT \"caf\\195\\169 \\\\ ; ( )\"", typeof(TxtData))]
    [InlineData("_sip._tcp.example.com. SRV 0 5 5060 sipserver.example.com.", typeof(SrvData))]
    [InlineData("cid.urn.arpa. NAPTR 100 10 \"\" \"\" \"!^urn:cid:.+@([^\\\\.]+\\\\.)(.*)$!\\\\2!i\" .", typeof(NaptrData))]
    [InlineData("example.com. CAA 0 issue \"ca.example.net\"", typeof(CaaData))]
    [InlineData("example.com. CAA 128 tbs \"Unknown\"", typeof(CaaData))]
    [InlineData("dskey.example.com. DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118", typeof(DsData))]
    [InlineData("example.com. CDS 0 0 0 00", typeof(DsData))]
    [InlineData("example.com. CDNSKEY 0 3 0 AA==", typeof(DnskeyData))]
    [InlineData("example. NSEC3PARAM 1 0 12 aabbccdd", typeof(Nsec3ParamData))]
    [InlineData("example. NSEC3PARAM 1 0 0 -", typeof(Nsec3ParamData))]
    [InlineData("host.example. SSHFP 2 1 123456789abcdef67890123456789abcdef67890", typeof(SshfpData))]
    [InlineData("host.example. HINFO \"Generic PC clone\" NetBSD-1.4", typeof(HinfoData))]
    [InlineData("_25._tcp.mail.example. SMIMEA 3 0 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6", typeof(TlsaData))]
    [InlineData("example. HTTPS 1 . alpn=h3,h2 ech=AEj+DQBEAQAgACBE port=8443 no-default-alpn", typeof(SvcbData))]
    [InlineData("example. SVCB 3 svc.example. dohpath=/dns-query{?dns} key65000 ohttp", typeof(SvcbData))]
    [InlineData("x.example. NSEC a.example. TYPE65534 A RRSIG NSEC CAA", typeof(NsecData))]
    [InlineData("a.example. 0 CH TXT hello", typeof(TxtData))]
    [InlineData("a.example. DNAME b.example.", typeof(NameData))]
    [InlineData("e.example. CLASS1 TYPE1 10.0.0.2", typeof(AddressData))]
    public void Record_round_trips_presentation_and_wire(string text, Type expected)
    {
        var rr = AssertRoundTrips(text);
        Assert.IsType(expected, rr.Data);
    }

    [Fact]
    public void TXT_escapes_decode_to_octets()
    {
        var txt = (TxtData)RecordText.Parse("a. TXT \"a\\\"b\" c\\;d \"\\065\\\\\"", Root).Data;
        Assert.Equal(["a\"b", "c;d", "A\\"], txt.Strings.Select(s => System.Text.Encoding.ASCII.GetString(s)));
    }

    [Fact]
    public void RFC4034_DNSKEY_example_and_key_tag()
    {
        // RFC 4034 §5.4: the DS for this key names it with key tag 60485.
        var rr = AssertRoundTrips("""
            dskey.example.com. 86400 IN DNSKEY 256 3 5 ( AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJ
                                                      aNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==
                                                    ) ; key id = 60485
            """);
        var key = (DnskeyData)rr.Data;
        Assert.Equal(60485, key.KeyTag);
        Assert.True(key.IsZoneKey);
        Assert.False(key.IsSecureEntryPoint);
        Assert.False(key.IsRevoked);
        Assert.Equal(5, key.Algorithm);
    }

    [Fact]
    public void RFC4034_RRSIG_example()
    {
        var rr = AssertRoundTrips("""
            host.example.com. 86400 IN RRSIG A 5 3 86400 20030322173103 (
                                  20030220173103 2642 example.com.
                                  oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTr
                                  PYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6o
                                  B9wfuh3DTJXUAfI/M0zmO/zz8bW0Rznl8O3t
                                  GNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkG
                                  J5D6fwFm8nN+6pBzeDQfsS3Ap3o= )
            """);
        var sig = (RrsigData)rr.Data;
        Assert.Equal(RRType.A, sig.TypeCovered);
        Assert.Equal(3, sig.Labels);
        Assert.Equal(2642, sig.KeyTag);
        Assert.Equal(DnsName.Parse("example.com."), sig.SignerName);
        Assert.Equal(new DateTimeOffset(2003, 3, 22, 17, 31, 3, TimeSpan.Zero).ToUnixTimeSeconds(), sig.Expiration);
        Assert.Equal(new DateTimeOffset(2003, 2, 20, 17, 31, 3, TimeSpan.Zero).ToUnixTimeSeconds(), sig.Inception);
        Assert.Contains("20030322173103 20030220173103", rr.ToString());
    }

    [Fact]
    public void RRSIG_times_accept_plain_integers_and_mnemonics()
    {
        var sig = (RrsigData)RecordText.Parse("a. RRSIG A RSASHA256 1 300 1700000000 1600000000 1 a. AAAA", Root).Data;
        Assert.Equal(8, sig.Algorithm);
        Assert.Equal(1700000000u, sig.Expiration);
        Assert.Equal(1600000000u, sig.Inception);
    }

    [Fact]
    public void RFC4034_NSEC_example_is_byte_exact()
    {
        var rr = AssertRoundTrips("alfa.example.com. 86400 IN NSEC host.example.com. ( A MX RRSIG NSEC TYPE1234 )");
        // next name, then window 0 (6 octets: A, MX, RRSIG, NSEC) and window 4 (27 octets: type 1234 = 4 * 256 + 210).
        var expected = Hex("04 68 6f 73 74 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00" +
                           "00 06 40 01 00 00 00 03 04 1b" + string.Concat(Enumerable.Repeat("00", 26)) + "20");
        Assert.Equal(expected, rr.Data.ToWire());
        var nsec = (NsecData)rr.Data;
        Assert.True(nsec.Contains(RRType.MX));
        Assert.True(nsec.Contains((RRType)1234));
        Assert.False(nsec.Contains(RRType.AAAA));
    }

    [Fact]
    public void Type_bitmap_rejects_bad_windows()
    {
        Assert.Throws<DnsFormatException>(() => ReadWire(RRType.NSEC, Hex("00 01 00 00 00"))); // window length 0
        Assert.Throws<DnsFormatException>(() => ReadWire(RRType.NSEC, Hex("00 01 40 00 01 40"))); // window repeated
        Assert.Throws<DnsFormatException>(() => ReadWire(RRType.NSEC, Hex("00 00 21" + string.Concat(Enumerable.Repeat("00", 33)))));
    }

    [Fact]
    public void RFC4034_DS_example()
    {
        var rr = AssertRoundTrips("dskey.example.com. 86400 IN DS 60485 5 1 ( 2BB183AF5F22588179A53B0A98631FAD1A292118 )");
        Assert.Equal(Hex("EC 45 05 01 2BB183AF5F22588179A53B0A98631FAD1A292118"), rr.Data.ToWire());
        // The mnemonic reads as the same number.
        Assert.Equal(rr.Data, RecordText.Parse("dskey.example.com. DS 60485 RSASHA1 1 2BB183AF5F22588179A53B0A98631FAD1A292118", Root).Data);
    }

    [Fact]
    public void RFC5155_NSEC3_example()
    {
        var rr = AssertRoundTrips("""
            0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. NSEC3 1 1 12 aabbccdd (
                2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS
                SOA NSEC3PARAM RRSIG )
            """);
        var nsec3 = (Nsec3Data)rr.Data;
        Assert.True(nsec3.OptOut);
        Assert.Equal(12, nsec3.Iterations);
        Assert.Equal(Hex("aabbccdd"), nsec3.Salt.ToArray());
        Assert.Equal(20, nsec3.NextHashedOwnerName.Length);
        Assert.True(nsec3.Contains(RRType.NSEC3PARAM));
        Assert.False(nsec3.Contains(RRType.A));
        var wire = rr.Data.ToWire();
        Assert.Equal(Hex("01 01 00 0c 04 aabbccdd 14"), wire[..10]);
    }

    [Fact]
    public void NSEC3_base32hex_matches_the_RFC5155_hash_of_example()
    {
        // RFC 5155 Appendix A: H(example) with salt aabbccdd and 12 extra iterations is 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.
        byte[] salt = Hex("aabbccdd");
        byte[] digest = System.Security.Cryptography.SHA1.HashData([.. DnsName.Parse("example.").Wire, .. salt]);
        for (int i = 0; i < 12; i++) digest = System.Security.Cryptography.SHA1.HashData([.. digest, .. salt]);
        var nsec3 = new Nsec3Data(1, 0, 12, salt, digest, TypeBitmap.Empty);
        Assert.Equal("1 0 12 AABBCCDD 0P9MHAVEQVM6T7VBL5LOP2U3T2RP3TOM", nsec3.ToString());
    }

    // RFC 9460 Appendix D: presentation and wire forms.
    [Theory]
    [InlineData("example.com. HTTPS 0 foo.example.com.", "00 00 03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00")]
    [InlineData("example.com. SVCB 1 .", "00 01 00")]
    [InlineData("example.com. SVCB 16 foo.example.com. port=53", "00 10 03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 03 00 02 00 35")]
    [InlineData("example.com. SVCB 1 foo.example.com. key667=hello", "00 01 03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 02 9b 00 05 68 65 6c 6c 6f")]
    [InlineData("example.com. SVCB 1 foo.example.com. key667=\"hello\\210qoo\"", "00 01 03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 02 9b 00 09 68 65 6c 6c 6f d2 71 6f 6f")]
    [InlineData("example.com. SVCB 1 foo.example.com. ( ipv6hint=\"2001:db8::1,2001:db8::53:1\" )",
        "00 01 03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 06 00 20 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 20 01 0d b8 00 00 00 00 00 00 00 00 00 53 00 01")]
    [InlineData("example.com. SVCB 1 example.com. ( ipv6hint=\"2001:db8:122:344::192.0.2.33\" )",
        "00 01 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 06 00 10 20 01 0d b8 01 22 03 44 00 00 00 00 c0 00 02 21")]
    [InlineData("example.com. SVCB 16 foo.example.org. ( alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1 )",
        "00 10 03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 6f 72 67 00 00 00 00 04 00 01 00 04 00 01 00 09 02 68 32 05 68 33 2d 31 39 00 04 00 04 c0 00 02 01")]
    [InlineData("example.com. SVCB 16 foo.example.org. alpn=\"f\\\\\\\\oo\\\\,bar,h2\"",
        "00 10 03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 6f 72 67 00 00 01 00 0c 08 66 5c 6f 6f 2c 62 61 72 02 68 32")]
    [InlineData("example.com. SVCB 16 foo.example.org. alpn=f\\\\\\092oo\\092,bar,h2",
        "00 10 03 66 6f 6f 07 65 78 61 6d 70 6c 65 03 6f 72 67 00 00 01 00 0c 08 66 5c 6f 6f 2c 62 61 72 02 68 32")]
    public void RFC9460_test_vectors(string text, string wireHex)
    {
        var rr = AssertRoundTrips(text);
        Assert.Equal(Hex(wireHex), rr.Data.ToWire());
        Assert.Equal(rr.Data, ReadWire(rr.Type, Hex(wireHex)));
    }

    [Fact]
    public void SVCB_alpn_with_escapes_prints_as_RFC9460_shows()
    {
        var rr = RecordText.Parse("example.com. SVCB 16 foo.example.org. alpn=f\\\\\\092oo\\092,bar,h2", Root);
        Assert.Equal("16 foo.example.org. alpn=\"f\\\\\\\\oo\\\\,bar,h2\"", rr.Data.ToString());
        Assert.Equal(["f\\oo,bar", "h2"], ((SvcbData)rr.Data).Alpn);
    }

    // RFC 9460 Appendix D.3 failure cases.
    [Theory]
    [InlineData("f01 SVCB 1 foo.example.com. ( key123=abc key123=def )")]
    [InlineData("f02 SVCB 1 foo.example.com. mandatory")]
    [InlineData("f03 SVCB 1 foo.example.com. alpn")]
    [InlineData("f04 SVCB 1 foo.example.com. port")]
    [InlineData("f05 SVCB 1 foo.example.com. ipv4hint")]
    [InlineData("f06 SVCB 1 foo.example.com. ipv6hint")]
    [InlineData("f07 SVCB 1 foo.example.com. no-default-alpn=abc")]
    [InlineData("f08 SVCB 1 foo.example.com. mandatory=key123")]
    [InlineData("f09 SVCB 1 foo.example.com. mandatory=mandatory")]
    [InlineData("f10 SVCB 1 foo.example.com. ( mandatory=key123,key123 key123=abc )")]
    [InlineData("f11 SVCB 1 foo.example.com. key65535=x")]
    [InlineData("f12 SVCB 1 foo.example.com. ipv4hint=2001:db8::1")]
    [InlineData("f13 SVCB 1 foo.example.com. bogus=1")]
    public void RFC9460_failure_cases_are_rejected(string text) =>
        Assert.Throws<ZoneFileException>(() => RecordText.Parse(text, DnsName.Parse("failure-cases.")));

    [Theory]
    [InlineData("00 01 00 00 03 00 02 00 35 00 01 00 03 02 68 32")] // port (3) before alpn (1): out of order
    [InlineData("00 01 00 00 03 00 02 00 35 00 03 00 02 00 36")] // port repeated
    [InlineData("00 01 00 00 03 00 03 00 35 00")] // port of 3 octets
    [InlineData("00 01 00 00 03 00 05 00 35")] // a parameter longer than the RDATA
    public void SVCB_and_HTTPS_wire_data_that_breaks_RFC_9460_is_kept_as_opaque_RDATA(string hex)
    {
        // The zone's data, signed as sent: kept whole (RFC 3597), neither rejected nor reinterpreted.
        foreach (var type in new[] { RRType.SVCB, RRType.HTTPS })
        {
            var data = Assert.IsType<UnknownData>(ReadWire(type, Hex(hex)));
            Assert.Equal(type, data.Type);
            Assert.Equal(Hex(hex), data.ToCanonicalWire());
        }
    }

    [Fact]
    public void RFC6698_TLSA_examples()
    {
        var rr = AssertRoundTrips("_443._tcp.www.example.com. IN TLSA ( 0 0 1 d2abde240d7cd3ee6b4b28c54df034b9 7983a1d16e8a410e4561cb106618e971 )");
        Assert.Equal(Hex("00 00 01 d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971"), rr.Data.ToWire());
        AssertRoundTrips("_443._tcp.www.example.com. IN TLSA ( 1 1 2 92003ba34942dc74152e2f2c408d29ec a5a520e7f2e06bb944f4dca346baf63c 1b177615d466f6c4b71c216a50292bd5 8c9ebdd2f74e38fe51ffd48c43326cbc )");
    }

    [Fact]
    public void RFC8659_CAA_wire_form()
    {
        var rr = AssertRoundTrips("example.com. CAA 0 issue \"ca.example.net\"");
        Assert.Equal(Hex("00 05 6973737565 63612e6578616d706c652e6e6574"), rr.Data.ToWire());
        var critical = (CaaData)RecordText.Parse("example.com. CAA 128 tbs \"Unknown\"", Root).Data;
        Assert.True(critical.IsCritical);
        Assert.Throws<ZoneFileException>(() => RecordText.Parse("example.com. CAA 0 is-sue \"x\"", Root));
    }

    [Fact]
    public void RFC8976_ZONEMD_example()
    {
        var rr = AssertRoundTrips("""
            example. 86400 IN ZONEMD 2018031900 1 1 (
                c68090d90a7aed716bc459f9340e3d7c
                1370d4d24b7e2fc3a1ddc0b9a87153b9
                a9713b3c9ae5cc27777f98b8e730044c )
            """);
        var z = (ZonemdData)rr.Data;
        Assert.Equal(2018031900u, z.Serial);
        Assert.Equal(48, z.Digest.Length);
        Assert.Equal(Hex("78 48 B9 1C 01 01"), rr.Data.ToWire()[..6]);
    }

    [Fact]
    public void RFC4255_SSHFP_example()
    {
        var rr = AssertRoundTrips("host.example. SSHFP 2 1 123456789abcdef67890123456789abcdef67890");
        Assert.Equal(Hex("02 01 123456789abcdef67890123456789abcdef67890"), rr.Data.ToWire());
    }

    [Fact]
    public void RFC3597_unknown_types_and_classes()
    {
        var rr = AssertRoundTrips("a.example. CLASS32 TYPE731 \\# 6 abcd ( ef 01 23 45 )");
        Assert.Equal((RRClass)32, rr.Class);
        Assert.Equal((RRType)731, rr.Type);
        Assert.Equal(Hex("abcdef012345"), rr.Data.ToWire());
        Assert.Equal("a.example.\t3600\tCLASS32\tTYPE731\t\\# 6 ABCDEF012345", rr.ToString());
        var empty = AssertRoundTrips("b.example. HS TYPE62347 \\# 0");
        Assert.Empty(empty.Data.ToWire());
    }

    [Fact]
    public void Generic_form_of_a_known_type_decodes_into_the_typed_class()
    {
        var generic = RecordText.Parse("e.example. IN A \\# 4 0A000001", Root);
        Assert.Equal(RecordText.Parse("e.example. IN A 10.0.0.1", Root), generic);
        Assert.IsType<AddressData>(generic.Data);
        var mx = RecordText.Parse("e.example. MX \\# 7 000A 01 61 01 62 00", Root);
        Assert.Equal(new MxData(10, DnsName.Parse("a.b.")), mx.Data);
    }

    [Fact]
    public void Malformed_generic_data_of_a_known_type_is_rejected_unless_asked_to_keep_it()
    {
        var e = Assert.Throws<ZoneFileException>(() => RecordText.Parse("www.example.com. IN A \\# 3 030405", Root));
        Assert.Equal(1, e.Line);
        var kept = RecordText.Parse("www.example.com. IN A \\# 3 030405", Root, 3600, keepMalformedGeneric: true);
        var unknown = Assert.IsType<UnknownData>(kept.Data);
        Assert.Equal(RRType.A, unknown.Type);
        Assert.Equal(Hex("030405"), unknown.Bytes.ToArray());
        Assert.Throws<ZoneFileException>(() => RecordText.Parse("a. A \\# 4 0A00", Root));
    }

    [Theory]
    [InlineData("example.com. 3600 IN NS ns.example.com.", "example.com.", RRType.NS, 3600u)]
    [InlineData("www IN A 1.2.3.4", "www.example.", RRType.A, 86400u)]
    [InlineData(". DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D", ".", RRType.DS, 86400u)]
    [InlineData("@ IN 1h SOA ns hostmaster 1 2 3 4 5", "example.", RRType.SOA, 3600u)]
    [InlineData("refuse.top. ANY TXT implicit", "refuse.top.", RRType.TXT, 86400u)]
    public void RecordText_reads_scenario_style_lines(string text, string owner, RRType type, uint ttl)
    {
        var rr = RecordText.Parse(text, DnsName.Parse("example."), 86400);
        Assert.Equal(DnsName.Parse(owner), rr.Name);
        Assert.Equal(type, rr.Type);
        Assert.Equal(ttl, rr.Ttl);
    }

    [Theory]
    [InlineData("a. A 1.2.3", 1, 6)]
    [InlineData("a. A 1.2.3.4 extra", 1, 14)]
    [InlineData("a. MX 10", 1, 9)]
    [InlineData("a. 300 IN BOGUS x", 1, 11)]
    [InlineData("a. DNSKEY 256 3 8 not*base64", 1, 19)]
    [InlineData("a. TXT \"unterminated", 1, 8)]
    [InlineData("a. NSEC b. A NOTATYPE", 1, 14)]
    [InlineData("a. RRSIG A 8 1 300 20250230000000 20250101000000 1 a. AAAA", 1, 20)]
    public void Errors_point_at_the_offending_token(string text, int line, int column)
    {
        var e = Assert.Throws<ZoneFileException>(() => RecordText.Parse(text, Root));
        Assert.Equal((line, column), (e.Line, e.Column));
        Assert.StartsWith($"<record>:{line}:{column}: expected ", e.Message);
    }

    [Fact]
    public void Truncated_text_and_random_wire_only_raise_DnsFormatException()
    {
        string[] samples =
        [
            "example.com. SVCB 16 foo.example.org. ( alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1 )",
            "host.example.com. RRSIG A 5 3 86400 20030322173103 20030220173103 2642 example.com. oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTr",
            "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. NSEC3 1 1 12 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY",
            "cid.urn.arpa. NAPTR 100 10 \"\" \"\" \"!^urn:cid:.+@([^\\.]+\\.)(.*)$!\\2!i\" .",
            "a. CAA 0 issue \"ca\\\"x\"",
        ];
        foreach (var sample in samples)
        {
            for (int n = 0; n < sample.Length; n++)
            {
                try { RecordText.Parse(sample[..n], Root); }
                catch (DnsFormatException) { }
            }
        }
        var random = new Random(1234);
        RRType[] types = [RRType.MX, RRType.TXT, RRType.SRV, RRType.NAPTR, RRType.CAA, RRType.DS, RRType.DNSKEY, RRType.RRSIG,
            RRType.NSEC, RRType.NSEC3, RRType.NSEC3PARAM, RRType.TLSA, RRType.SSHFP, RRType.SVCB, RRType.HTTPS, RRType.ZONEMD, RRType.HINFO];
        for (int i = 0; i < 20000; i++)
        {
            var bytes = new byte[random.Next(0, 40)];
            random.NextBytes(bytes);
            var type = types[i % types.Length];
            try
            {
                var data = ReadWire(type, bytes);
                // Whatever decodes must print as text that reads back to the same data.
                var rr = new ResourceRecord(DnsName.Parse("x."), 1, data);
                Assert.Equal(data, RecordText.Parse(rr.ToString(), Root).Data);
            }
            catch (DnsFormatException) { }
        }
    }
}

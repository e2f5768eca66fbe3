using System.Security.Cryptography;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Tests;

public class CanonicalFormTests
{
    private static ResourceRecord R(string text) => RecordText.Parse(text, DnsName.Root);

    private static byte[] Hex(string hex) => Convert.FromHexString(string.Concat(hex.Where(char.IsAsciiHexDigit)));

    [Fact]
    public void RRset_is_sorted_by_canonical_rdata_with_duplicates_removed()
    {
        var rrset = new[]
        {
            R("Example.COM. 300 A 192.0.2.2"),
            R("example.com. 300 A 192.0.2.1"),
            R("example.com. 300 A 192.0.2.2"),
            R("example.com. 300 A 10.0.0.1"),
        };
        var bytes = CanonicalForm.RRset(rrset, originalTtl: 3600);
        var owner = Hex("07 65 78 61 6d 70 6c 65 03 63 6f 6d 00"); // lowercased
        byte[] Rr(string address) => [.. owner, .. Hex("0001 0001 00000E10 0004"), .. System.Net.IPAddress.Parse(address).GetAddressBytes()];
        Assert.Equal([.. Rr("10.0.0.1"), .. Rr("192.0.2.1"), .. Rr("192.0.2.2")], bytes);
    }

    [Fact]
    public void Shorter_rdata_sorts_first_when_it_is_a_prefix()
    {
        var ordered = CanonicalForm.Order([R("a. TXT abc").Data, R("a. TXT ab").Data, R("a. TXT \"ab\" \"c\"").Data]);
        Assert.Equal(["\"ab\"", "\"ab\" \"c\"", "\"abc\""], ordered.Select(d => d.ToString()));
    }

    [Theory]
    [InlineData("a. NS NS1.Example.", "036e7331076578616d706c6500")]
    [InlineData("a. MX 1 MAIL.Example.", "0001046d61696c076578616d706c6500")]
    [InlineData("a. SRV 1 2 3 Host.Example.", "00010002000304686f7374076578616d706c6500")]
    [InlineData("a. DNAME Target.Example.", "06746172676574076578616d706c6500")]
    [InlineData("a. SOA NS.Example. Admin.Example. 1 2 3 4 5", "026e73076578616d706c65000561646d696e076578616d706c650000000001000000020000000300000004 00000005")]
    [InlineData("a. NSEC Next.Example. A", "044e657874074578616d706c65000001 40")] // RFC 6840 §5.1: kept as is
    [InlineData("a. SVCB 1 Svc.Example.", "000103537663074578616d706c6500")] // not in RFC 4034 §6.2's list
    [InlineData("a. HINFO CPU OS", "03435055024f53")] // character-strings, not names
    public void Canonical_rdata_lowercases_exactly_the_listed_names(string text, string canonicalHex) =>
        Assert.Equal(Hex(canonicalHex), R(text).Data.ToCanonicalWire());

    [Fact]
    public void RRSIG_signed_data_prefix_lowercases_the_signer()
    {
        var sig = (RrsigData)R("a.example. RRSIG A 8 2 300 20250101000000 20240101000000 4711 EXAMPLE. AAAA").Data;
        var prefix = CanonicalForm.SignedDataPrefix(sig);
        Assert.Equal(Hex("0001 08 02 0000012c") , prefix[..8]);
        Assert.Equal(Hex("1267 07 6578616d706c65 00"), prefix[16..]);
        // The wire form keeps the case; equality (canonical) does not care.
        Assert.Equal(Hex("07 4558414d504c45 00"), sig.ToWire()[18..27]);
    }

    [Fact]
    public void Signed_data_uses_the_wildcard_owner_and_original_ttl()
    {
        var sig = (RrsigData)R("x.y.Example. RRSIG TXT 8 2 600 20250101000000 20240101000000 1 example. AAAA").Data;
        var rrset = new[] { R("x.y.example. 30 TXT b"), R("X.Y.example. 30 TXT a") };
        var signed = CanonicalForm.SignedData(sig, rrset);
        var prefix = CanonicalForm.SignedDataPrefix(sig);
        var expectedOwner = Hex("01 2a 01 79 07 6578616d706c65 00"); // *.y.example.: "*" plus the rightmost 2 labels
        byte[] Rr(char c) => [.. expectedOwner, .. Hex("0010 0001 00000258 0002 01"), (byte)c];
        Assert.Equal([.. prefix, .. Rr('a'), .. Rr('b')], signed);
    }

    [Fact]
    public void Wildcard_owner_reconstruction()
    {
        var owner = DnsName.Parse("a.b.example.com.");
        Assert.Equal(owner, CanonicalForm.SignedOwner(owner, 4));
        Assert.Equal(DnsName.Parse("*.example.com."), CanonicalForm.SignedOwner(owner, 2));
        Assert.Equal(DnsName.Parse("*."), CanonicalForm.SignedOwner(owner, 0));
        // A wildcard owner itself: RRSIG labels does not count the '*'.
        Assert.Equal(DnsName.Parse("*.example.com."), CanonicalForm.SignedOwner(DnsName.Parse("*.example.com."), 2));
        Assert.Throws<DnsFormatException>(() => CanonicalForm.SignedOwner(owner, 5));
    }

    [Fact]
    public void RFC4034_DS_digest_is_SHA1_of_owner_and_canonical_DNSKEY()
    {
        // RFC 4034 §5.4: digest = SHA-1(DNSKEY owner name | DNSKEY RDATA), owner in canonical (lowercase) form.
        var key = R("""
            DSKEY.example.com. 86400 IN DNSKEY 256 3 5 ( AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMz
                NXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw== )
            """);
        var buffer = new byte[512];
        var writer = new WireWriter(buffer, NameWriteMode.Canonical);
        writer.WriteName(key.Name);
        key.Data.WriteTo(ref writer);
        var ds = (DsData)R("dskey.example.com. 86400 IN DS 60485 5 1 ( 2BB183AF5F22588179A53B0A98631FAD1A292118 )").Data;
        Assert.Equal(ds.Digest.ToArray(), SHA1.HashData(writer.Written));
        Assert.Equal(ds.KeyTag, ((DnskeyData)key.Data).KeyTag);
    }

    [Fact]
    public void Rdata_equality_is_canonical()
    {
        Assert.Equal(R("a. NS FOO.example.").Data, R("a. NS foo.EXAMPLE.").Data);
        Assert.NotEqual(R("a. NSEC FOO.example. A").Data, R("a. NSEC foo.example. A").Data);
    }
}

using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Dns.Tests;

public class EdnsOptionTests
{
    private static readonly DnsName Www = DnsName.Parse("www.example.com.");

    /// <summary>Writes a query carrying <paramref name="option"/> and returns the OPT RDATA (the option on the wire).</summary>
    private static byte[] OptionOnWire(EdnsOption option)
    {
        var q = DnsMessage.CreateQuery(1, Www, RRType.A);
        q.Edns!.Options.Add(option);
        var wire = q.ToArray();
        int rdlength = (wire[^(option.DataLength + 6)] << 8) | wire[^(option.DataLength + 5)];
        Assert.Equal(4 + option.DataLength, rdlength);
        return wire[^rdlength..];
    }

    /// <summary>Parses a query whose OPT RDATA is exactly <paramref name="optionBytes"/>.</summary>
    private static DnsMessage ParseWithOptions(byte[] optionBytes)
    {
        var q = DnsMessage.CreateQuery(1, Www, RRType.A).ToArray();
        // The query ends in an empty OPT: patch RDLENGTH and append the option bytes.
        var wire = q.Concat(optionBytes).ToArray();
        wire[q.Length - 2] = (byte)(optionBytes.Length >> 8);
        wire[q.Length - 1] = (byte)optionBytes.Length;
        return DnsMessage.Parse(wire);
    }

    private static T Single<T>(byte[] optionBytes) where T : EdnsOption
    {
        var m = ParseWithOptions(optionBytes);
        return Assert.IsType<T>(Assert.Single(m.Edns!.Options));
    }

    [Fact]
    public void Client_subnet_ipv4_is_truncated_to_the_prefix()
    {
        // 192.0.2.77/24, scope 0: FAMILY 1, SOURCE 24, SCOPE 0, ADDRESS C0 00 02 (three octets).
        byte[] expected = [0x00, 0x08, 0x00, 0x07, 0x00, 0x01, 24, 0, 0xC0, 0x00, 0x02];
        var option = new ClientSubnetOption(IPAddress.Parse("192.0.2.77"), 24);
        Assert.Equal(IPAddress.Parse("192.0.2.0"), option.Address);
        Assert.Equal(expected, OptionOnWire(option));

        var parsed = Single<ClientSubnetOption>(expected);
        Assert.Equal(ClientSubnetOption.FamilyIPv4, parsed.Family);
        Assert.Equal(24, parsed.SourcePrefixLength);
        Assert.Equal(0, parsed.ScopePrefixLength);
        Assert.Equal(IPAddress.Parse("192.0.2.0"), parsed.Address);
        Assert.Equal(option, parsed);
    }

    [Fact]
    public void Client_subnet_ipv6_with_partial_octet_and_scope()
    {
        // 2001:db8:abcd::/45 scope 48: six octets, the last keeps its top 5 bits (0xCD & 0xF8 = 0xC8).
        byte[] expected = [0x00, 0x08, 0x00, 0x0A, 0x00, 0x02, 45, 48, 0x20, 0x01, 0x0D, 0xB8, 0xAB, 0xC8];
        var option = new ClientSubnetOption(IPAddress.Parse("2001:db8:abcd::1"), 45, 48);
        Assert.Equal(expected, OptionOnWire(option));
        var parsed = Single<ClientSubnetOption>(expected);
        Assert.Equal(IPAddress.Parse("2001:db8:abc8::"), parsed.Address);
        Assert.Equal(48, parsed.ScopePrefixLength);
    }

    [Fact]
    public void Client_subnet_zero_prefix_has_no_address_octets()
    {
        byte[] expected = [0x00, 0x08, 0x00, 0x04, 0x00, 0x01, 0, 0];
        Assert.Equal(expected, OptionOnWire(new ClientSubnetOption(IPAddress.Parse("203.0.113.9"), 0)));
        Assert.Equal(IPAddress.Any, Single<ClientSubnetOption>(expected).Address);
    }

    [Theory]
    [InlineData(new byte[] { 0x00, 0x01, 24 })]                                  // shorter than 4 octets
    [InlineData(new byte[] { 0x00, 0x03, 24, 0, 1, 2, 3 })]                      // unknown family
    [InlineData(new byte[] { 0x00, 0x01, 33, 0, 1, 2, 3, 4, 5 })]                // IPv4 source prefix above 32
    [InlineData(new byte[] { 0x00, 0x01, 24, 33, 1, 2, 3 })]                     // IPv4 scope prefix above 32
    [InlineData(new byte[] { 0x00, 0x02, 129, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 })] // IPv6 /129
    [InlineData(new byte[] { 0x00, 0x01, 24, 0, 192, 0, 2, 0 })]                 // too many address octets
    [InlineData(new byte[] { 0x00, 0x01, 24, 0, 192, 0 })]                       // too few address octets
    [InlineData(new byte[] { 0x00, 0x01, 23, 0, 192, 0, 3 })]                    // a bit set beyond /23
    public void Malformed_client_subnet_is_a_format_error(byte[] data)
    {
        byte[] option = [0x00, 0x08, (byte)(data.Length >> 8), (byte)data.Length, .. data];
        Assert.Throws<DnsFormatException>(() => ParseWithOptions(option));
    }

    [Fact]
    public void Cookie_with_and_without_server_cookie()
    {
        byte[] client = [1, 2, 3, 4, 5, 6, 7, 8];
        byte[] server = [0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF];
        byte[] clientOnly = [0x00, 0x0A, 0x00, 0x08, .. client];
        byte[] both = [0x00, 0x0A, 0x00, 0x18, .. client, .. server];
        Assert.Equal(clientOnly, OptionOnWire(new CookieOption(client)));
        Assert.Equal(both, OptionOnWire(new CookieOption(client, server)));

        var parsed = Single<CookieOption>(both);
        Assert.Equal(client, parsed.ClientCookie.ToArray());
        Assert.Equal(server, parsed.ServerCookie.ToArray());
        Assert.True(parsed.HasServerCookie);
        Assert.False(Single<CookieOption>(clientOnly).HasServerCookie);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(9)]
    [InlineData(15)]
    [InlineData(41)]
    public void Cookie_of_illegal_length_is_a_format_error(int length)
    {
        byte[] option = [0x00, 0x0A, 0x00, (byte)length, .. new byte[length]];
        Assert.Throws<DnsFormatException>(() => ParseWithOptions(option));
    }

    [Theory]
    [InlineData(16)]
    [InlineData(40)]
    public void Cookie_length_bounds_are_accepted(int length)
    {
        byte[] option = [0x00, 0x0A, 0x00, (byte)length, .. new byte[length]];
        Assert.Equal(length - 8, Single<CookieOption>(option).ServerCookie.Length);
    }

    [Fact]
    public void Padding_is_zeros_and_its_contents_are_ignored()
    {
        Assert.Equal(new byte[] { 0x00, 0x0C, 0x00, 0x03, 0, 0, 0 }, OptionOnWire(new PaddingOption(3)));
        var parsed = Single<PaddingOption>([0x00, 0x0C, 0x00, 0x02, 0xFF, 0xEE]);
        Assert.Equal(2, parsed.Length);
        Assert.Equal(new byte[] { 0, 0 }, parsed.GetData());
        Assert.Equal(0, Single<PaddingOption>([0x00, 0x0C, 0x00, 0x00]).Length);
    }

    [Fact]
    public void Tcp_keepalive_empty_or_timeout()
    {
        Assert.Equal(new byte[] { 0x00, 0x0B, 0x00, 0x00 }, OptionOnWire(new TcpKeepaliveOption()));
        Assert.Equal(new byte[] { 0x00, 0x0B, 0x00, 0x02, 0x01, 0x2C }, OptionOnWire(new TcpKeepaliveOption(300)));
        var parsed = Single<TcpKeepaliveOption>([0x00, 0x0B, 0x00, 0x02, 0x01, 0x2C]);
        Assert.Equal((ushort)300, parsed.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(30), parsed.TimeoutSpan);
        Assert.Null(Single<TcpKeepaliveOption>([0x00, 0x0B, 0x00, 0x00]).Timeout);
        Assert.Throws<DnsFormatException>(() => ParseWithOptions([0x00, 0x0B, 0x00, 0x01, 0x05]));
        Assert.Throws<DnsFormatException>(() => ParseWithOptions([0x00, 0x0B, 0x00, 0x03, 0, 0, 0]));
    }

    [Fact]
    public void Nsid_is_raw_bytes()
    {
        Assert.Equal(new byte[] { 0x00, 0x03, 0x00, 0x00 }, OptionOnWire(new NsidOption()));
        byte[] expected = [0x00, 0x03, 0x00, 0x03, (byte)'n', (byte)'s', (byte)'1'];
        Assert.Equal(expected, OptionOnWire(NsidOption.FromText("ns1")));
        Assert.Equal("ns1"u8.ToArray(), Single<NsidOption>(expected).Data.ToArray());
    }

    [Fact]
    public void Extended_error_info_code_and_text()
    {
        byte[] expected = [0x00, 0x0F, 0x00, 0x05, 0x00, 0x12, (byte)'a', (byte)'b', (byte)'c'];
        Assert.Equal(expected, OptionOnWire(new ExtendedErrorOption(EdeCode.Prohibited, "abc")));
        var parsed = Single<ExtendedErrorOption>(expected);
        Assert.Equal(EdeCode.Prohibited, parsed.InfoCode);
        Assert.Equal("abc", parsed.ExtraText);
        // Trailing NULs are trimmed, all of them, so that a re-read gives the same text.
        Assert.Equal("abc", Single<ExtendedErrorOption>([0x00, 0x0F, 0x00, 0x07, 0x00, 0x12, (byte)'a', (byte)'b', (byte)'c', 0, 0]).ExtraText);
        Assert.Throws<DnsFormatException>(() => ParseWithOptions([0x00, 0x0F, 0x00, 0x01, 0x00]));
    }

    [Fact]
    public void Unknown_options_stay_raw_and_round_trip()
    {
        byte[] option = [0xFD, 0xE9, 0x00, 0x02, 0xAB, 0xCD];
        var parsed = Single<RawEdnsOption>(option);
        Assert.Equal((EdnsOptionCode)0xFDE9, parsed.Code);
        Assert.Equal(option, OptionOnWire(parsed));
    }

    [Fact]
    public void Truncated_option_framing_is_a_format_error()
    {
        Assert.Throws<DnsFormatException>(() => ParseWithOptions([0x00, 0x0C, 0x00]));
        Assert.Throws<DnsFormatException>(() => ParseWithOptions([0x00, 0x0C, 0x00, 0x05, 0, 0]));
    }

    [Theory]
    [InlineData(PaddingOption.QueryBlockSize)]
    [InlineData(PaddingOption.ResponseBlockSize)]
    [InlineData(7)]
    public void Block_padding_makes_the_message_a_multiple_of_the_block(int block)
    {
        var q = DnsMessage.CreateQuery(7, Www, RRType.AAAA);
        q.Edns!.Options.Add(new CookieOption([1, 2, 3, 4, 5, 6, 7, 8]));
        q.Edns.Options.Add(PaddingOption.ToBlockSize(block));
        var wire = q.ToArray();
        Assert.Equal(0, wire.Length % block);
        var parsed = DnsMessage.Parse(wire);
        var padding = parsed.Edns!.Find<PaddingOption>();
        Assert.NotNull(padding);
        // Without padding: 12 header + 21 question + 11 OPT + 12 cookie + 4 padding header = 60.
        Assert.Equal((block - 60 % block) % block, padding.Length);
    }

    [Fact]
    public void Block_padding_never_exceeds_the_size_limit()
    {
        var r = DnsMessage.CreateQuery(7, Www, RRType.A).CreateResponse();
        for (int i = 0; i < 27; i++)
            r.Answers.Add(new ResourceRecord(Www, 60, new AddressData(new IPAddress([192, 0, 2, (byte)i]))));
        r.Edns!.Options.Add(PaddingOption.ToBlockSize(PaddingOption.ResponseBlockSize));
        var unpadded = DnsMessage.CreateQuery(7, Www, RRType.A).CreateResponse();
        unpadded.Answers.AddRange(r.Answers);
        int bare = unpadded.ToArray().Length + 4;
        Assert.True(bare > 468 && bare < 500, $"test needs a message between one block and the limit, got {bare}");
        var wire = r.ToArray(maxSize: 500);
        Assert.Equal(500, wire.Length);
        Assert.Equal(936, r.ToArray().Length);
        Assert.False(DnsMessage.Parse(wire).Has(HeaderFlags.TC));
    }
}

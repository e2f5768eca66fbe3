using System.Net;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using Xunit;

namespace Ananas.Server.Tests;

/// <summary>Client addresses and groups as two 64-bit halves: prefixes on either side of the halves' boundary.</summary>
public class ClientAddressTests
{
    private static ClientAddress Address(string text, int port = 5300) =>
        ClientAddress.From(new IPEndPoint(IPAddress.Parse(text), port));

    [Theory]
    [InlineData("2001:db8:1234:5678:9abc:def0:1234:5678", 56, "2001:db8:1234:5600::")]
    [InlineData("2001:db8:1234:5678:9abc:def0:1234:5678", 64, "2001:db8:1234:5678::")]
    [InlineData("2001:db8:1234:5678:9abc:def0:1234:5678", 100, "2001:db8:1234:5678:9abc:def0:1000:0")]
    [InlineData("2001:db8:1234:5678:9abc:def0:1234:5678", 128, "2001:db8:1234:5678:9abc:def0:1234:5678")]
    [InlineData("2001:db8:1234:5678:9abc:def0:1234:5678", 0, "::")]
    public void An_IPv6_group_keeps_exactly_the_prefix_bits(string address, int prefix, string expected)
    {
        var group = ClientGroup.Of(Address(address), 24, prefix);
        Assert.Equal(6, group.Family);
        Assert.Equal(IPAddress.Parse(expected), group.ToIPAddress());
    }

    [Fact]
    public void An_IPv4_mapped_client_is_an_IPv4_client_in_its_slash_24()
    {
        var mapped = Address("::ffff:192.0.2.77");
        Assert.True(mapped.IsIPv4);
        Assert.Equal(Address("192.0.2.77"), mapped);
        Assert.Equal("192.0.2.0", ClientGroup.Of(mapped, 24, 56).ToString());
        Assert.Equal(IPAddress.Parse("192.0.2.77"), mapped.ToIPAddress());
    }

    [Fact]
    public void Two_clients_in_one_slash_56_share_a_group_and_a_third_outside_does_not()
    {
        var a = ClientGroup.Of(Address("2001:db8:0:ab01::1"), 24, 56);
        var b = ClientGroup.Of(Address("2001:db8:0:abff::2"), 24, 56);
        var c = ClientGroup.Of(Address("2001:db8:0:ac00::1"), 24, 56);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void The_access_list_matches_IPv6_networks_longer_and_shorter_than_64_bits()
    {
        var acl = AccessList.Parse(["2001:db8:1::/48", "2001:db8:2:3:4::/80", "10.0.0.0/8"]);
        Assert.True(acl.Allows(Address("2001:db8:1:ffff::1")));
        Assert.False(acl.Allows(Address("2001:db8:2::1")));
        Assert.True(acl.Allows(Address("2001:db8:2:3:4:ffff::1")));
        Assert.False(acl.Allows(Address("2001:db8:2:3:5::1")));
        Assert.True(acl.Allows(Address("::ffff:10.1.2.3")));
        Assert.False(acl.Allows(Address("11.0.0.1")));
    }

    [Theory]
    [InlineData("192.0.2.77", 5300)]
    [InlineData("::ffff:192.0.2.77", 53)]
    [InlineData("2001:db8:1234:5678:9abc:def0:1234:5678", 65535)]
    public void A_raw_socket_address_read_with_its_sockets_family_is_the_client_of_its_endpoint(string text, int port)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(text), port);
        var socketAddress = endPoint.Serialize();
        var raw = socketAddress.Buffer.Span;
        Assert.Equal(Address(text, port), ClientAddress.From(raw, endPoint.AddressFamily));
        Assert.Equal(Address(text, port), ClientAddress.From(socketAddress));
    }
}

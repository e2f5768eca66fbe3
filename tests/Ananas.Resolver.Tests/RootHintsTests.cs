using System.Net;
using Ananas.Dns;

namespace Ananas.Resolver.Tests;

public sealed class RootHintsTests
{
    [Fact]
    public void Built_in_hints_name_the_13_root_servers_with_both_families()
    {
        var hints = RootHints.Iana;
        Assert.Equal(13, hints.Servers.Count);
        Assert.All(hints.Servers, s => Assert.Equal(2, s.Addresses.Count));
        var k = hints.Servers.Single(s => s.Name.Equals(DnsName.Parse("k.root-servers.net.")));
        Assert.Contains(IPAddress.Parse("193.0.14.129"), k.Addresses);
    }

    [Fact]
    public void Parses_a_named_root_style_file()
    {
        const string text = """
            ;       This file holds the information on root name servers
            .                        3600000      NS    A.ROOT-SERVERS.NET.
            A.ROOT-SERVERS.NET.      3600000      A     198.41.0.4
            A.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:ba3e::2:30
            ;
            .                        3600000      NS    B.ROOT-SERVERS.NET.
            B.ROOT-SERVERS.NET.      3600000      A     170.247.170.2
            .                        3600000      NS    NOADDR.EXAMPLE.
            ; End of file
            """;
        var hints = RootHints.Parse(text);
        Assert.Equal(2, hints.Servers.Count);
        Assert.Equal([IPAddress.Parse("198.41.0.4"), IPAddress.Parse("2001:503:ba3e::2:30")], hints.Servers[0].Addresses);
        Assert.Equal(DnsName.Parse("b.root-servers.net."), hints.Servers[1].Name);
    }
}

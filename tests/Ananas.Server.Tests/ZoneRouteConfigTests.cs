using System.Net;
using Ananas.Cli;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Configuration;
using Ananas.Tests.Lab;

namespace Ananas.Server.Tests;

/// <summary>[[forward]] and [[stub]] tables, and `ananas resolve` built from the same configuration as `serve`.</summary>
public sealed class ZoneRouteConfigTests
{
    [Theory]
    [InlineData("192.0.2.1", "192.0.2.1:53", null)]
    [InlineData("127.0.0.1:5300", "127.0.0.1:5300", null)]
    [InlineData("2001:db8::1", "[2001:db8::1]:53", null)]
    [InlineData("[2001:db8::1]:5353", "[2001:db8::1]:5353", null)]
    [InlineData("tls://1.1.1.1#cloudflare-dns.com", "1.1.1.1:853", "cloudflare-dns.com")]
    [InlineData("tls://[2001:db8::1]:8853#dot.example", "[2001:db8::1]:8853", "dot.example")]
    [InlineData("tls://192.0.2.7", "192.0.2.7:853", "192.0.2.7")]
    public void A_server_is_an_address_an_optional_port_and_for_tls_the_certificate_name(string text, string endPoint, string? tlsName)
    {
        var (parsed, name) = ZoneRouteConfig.ParseServer(text);
        Assert.Equal(IPEndPoint.Parse(endPoint), parsed);
        Assert.Equal(tlsName, name);
    }

    [Fact]
    public void Forward_and_stub_tables_replace_the_defaults_and_reach_the_recursor()
    {
        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), """
            [[forward]]
            zone = "corp.example"
            servers = ["192.0.2.1", "tls://192.0.2.2#dns.corp.example"]
            first = true
            [[forward]]
            zone = "."
            servers = ["127.0.0.1:5300"]
            [[stub]]
            zone = "lab.example."
            servers = ["192.0.2.9:5353"]
            """, "c.toml");
        var options = Hosting.ResolverStackBuilder.RecursorOptions(config);
        Assert.Equal(2, options.ForwardZones.Count);
        var corp = options.ForwardZones[0];
        Assert.Equal(DnsName.Parse("corp.example."), corp.Name);
        Assert.True(corp.First);
        Assert.Equal([IPEndPoint.Parse("192.0.2.1:53"), IPEndPoint.Parse("192.0.2.2:853")], corp.Servers);
        Assert.Equal("dns.corp.example", corp.TlsNames[IPEndPoint.Parse("192.0.2.2:853")]);
        Assert.False(options.ForwardZones[1].First);
        Assert.Equal(IPEndPoint.Parse("192.0.2.9:5353"), Assert.Single(Assert.Single(options.StubZones).Servers));
        // A file without them keeps none.
        Assert.Empty(ConfigLoader.Defaults().Forwards);
    }

    [Fact]
    public void The_background_refresh_bounds_reach_the_recursor()
    {
        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), """
            [resolver]
            max-background-refreshes = 16
            prefetch-hold-off-size = "8KiB"
            """, "c.toml");
        var options = Hosting.ResolverStackBuilder.RecursorOptions(config);
        Assert.Equal(16, options.MaxBackgroundRefreshes);
        Assert.Equal(8 * 1024, options.PrefetchHoldOffCapacityBytes);
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Apply(ConfigLoader.Defaults(), "[resolver]\nmax-background-refreshes = 0", "c.toml"));
        Assert.Contains("resolver.max-background-refreshes", error.Message);
    }

    [Theory]
    [InlineData("[[forward]]\nzone = \".\"\nservers = [\"192.0.2.1\",\n  \"udp://192.0.2.2\"]", "c.toml:4: forward[0].servers[1]: 'udp://192.0.2.2' is not a server")]
    [InlineData("[[forward]]\nservers = [\"192.0.2.1\"]", "c.toml:1: forward[0].zone: missing")]
    [InlineData("[[forward]]\nzone = \"a..b\"\nservers = [\"192.0.2.1\"]", "c.toml:2: forward[0].zone: 'a..b' is not a domain name")]
    [InlineData("[[forward]]\nzone = \".\"\nservers = []", "c.toml:3: forward[0].servers: no server given")]
    [InlineData("[[forward]]\nzone = \".\"\nservers = [\"192.0.2.1\"]\nfrist = true", "c.toml:4: forward[0].frist: unknown key")]
    [InlineData("[[stub]]\nzone = \"x.\"\nservers = [\"tls://192.0.2.1#x\"]", "c.toml:3: stub[0].servers[0]: 'tls://192.0.2.1#x': a stub zone's servers are authorities")]
    [InlineData("[[stub]]\nzone = \"x.\"\nservers = [\"192.0.2.1\"]\nfirst = \"yes\"", "c.toml:4: stub[0].first: ")]
    public void A_bad_zone_route_is_an_error_naming_the_table_and_key(string toml, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Apply(ConfigLoader.Defaults(), toml, "c.toml"));
        Assert.StartsWith(expected, e.Message);
    }

    [Fact]
    public async Task Resolve_validates_by_default_as_serve_does()
    {
        Assert.True(NsdHierarchy.FindNsd() is not null, "nsd is not installed: run scripts/setup.sh (it installs the Debian package nsd)");
        await using var nsd = await NsdHierarchy.StartAsync(TimeSpan.FromSeconds(10));
        string file = Path.Combine(nsd.Directory, "resolve.toml");
        // The lab delegates test. itself; its unsigned root sits under the real root's trust anchor, so it is bogus.
        await File.WriteAllTextAsync(file, "[resolver]\nlocal-zones = [\"localhost.\"]\n");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        var validating = ResolveCommand.BuildConfig(file, nsd.RootHintsFile, null, null, false, null, true, allowLoopback: true, false, validate: true);
        var bogus = await ResolveCommand.ResolveAsync(validating, DnsName.Parse("www.example.test."), RRType.A, false, null, timeout.Token);
        Assert.Equal(Rcode.ServFail, bogus.Message.Rcode);

        var notValidating = ResolveCommand.BuildConfig(file, nsd.RootHintsFile, null, null, false, null, true, allowLoopback: true, false, validate: false);
        var answer = await ResolveCommand.ResolveAsync(notValidating, DnsName.Parse("www.example.test."), RRType.A, false, null, timeout.Token);
        Assert.Equal(Rcode.NoError, answer.Message.Rcode);
        Assert.Equal(NsdHierarchy.WwwAddress, Assert.Single(answer.Message.Answers).Data.ToString());
    }
}

using System.Net;
using System.Net.Sockets;
using Ananas.Cli;
using Ananas.Server.Configuration;
using Ananas.Server.Frames;
using Ananas.Server.Listeners;
using Ananas.Server.Scheduling;

namespace Ananas.Server.Tests;

public sealed class ConfigurationTests
{
    [Fact]
    public void Embedded_defaults_load()
    {
        var config = ConfigLoader.Defaults();
        Assert.Equal(["udp://127.0.0.1:5353", "tcp://127.0.0.1:5353"], config.Listen.Select(l => l.ToString()));
        Assert.Equal(256L << 20, config.CacheSizeBytes);
        Assert.Equal("", config.RootHints);
        Assert.Contains("192.168.0.0/16", config.Allow);
        Assert.True(config.QnameMinimisation);
        Assert.True(config.DnssecValidation);
        Assert.Equal("", config.TrustAnchorFile);
        Assert.Empty(config.NegativeTrustAnchors);
        Assert.Equal(Ananas.Resolver.LocalZones.Supported, config.LocalZones);
        Assert.Equal(TimeSpan.FromSeconds(5), config.QueryTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), config.TcpIdleTimeout);
        Assert.Equal(24, config.GroupPrefixV4);
        Assert.Equal(56, config.GroupPrefixV6);
        Assert.Equal(ShedAction.Drop, config.Shed);
    }

    [Fact]
    public void Serve_randomises_the_case_of_upstream_questions_by_default_and_the_config_turns_it_off()
    {
        Assert.True(Ananas.Server.Hosting.UpstreamSettings.Conductor(ConfigLoader.Defaults()).UseCaseRandomisation);
        var off = ConfigLoader.Apply(ConfigLoader.Defaults(), "[resolver]\nqname-case-randomisation = false\n", "config.toml");
        Assert.False(Ananas.Server.Hosting.UpstreamSettings.Conductor(off).UseCaseRandomisation);
    }

    [Fact]
    public void A_file_overrides_only_what_it_names()
    {
        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), """
            listen = ["udp://[::1]:5300", "tcp://0.0.0.0"]
            [cache]
            size = "1GiB"
            [scheduler]
            shed = "truncate"
            """, "config.toml");
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 5300), config.Listen[0].EndPoint);
        Assert.Equal(Transport.Tcp, config.Listen[1].Transport);
        Assert.Equal(53, config.Listen[1].EndPoint.Port);
        Assert.Equal(1L << 30, config.CacheSizeBytes);
        Assert.Equal(ShedAction.Truncate, config.Shed);
        Assert.True(config.QnameMinimisation);
    }

    [Theory]
    [InlineData("# comment\nlisten = [\"udp://127.0.0.1:53\",\n  \"udpx://1.2.3.4\"]", "config.toml:3: listen[1]: unknown scheme 'udpx'")]
    [InlineData("[cache]\n\nsize = \"lots\"", "config.toml:3: cache.size:")]
    [InlineData("[tcp]\nidle-timeout = 10", "config.toml:2: tcp.idle-timeout: expected a string")]
    [InlineData("[resolver]\nqnmae-minimisation = true", "config.toml:2: resolver.qnmae-minimisation: unknown key")]
    [InlineData("[dnssec]\nvalidation = \"yes\"", "config.toml:2: dnssec.validation: 'yes' is not one of on, off")]
    [InlineData("[dnssec]\nnegative-trust-anchors = [\"ok.example\",\n  \"bad..name\"]", "config.toml:3: dnssec.negative-trust-anchors[1]: 'bad..name' is not a domain name")]
    [InlineData("[access]\nallow = [\"10.0.0.0/8\", \"ten\"]", "config.toml:2: access.allow[1]: 'ten' is not a network")]
    [InlineData("[resolver]\n\nupstream-timeout = \"10ms\"", "config.toml:3: resolver.upstream-timeout: '10ms' is out of range: between 50ms and 30s")]
    [InlineData("[resolver]\nlocal-zones = [\"localhost\",\n  \"example.\"]", "config.toml:3: resolver.local-zones[1]: 'example.' is not a special-use zone Ananas serves")]
    [InlineData("listen = [", "config.toml:1:")]
    public void File_errors_name_the_line_and_key(string toml, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Apply(ConfigLoader.Defaults(), toml, "config.toml"));
        Assert.StartsWith(expected, e.Message);
    }

    /// <summary>Tomlyn's lexer throws ArgumentOutOfRangeException on a backslash ending a multi-line string: a config error.</summary>
    [Fact]
    public void A_backslash_ending_a_multi_line_string_is_a_config_error()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Apply(ConfigLoader.Defaults(), "a = \"\"\"\\", "config.toml"));
        Assert.StartsWith("config.toml: not valid TOML", e.Message);
    }

    /// <summary>Tomlyn throws TomlException for arrays nested deeper than 64 (found by fuzz/run config): a config error.</summary>
    [Fact]
    public void Arrays_nested_beyond_the_toml_library_depth_are_a_config_error()
    {
        var toml = "a = " + new string('[', 65) + new string(']', 65);
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Apply(ConfigLoader.Defaults(), toml, "config.toml"));
        Assert.StartsWith("config.toml: not valid TOML", e.Message);
    }

    /// <summary>The input fuzz/run config found (the case above, inside a mangled copy of defaults.toml).</summary>
    [Fact]
    public void The_fuzzer_found_config_is_a_config_error()
    {
        var toml = System.Text.Encoding.UTF8.GetString(Convert.FromHexString(FuzzerFoundConfig));
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Apply(ConfigLoader.Defaults(), toml, "fuzz.toml"));
        Assert.StartsWith("fuzz.toml: not valid TOML", e.Message);
    }

    private const string FuzzerFoundConfig =
            "2820416e20666f722062656e63682f72655c5c0a5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c204022726f6f742d68696e7473203d0a5572656572" +
            "5d0a2320146865206c61662772206e616d656073657276657273206c6976655c5c5c73203d0a49726565725d0a2320546865206c61665c775c5c5c5c" +
            "5c5c5c5c5c5c5c5b5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c206f6e203132372e782e0a717565723d20224043414348220a5b7564705d0a736f63800074" +
            "73203d20716572736f636b6574203d20405448524541445d0a6c65766553400a5b646e737365585d0a232056652078764a727920706565722c20616e" +
            "63686f72656420617420746865206c6169646174696f6e203d20226f6e220a74722de072203d2022404c417573742d616e63686f72203d2022407573" +
            "742ded72203d2022404cc14273220a5b6d657472690a5b726f6c5d0a6c6973640000003d2022220a5b6c6f675d0a6c203d2022696e67225c";

    [Theory]
    [InlineData(new[] { "udpx://127.0.0.1" }, null, null, "--listen: unknown scheme 'udpx'")]
    [InlineData(new[] { "udp://localhost:53" }, null, null, "--listen: 'localhost:53' is not an IP address")]
    [InlineData(null, "12XB", null, "--cache-size: ")]
    [InlineData(null, null, new[] { "10.0.0.0/33" }, "--allow: '10.0.0.0/33' is not a network")]
    public void Bad_flags_give_clear_errors(string[]? listen, string? cacheSize, string[]? allow, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ServeCommand.BuildConfig(null, listen, null, cacheSize, allow));
        Assert.StartsWith(expected, e.Message);
    }

    [Fact]
    public void Flags_override_the_file()
    {
        var config = ServeCommand.BuildConfig(null, ["udp://127.0.0.1:6000"], "/etc/named.root", "64MiB", ["192.0.2.0/24"]);
        Assert.Equal("udp://127.0.0.1:6000", Assert.Single(config.Listen).ToString());
        Assert.Equal("/etc/named.root", config.RootHints);
        Assert.Equal(64L << 20, config.CacheSizeBytes);
        Assert.Equal(["192.0.2.0/24"], config.Allow);
    }

    [Fact]
    public async Task A_port_in_use_is_a_clear_error()
    {
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)squatter.LocalEndPoint!).Port;
        var config = ServeCommand.BuildConfig(null, [$"udp://127.0.0.1:{port}"], null, null, null);
        var error = new StringWriter();
        int rc = await ServeCommand.RunAsync(config, error, CancellationToken.None);
        Assert.Equal(1, rc);
        Assert.Contains($"cannot listen on udp://127.0.0.1:{port}: the address is already in use", error.ToString());
    }
}

using System.Net;
using Ananas.Cli;
using Ananas.Sandbox.Tests;
using Ananas.Server.Configuration;
using Ananas.Server.Frames;
using Ananas.Server.Hosting;

namespace Ananas.Server.Tests;

/// <summary>The configuration's one declaration (<see cref="ConfigKeys"/>) and everything made from it.</summary>
public sealed class ConfigKeyTableTests
{
    [Fact]
    public void The_checked_in_defaults_file_is_the_one_the_declarations_render()
    {
        string path = Path.Combine(Guests.RepositoryRoot, "src", "Ananas.Server", "Configuration", "defaults.toml");
        Assert.True(File.ReadAllText(path) == ConfigDocument.DefaultsToml(),
            $"{path} differs from ConfigKeys.cs: regenerate it with `./ananas check-config --print-defaults > {path}`");
    }

    [Fact]
    public void The_key_table_in_the_server_docs_is_the_one_the_declarations_render()
    {
        string path = Path.Combine(Guests.RepositoryRoot, "docs", "SERVER.md");
        Assert.True(File.ReadAllText(path).Contains(ConfigDocument.KeyTable(), StringComparison.Ordinal),
            $"the key table in {path} differs from ConfigKeys.cs: replace it with the output of `./ananas check-config --print-key-table`");
    }

    [Fact]
    public void Every_setting_of_the_server_configuration_is_a_declared_key()
    {
        // Changing any one property must show up as exactly one changed key: a setting added without a declaration
        // would be invisible to the loader, the reload diff and the docs.
        var defaults = ConfigLoader.Defaults();
        foreach (var property in typeof(ServerConfig).GetProperties())
        {
            if (property.Name == nameof(ServerConfig.Plugins)) continue; // [[plugin]] tables, docs/plugins.md
            var changed = defaults.Copy();
            property.SetValue(changed, Different(property.GetValue(defaults)!));
            var (live, restart) = ConfigChanges.Compare(defaults, changed);
            Assert.True(live.Count + restart.Count == 1, $"{property.Name}: changed keys {string.Join(", ", [.. live, .. restart])}");
        }
    }

    private static object Different(object value) => value switch
    {
        bool b => !b,
        int i => i + 1,
        long l => l + 1,
        double d => d / 2,
        TimeSpan t => t + TimeSpan.FromMilliseconds(1),
        string s => s + "x",
        List<string> list => new List<string>([.. list, "x"]),
        List<ListenAddress> list => new List<ListenAddress>([.. list, new ListenAddress(Transport.Tcp, new IPEndPoint(IPAddress.Loopback, 1))]),
        List<ZoneRouteConfig> list => new List<ZoneRouteConfig>([.. list, new ZoneRouteConfig("example.", ["192.0.2.1"], false)]),
        List<ClusterPeerConfig> list => new List<ClusterPeerConfig>([.. list, new ClusterPeerConfig("x", new IPEndPoint(IPAddress.Loopback, 1))]),
        Enum e => Enum.ToObject(e.GetType(), Convert.ToInt32(e) + 1),
        _ => throw new InvalidOperationException($"no different value for {value.GetType()}"),
    };

    public static TheoryData<string, string> OutOfRange()
    {
        var data = new TheoryData<string, string>();
        foreach (var key in ConfigKeys.All)
        {
            string[] values = key.Type switch
            {
                var t when t.StartsWith("duration, 0s", StringComparison.Ordinal) => ["\"99999999999999h\"", "\"1000000h\"", "\"Infinitys\"", "\"NaNs\"", "\"-5s\""],
                var t when t.StartsWith("duration", StringComparison.Ordinal) => ["\"99999999999999h\"", "\"1000000h\"", "\"Infinitys\"", "\"NaNs\"", "\"0.0001ms\"", "\"-5s\""],
                var t when t.StartsWith("integer", StringComparison.Ordinal) => ["-1", "99999999999", "9223372036854775807"],
                var t when t.StartsWith("size", StringComparison.Ordinal) => ["\"9999999999999TiB\"", "\"2TiB\"", "1", "\"1K\""],
                _ => [],
            };
            foreach (var value in values) data.Add(key.Name, value);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void A_value_outside_a_keys_range_is_an_error_naming_the_key(string key, string value)
    {
        var declared = ConfigKeys.Find(key)!;
        string toml = declared.Section.Length == 0 ? $"\n{declared.Leaf} = {value}" : $"[{declared.Section}]\n{declared.Leaf} = {value}";
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Apply(ConfigLoader.Defaults(), toml, "c.toml"));
        Assert.StartsWith($"c.toml:2: {key}: ", e.Message);
    }

    [Theory]
    [InlineData("cpu-budget = \"99999999999999h\"", "plugin[0].cpu-budget")]
    [InlineData("cpu-budget = \"2s\"", "plugin[0].cpu-budget")]
    [InlineData("memory-limit = \"9999999999999TiB\"", "plugin[0].memory-limit")]
    [InlineData("max-instances = 99999999999", "plugin[0].max-instances")]
    public void A_plugin_value_outside_its_range_is_an_error_naming_the_key(string line, string key)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Apply(ConfigLoader.Defaults(), $"[[plugin]]\nname = \"a\"\nmodule = \"a.wasm\"\n{line}", "c.toml"));
        Assert.StartsWith($"c.toml:4: {key}: ", e.Message);
    }

    [Fact]
    public void Check_config_accepts_a_good_file_and_names_the_key_of_a_bad_one()
    {
        string dir = Directory.CreateTempSubdirectory("ananas-check-config").FullName;
        try
        {
            string good = Path.Combine(dir, "good.toml"), bad = Path.Combine(dir, "bad.toml"), missingAnchor = Path.Combine(dir, "anchor.toml");
            File.WriteAllText(good, "[resolver]\nquery-timeout = \"3s\"\n");
            File.WriteAllText(bad, "[tcp]\nidle-timeout = \"99999999h\"\n");
            File.WriteAllText(missingAnchor, $"[dnssec]\ntrust-anchor = \"{Path.Combine(dir, "absent.keys")}\"\n");
            var output = new StringWriter();
            var error = new StringWriter();
            Assert.Equal(0, CheckConfigCommand.Check(good, output, error));
            Assert.Equal("good.toml: ok", output.ToString().Trim());
            Assert.Equal(1, CheckConfigCommand.Check(bad, output, error));
            Assert.Contains("bad.toml:2: tcp.idle-timeout: ", error.ToString());
            Assert.Equal(1, CheckConfigCommand.Check(missingAnchor, output, error));
            Assert.Contains("dnssec.trust-anchor: cannot use", error.ToString());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

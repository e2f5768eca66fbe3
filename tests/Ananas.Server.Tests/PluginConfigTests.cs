using Ananas.Server.Configuration;

namespace Ananas.Server.Tests;

/// <summary>The <c>[[plugin]]</c> array of the TOML configuration: values, defaults and errors with line and key.</summary>
public sealed class PluginConfigTests
{
    [Fact]
    public void Plugins_load_in_order_with_their_data_tables_and_defaults()
    {
        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), """
            [cache]
            size = "64MiB"

            [[plugin]]
            name = "families"
            module = "guests/families.wasm"
            args = "adult=true"
            memory-limit = "8MiB"
            cpu-budget = "2ms"
            max-instances = 4
            quarantine-after = 3
            [plugin.data]
            malware = "domains:/etc/ananas/malware.txt"
            adult = "/etc/ananas/adult.hosts"

            [[plugin]]
            name = "as112"
            module = "guests/as112.wasm"
            """, "config.toml");

        Assert.Equal(64L << 20, config.CacheSizeBytes);
        Assert.Equal(["families", "as112"], config.Plugins.Select(p => p.Name));
        var families = config.Plugins[0];
        Assert.Equal("guests/families.wasm", families.Module);
        Assert.Equal("adult=true", families.Args);
        Assert.Equal(8L << 20, families.MemoryLimitBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(2), families.CpuBudget);
        Assert.Equal(4, families.MaxInstances);
        Assert.Equal(3, families.QuarantineAfter);
        Assert.Equal("domains:/etc/ananas/malware.txt", families.Data["malware"]);
        Assert.Equal("/etc/ananas/adult.hosts", families.Data["adult"]);
        Assert.Equal("config.toml:4", families.Source);
        var as112 = config.Plugins[1];
        Assert.Empty(as112.Data);
        Assert.Equal(16L << 20, as112.MemoryLimitBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(1), as112.CpuBudget);
        Assert.Empty(ConfigLoader.Defaults().Plugins);
    }

    [Theory]
    [InlineData("[[plugin]]\nname = \"a\"\nmodule = \"a.wasm\"\ncolour = \"red\"", "config.toml:4: plugin[0].colour: unknown key")]
    [InlineData("[[plugin]]\nname = \"a b\"\nmodule = \"a.wasm\"", "config.toml:2: plugin[0].name: 'a b' may contain only")]
    [InlineData("[[plugin]]\nmodule = \"a.wasm\"", "config.toml:1: plugin[0].name: missing")]
    [InlineData("[[plugin]]\nname = \"a\"", "config.toml:1: plugin[0].module: missing")]
    [InlineData("[[plugin]]\nname = \"a\"\nmodule = \"a.wasm\"\n[[plugin]]\nname = \"a\"\nmodule = \"b.wasm\"", "config.toml:4: plugin[1].name: 'a' is already the name")]
    [InlineData("[[plugin]]\nname = \"a\"\nmodule = \"a.wasm\"\nmemory-limit = \"1KiB\"", "config.toml:4: plugin[0].memory-limit: '1KiB' is out of range: between 64KiB and 4GiB")]
    [InlineData("[[plugin]]\nname = \"a\"\nmodule = \"a.wasm\"\ncpu-budget = \"soon\"", "config.toml:4: plugin[0].cpu-budget: 'soon' is not a duration")]
    [InlineData("[[plugin]]\nname = \"a\"\nmodule = \"a.wasm\"\nmax-instances = 0", "config.toml:4: plugin[0].max-instances: 0 is out of range")]
    [InlineData("[[plugin]]\nname = \"a\"\nmodule = \"a.wasm\"\n[plugin.data]\nlist = 3", "config.toml:5: plugin[0].data.list: expected a string")]
    [InlineData("[plugin.data]\nlist = \"x.txt\"", "config.toml:1: [plugin.data]: no [[plugin]] before it")]
    [InlineData("[[listen]]\nx = 1", "config.toml:1: [[listen]]: arrays of tables are not used here")]
    public void Plugin_errors_name_the_line_and_key(string toml, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Apply(ConfigLoader.Defaults(), toml, "config.toml"));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_file_with_plugins_replaces_the_list_and_one_without_keeps_it()
    {
        var first = ConfigLoader.Apply(ConfigLoader.Defaults(), "[[plugin]]\nname = \"a\"\nmodule = \"a.wasm\"\n[[plugin]]\nname = \"b\"\nmodule = \"b.wasm\"", "one.toml");
        var second = ConfigLoader.Apply(first, "[[plugin]]\nname = \"c\"\nmodule = \"c.wasm\"", "two.toml");
        var third = ConfigLoader.Apply(second, "[cache]\nsize = \"32MiB\"", "three.toml");
        Assert.Equal(["a", "b"], first.Plugins.Select(p => p.Name));
        Assert.Equal(["c"], second.Plugins.Select(p => p.Name));
        Assert.Equal(["c"], third.Plugins.Select(p => p.Name));
    }
}

using Ananas.Resolver;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;

namespace Ananas.Server.Tests;

/// <summary>The [resolver] keys for the recursor's features each reach <see cref="RecursorOptions"/>; their defaults are the recursor's own.</summary>
public sealed class ResolverFeatureKeyTests
{
    /// <summary>The option a key sets, as text, so one theory covers booleans, integers and durations.</summary>
    private static string Read(RecursorOptions o, string option) => option switch
    {
        nameof(RecursorOptions.MinimiseFullName) => o.MinimiseFullName.ToString(),
        nameof(RecursorOptions.UseIPv4) => o.UseIPv4.ToString(),
        nameof(RecursorOptions.HardenGlue) => o.HardenGlue.ToString(),
        nameof(RecursorOptions.ScrubPromiscuous) => o.ScrubPromiscuous.ToString(),
        nameof(RecursorOptions.MaxNsRecords) => o.MaxNsRecords.ToString(),
        nameof(RecursorOptions.AggressiveNsec) => o.AggressiveNsec.ToString(),
        nameof(RecursorOptions.FailureCacheTtl) => o.FailureCacheTtl.ToString(),
        nameof(RecursorOptions.BogusCacheTtl) => o.BogusCacheTtl.ToString(),
        nameof(RecursorOptions.LameHoldDown) => o.LameHoldDown.ToString(),
        _ => throw new ArgumentException(option),
    };

    [Theory]
    [InlineData("qname-minimisation-full-name = true", nameof(RecursorOptions.MinimiseFullName), "True")]
    [InlineData("ipv4 = false\nipv6 = true", nameof(RecursorOptions.UseIPv4), "False")]
    [InlineData("harden-glue = false", nameof(RecursorOptions.HardenGlue), "False")]
    [InlineData("scrub-promiscuous = false", nameof(RecursorOptions.ScrubPromiscuous), "False")]
    [InlineData("scrub-ns = 3", nameof(RecursorOptions.MaxNsRecords), "3")]
    [InlineData("aggressive-nsec = false", nameof(RecursorOptions.AggressiveNsec), "False")]
    [InlineData("failure-ttl = \"30s\"", nameof(RecursorOptions.FailureCacheTtl), "00:00:30")]
    [InlineData("bogus-ttl = \"2m\"", nameof(RecursorOptions.BogusCacheTtl), "00:02:00")]
    [InlineData("lame-hold-down = \"1h\"", nameof(RecursorOptions.LameHoldDown), "01:00:00")]
    public void A_resolver_key_set_in_the_file_reaches_the_recursor_and_its_default_is_the_recursors_own(string line, string option, string expected)
    {
        var configured = ResolverStackBuilder.RecursorOptions(ConfigLoader.Apply(ConfigLoader.Defaults(), "[resolver]\n" + line, "c.toml"));
        Assert.Equal(expected, Read(configured, option));
        // Without the key, the server behaves as the recursor always did.
        Assert.Equal(Read(new RecursorOptions(), option), Read(ResolverStackBuilder.RecursorOptions(ConfigLoader.Defaults()), option));
    }

    [Theory]
    [InlineData("scrub-ns = 1001", "resolver.scrub-ns")]
    [InlineData("failure-ttl = \"6m\"", "resolver.failure-ttl")]
    [InlineData("bogus-ttl = \"1h\"", "resolver.bogus-ttl")]
    [InlineData("lame-hold-down = \"2d\"", "resolver.lame-hold-down")]
    public void A_value_outside_its_range_is_an_error_naming_the_key(string line, string key)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Apply(ConfigLoader.Defaults(), "[resolver]\n" + line, "c.toml"));
        Assert.Contains(key, e.Message);
    }

    [Fact]
    public void Turning_off_both_address_families_is_an_error_not_a_resolver_that_can_ask_nobody()
    {
        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), "[resolver]\nipv4 = false\nipv6 = false", "c.toml");
        var e = Assert.Throws<ConfigException>(() => ResolverStackBuilder.RecursorOptions(config));
        Assert.Contains("resolver.ipv4", e.Message);
    }
}

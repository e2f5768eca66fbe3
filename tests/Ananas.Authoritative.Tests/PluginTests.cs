using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Sandbox.Tests;
using Ananas.Server.Configuration;

namespace Ananas.Authoritative.Tests;

/// <summary>The resolver's WebAssembly plugins around authoritative answers, turned on from the configuration file.</summary>
public sealed class PluginTests
{
    [Fact]
    public async Task A_wasm_plugin_in_the_config_rewrites_an_authoritative_answer_at_the_resolved_phase()
    {
        var dir = StoreFixture.TempDirectory();
        Directory.CreateDirectory(dir);
        var store = Path.Combine(dir, "store");
        TransferTests.Import(store, Path.Combine(dir, "rewrite.test.zone"),
            "$ORIGIN rewrite.test.\n@ 60 IN SOA ns h 1 2 3 4 5\n@ 60 IN NS ns\nns 60 IN A 192.0.2.1\nwww 60 IN A 192.0.2.5\nwww 60 IN TXT \"kept\"\n");
        var config = Path.Combine(dir, "ananas.toml");
        await File.WriteAllTextAsync(config, $"""
            [authoritative]
            store = "{store}"
            [[plugin]]
            name = "rewrite"
            module = "{Guests.PathOf("rewrite")}"
            [metrics]
            listen = ""
            """);
        var settings = ConfigLoader.LoadFile(config);
        Assert.Single(settings.Plugins);

        await using var server = await AuthServer.StartAsync(settings.AuthoritativeStore, settings: settings);
        var rewritten = await TransferTests.AskUdpAsync(server.EndPoint, TransferTests.ToQuery("www.rewrite.test.", RRType.A));
        Assert.Equal("192.0.2.99", Assert.Single(rewritten.Answers).Data.ToString());
        Assert.True(rewritten.Has(HeaderFlags.AA));
        Assert.False(rewritten.Has(HeaderFlags.RA));
        // Names the plugin leaves alone come from the store unchanged.
        var ns = await TransferTests.AskUdpAsync(server.EndPoint, TransferTests.ToQuery("rewrite.test.", RRType.NS));
        Assert.Equal("ns.rewrite.test.", Assert.Single(ns.Answers).Data.ToString());
    }
}

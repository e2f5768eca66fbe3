using System.Net;
using System.Net.Sockets;
using Ananas.Cli.Plugins;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Sandbox.Tests;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Ananas.Server.Tests.Fakes;
using Ananas.Tests.Shared;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Server.Tests;

/// <summary>
/// A server composed as `ananas serve` composes it (ResolverHost + PluginManager.AttachAsync) with the plugins of a TOML
/// configuration, on loopback with random ports, resolving against a scripted authority; disposed by the caller.
/// Also the built guest apps (<see cref="App"/>) and the scripted world they resolve in (<see cref="World"/>).
/// </summary>
internal sealed class PluginServer : IAsyncDisposable
{
    internal static FakeAuthority World() => new(
        "www.example.com. 300 A 192.0.2.80",
        "clean.test. 300 A 192.0.2.10",
        "later.test. 300 A 192.0.2.11",
        "casino.test. 300 A 192.0.2.12",
        "www.rewrite.test. 300 A 192.0.2.5");

    internal static string App(string name)
    {
        Guests.PathOf("empty"); // runs scripts/build-guests.sh once (it builds the apps too)
        var path = Path.Combine(Guests.RepositoryRoot, ".build", "guests", name + ".wasm");
        Assert.True(File.Exists(path), $"{path} was not built");
        return path;
    }

    public required ResolverHost Host { get; init; }
    public required PluginManager Plugins { get; init; }
    public required FakeAuthority Authority { get; init; }
    public required IPEndPoint Udp { get; init; }
    public required string Control { get; init; }

    /// <param name="resolverToml">Keys added to the [resolver] table.</param>
    public static async Task<PluginServer> StartAsync(string pluginToml, FakeAuthority? authority = null, ILoggerFactory? logging = null, string resolverToml = "")
    {
        int port = FreePorts.Tcp(), control = FreePorts.Tcp();
        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), $"""
            listen = ["udp://127.0.0.1:{port}", "tcp://127.0.0.1:{port}"]
            [cache]
            size = "16MiB"
            [metrics]
            listen = ""
            [control]
            listen = "http://127.0.0.1:{control}"
            [dnssec]
            # The fake world has its own unsigned root: under the real root's trust anchor it would be bogus.
            validation = "off"
            [resolver]
            # The fake world delegates test. itself.
            local-zones = ["localhost."]
            {resolverToml}
            {pluginToml}
            """, "test.toml");
        authority ??= World();
        logging ??= NullLoggerFactory.Instance;
        var host = new ResolverHost(config, authority, logging);
        var plugins = await PluginManager.AttachAsync(host, logging);
        Assert.NotNull(plugins);
        await host.StartAsync();
        return new PluginServer
        {
            Host = host, Plugins = plugins, Authority = authority,
            Udp = new IPEndPoint(IPAddress.Loopback, port), Control = $"http://127.0.0.1:{control}",
        };
    }

    public Task<DnsMessage> AskAsync(string name, RRType type = RRType.A, string from = "127.0.0.1") =>
        AskFromAsync(IPAddress.Parse(from), Udp, DnsTestClient.Query(name, type, udpPayload: 1232));

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync(TimeSpan.FromSeconds(2));
        await Plugins.DisposeAsync();
    }

    /// <summary>One UDP exchange from a given loopback source address (127.x: any of them is ours).</summary>
    internal static async Task<DnsMessage> AskFromAsync(IPAddress source, IPEndPoint server, DnsMessage query)
    {
        using var client = new UdpClient(new IPEndPoint(source, 0));
        await client.SendAsync(query.ToArray(), server);
        using var timeout = new CancellationTokenSource(DnsTestClient.Timeout);
        var reply = DnsMessage.Parse((await client.ReceiveAsync(timeout.Token)).Buffer);
        Assert.Equal(query.Id, reply.Id);
        return reply;
    }
}

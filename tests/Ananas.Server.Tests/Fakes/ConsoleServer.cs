using System.Net;
using Ananas.Cli.Plugins;
using Ananas.Server.Configuration;
using Ananas.Server.Help;
using Ananas.Server.Hosting;
using Ananas.Server.Listeners;
using Ananas.Server.WebConsole;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Server.Tests.Fakes;

/// <summary>
/// A <see cref="TestServer"/> (UDP, TCP, DoT, DoH over a fake authority) with the operator pages: the control
/// listener and its web console, a DoH listener with <c>/help</c>, top names from every reply, and optionally real
/// WebAssembly plugins.
/// </summary>
public sealed class ConsoleServer : IAsyncDisposable
{
    public ConsoleServer(FakeAuthority authority)
    {
        Server = new TestServer(authority, encrypted: true);
        var pipeline = Server.Pipeline;
        pipeline.Help = new HelpProbes();
        Top = new TopTalkers(sample: 1, clients: false);
        pipeline.AddTap(Top.Tap);
        var console = new ConsoleEndpoints(() => MetricsListener.Render(pipeline, Plugins), Top, upstream: null);
        Control = new ControlListener(new IPEndPoint(IPAddress.Loopback, 0), Token, pipeline, Server.Records, plugins: () => Plugins, console: console);
        Control.Start();
        Help = new HttpsListener(new IPEndPoint(IPAddress.Loopback, 0), pipeline, Server.Certificate!,
            help: new HelpPage(pipeline.Help, () => new HelpFacts(true, "node-7", "lab-east", "test")));
        Help.Start();
    }

    /// <summary>The control token the console must be given.</summary>
    public const string Token = "console-test-token-0123456789";

    public TestServer Server { get; }
    public TopTalkers Top { get; }
    public ControlListener Control { get; }
    public HttpsListener Help { get; }
    /// <summary>The plugins the console shows and reloads: none, or real ones (<see cref="WithPluginsAsync"/>).</summary>
    public PluginManager? Plugins { get; private set; }

    /// <summary>A console server whose pipeline runs real WebAssembly plugins, loaded from <c>[[plugin]]</c> TOML as `serve` loads them.</summary>
    public static async Task<ConsoleServer> WithPluginsAsync(FakeAuthority authority, string pluginToml)
    {
        var server = new ConsoleServer(authority);
        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), pluginToml, "plugins.toml");
        var plugins = new PluginManager(server.Server.Pipeline, NullLoggerFactory.Instance);
        await plugins.LoadAsync(config.Plugins);
        server.Plugins = plugins;
        return server;
    }

    public string ControlUrl => $"http://127.0.0.1:{Control.LocalEndPoint.Port}";

    public async ValueTask DisposeAsync()
    {
        await Control.DisposeAsync();
        await Help.DisposeAsync();
        await Server.DisposeAsync();
        await Top.DisposeAsync();
        if (Plugins is not null) await Plugins.DisposeAsync();
    }
}

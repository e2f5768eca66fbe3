using System.Net;
using Ananas.Server.Help;
using Ananas.Server.Hosting;
using Ananas.Server.Listeners;
using Ananas.Server.WebConsole;

namespace Ananas.Server.Tests.Fakes;

/// <summary>
/// A <see cref="TestServer"/> (UDP, TCP, DoT, DoH over a fake authority) with the operator pages: the control
/// listener and its web console, a DoH listener with <c>/help</c>, top names from every reply, and a plugin control
/// that records reloads.
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
    public RecordingPlugins Plugins { get; } = new();

    public string ControlUrl => $"http://127.0.0.1:{Control.LocalEndPoint.Port}";

    public async ValueTask DisposeAsync()
    {
        await Control.DisposeAsync();
        await Help.DisposeAsync();
        await Server.DisposeAsync();
        await Top.DisposeAsync();
    }

    /// <summary>One plugin, "families"; a reload makes a new version (what the real runtime reports after a hot swap).</summary>
    public sealed class RecordingPlugins : IPluginControl
    {
        private int _version = 1;
        public int Reloads;

        public IReadOnlyList<PluginReport> List() => [Report()];

        public Task<PluginReport> ReloadAsync(string name, CancellationToken cancellationToken = default)
        {
            if (name != "families") throw new KeyNotFoundException(name);
            Interlocked.Increment(ref Reloads);
            Interlocked.Increment(ref _version);
            return Task.FromResult(Report());
        }

        public Task ReloadAsync(IReadOnlyList<Configuration.PluginConfig> plugins, CancellationToken cancellationToken = default) => Task.CompletedTask;

        private PluginReport Report() => new("families", Volatile.Read(ref _version), new string('a', 64), 2, 10, 0, 0, false, 0.001, []);
    }
}

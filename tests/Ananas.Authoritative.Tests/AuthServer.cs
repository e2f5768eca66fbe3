using System.Net;
using Ananas.Cli;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Ananas.Tests.Lab;

namespace Ananas.Authoritative.Tests;

/// <summary><c>ananas auth serve</c> in this process on a free loopback address (UDP and TCP port 53), stopped on dispose.</summary>
internal sealed class AuthServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task<int> _serving = Task.FromResult(0);

    public IPAddress Address { get; } = NsdHierarchy.FreeLoopbackAddress();

    public IPEndPoint EndPoint => new(Address, 53);

    public AnswerSourceHost Host { get; private set; } = null!;

    /// <summary>Serves <paramref name="store"/> with the defaults, everyone allowed to query, then <paramref name="configure"/>.</summary>
    public static async Task<AuthServer> StartAsync(string store, Action<ServerConfig>? configure = null, ServerConfig? settings = null)
    {
        var server = new AuthServer();
        settings ??= ConfigLoader.Defaults();
        settings.Listen = [ListenAddress.Parse($"udp://{server.Address}:53"), ListenAddress.Parse($"tcp://{server.Address}:53")];
        settings.Allow = ["0.0.0.0/0"];
        // No fixed metrics port: tests run servers side by side.
        settings.MetricsListen = "";
        configure?.Invoke(settings);
        var started = new TaskCompletionSource<AnswerSourceHost>(TaskCreationOptions.RunContinuationsAsynchronously);
        server._serving = AuthCommand.RunAsync(store, settings, AuthCommand.OptionsFor(settings), server._stop.Token, started: h => started.SetResult(h));
        var first = await Task.WhenAny(started.Task, server._serving).WaitAsync(TimeSpan.FromSeconds(20));
        if (first == server._serving) throw new InvalidOperationException($"auth serve did not start (exit {server._serving.Result})");
        server.Host = await started.Task;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _serving.WaitAsync(TimeSpan.FromSeconds(10));
    }
}

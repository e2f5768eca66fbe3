using System.Net;
using System.Net.Sockets;
using Ananas.Cli;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Ananas.Tests.Lab;

namespace Ananas.Server.Tests.Fakes;

/// <summary>
/// `ananas serve` in-process (<see cref="ServeCommand.RunAsync"/>, the CLI's composition root with the production
/// conductor) reading a TOML file, resolving through a real NSD hierarchy on loopback. The file is the one a
/// reload reads again. Everything stops on dispose (bounded).
/// </summary>
public sealed class ServedLab : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly Task<int> _run;

    private ServedLab(NsdHierarchy nsd, string directory, ResolverHost host, CancellationTokenSource stop, Task<int> run)
    {
        Nsd = nsd;
        Directory = directory;
        Host = host;
        _stop = stop;
        _run = run;
    }

    public NsdHierarchy Nsd { get; }

    public string Directory { get; }

    public string ConfigPath => Path.Combine(Directory, "ananas.toml");

    public ResolverHost Host { get; }

    /// <summary>The control API's base URL (every lab has one, on a free port).</summary>
    public string Control => Host.Config.ControlListen;

    /// <summary>
    /// The configuration file text: the lab's root hints, loopback upstreams allowed, validation off unless
    /// <paramref name="dnssec"/> says otherwise (the lab is unsigned while the built-in trust anchor is the real
    /// root's: under it, every lab answer is bogus), metrics off, control on <paramref name="controlPort"/>, then
    /// <paramref name="extra"/> (more TOML tables). <paramref name="resolver"/> adds keys to [resolver]; a
    /// <paramref name="metricsPort"/> turns /metrics on there.
    /// </summary>
    public static string ConfigText(NsdHierarchy nsd, IEnumerable<string> listen, int controlPort, string extra = "", string dnssec = "validation = \"off\"",
        string resolver = "", int? metricsPort = null) => $"""
        listen = [{string.Join(", ", listen.Select(l => $"\"{l}\""))}]
        root-hints = "{nsd.RootHintsFile}"

        [resolver]
        query-localhost = true
        query-timeout = "3s"
        # many servers start here; the start-up warm-up has its own tests (WarmUpTests)
        warm-up = "0s"
        # the lab delegates test. itself: every special-use zone but that one
        local-zones = ["localhost.", "127.in-addr.arpa.", "invalid.", "onion."]
        {resolver}

        [dnssec]
        {dnssec}

        [metrics]
        listen = "{(metricsPort.HasValue ? "http://127.0.0.1:" + metricsPort.Value : "")}"

        [control]
        listen = "http://127.0.0.1:{controlPort}"

        {extra}
        """;

    /// <summary>Starts NSD, writes the file and serves it. Throws (with NSD's reason) if NSD cannot start.</summary>
    public static async Task<ServedLab> StartAsync(IEnumerable<string> listen, string extra = "", string dnssec = "validation = \"off\"", string resolver = "",
        int? metricsPort = null)
    {
        var nsd = await NsdHierarchy.StartAsync(TimeSpan.FromSeconds(10));
        var directory = Path.Combine(Path.GetTempPath(), $"ananas-serve-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(directory);
        var configPath = Path.Combine(directory, "ananas.toml");
        await File.WriteAllTextAsync(configPath, ConfigText(nsd, listen, FreePorts.Tcp(), extra, dnssec, resolver, metricsPort));
        var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var started = new TaskCompletionSource<ResolverHost>(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = ServeCommand.RunAsync(ConfigLoader.LoadFile(configPath), Console.Error, stop.Token, host => started.SetResult(host),
            configSource: () => ConfigLoader.LoadFile(configPath), watchPath: configPath);
        var first = await Task.WhenAny(started.Task, run, Task.Delay(TimeSpan.FromSeconds(15)));
        if (first != started.Task)
        {
            await stop.CancelAsync();
            await nsd.DisposeAsync();
            throw new InvalidOperationException(first == run ? $"ananas serve exited with {run.Result}" : "ananas serve did not start in 15 s");
        }
        return new ServedLab(nsd, directory, started.Task.Result, stop, run);
    }

    /// <summary>Stops the server (asserting a clean exit code) and NSD, removes the files.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        int exit = await _run.WaitAsync(TimeSpan.FromSeconds(20));
        _stop.Dispose();
        await Nsd.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
        Assert.Equal(0, exit);
    }
}

/// <summary>Free loopback ports for listeners under test (the OS picks; a race with another process is unlikely).</summary>
public static class FreePorts
{
    /// <summary>A port free for TCP and UDP on 127.0.0.1.</summary>
    public static int Tcp()
    {
        for (int attempt = 0; ; attempt++)
        {
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            tcp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)tcp.LocalEndPoint!).Port;
            try
            {
                using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException) when (attempt < 20)
            {
            }
        }
    }
}

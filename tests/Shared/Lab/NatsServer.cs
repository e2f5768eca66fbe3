using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Ananas.Tests.Lab;

/// <summary>
/// A throwaway <c>nats-server</c> with JetStream on a random loopback address and port, its store in a temp
/// directory (kept across <see cref="RestartAsync"/>, as a real restart keeps it).
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    private Process _process;

    private NatsServer(Process process, IPEndPoint endPoint, string directory)
    {
        _process = process;
        EndPoint = endPoint;
        Directory = directory;
    }

    public IPEndPoint EndPoint { get; }

    public string Directory { get; }

    public string Url => $"nats://{EndPoint}";

    public static string? Find()
    {
        foreach (var dir in new[] { "/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin" })
            if (File.Exists(Path.Combine(dir, "nats-server"))) return Path.Combine(dir, "nats-server");
        return null;
    }

    public static async Task<NatsServer> StartAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"ananas-nats-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(directory);
        var endPoint = FreeEndPoint();
        var server = new NatsServer(await LaunchAsync(endPoint, directory), endPoint, directory);
        return server;
    }

    /// <summary>Kills the server (as a crash would) and starts it again on the same address with the same store.</summary>
    public async Task RestartAsync(TimeSpan downtime = default)
    {
        Kill();
        if (downtime > TimeSpan.Zero) await Task.Delay(downtime);
        _process = await LaunchAsync(EndPoint, Directory);
    }

    public void Kill()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(5000);
    }

    private static async Task<Process> LaunchAsync(IPEndPoint endPoint, string directory)
    {
        var path = Find() ?? throw new InvalidOperationException("nats-server is not installed: run scripts/setup.sh (apt-get install nats-server)");
        var process = Process.Start(new ProcessStartInfo(path, ["-js", "-a", endPoint.Address.ToString(), "-p", endPoint.Port.ToString(), "-sd", directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(endPoint.Address, endPoint.Port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
        }
        await JetStreamReadyAsync(endPoint, deadline);
        return process;
    }

    /// <summary>
    /// Waits until JetStream answers an API request: the client port opens before JetStream has set up its store, and
    /// a test's first stream request (with the product's short request timeout) must not race that on a loaded machine.
    /// </summary>
    private static async Task JetStreamReadyAsync(IPEndPoint endPoint, DateTime deadline)
    {
        await using var connection = new NATS.Client.Core.NatsConnection(NATS.Client.Core.NatsOpts.Default with
        {
            Url = $"nats://{endPoint}",
            Name = "test-readiness",
            RequestTimeout = TimeSpan.FromSeconds(5),
        });
        var js = new NATS.Client.JetStream.NatsJSContext(connection);
        while (true)
        {
            try
            {
                await js.GetAccountInfoAsync();
                return;
            }
            catch (Exception e) when (e is NATS.Client.Core.NatsException or TimeoutException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    private static IPEndPoint FreeEndPoint()
    {
        var address = new IPAddress([127, (byte)Random.Shared.Next(100, 250), (byte)Random.Shared.Next(0, 256), (byte)Random.Shared.Next(1, 255)]);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(address, 0));
        return (IPEndPoint)socket.LocalEndPoint!;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
        return ValueTask.CompletedTask;
    }
}

/// <summary>A fact that reports skipped (not passed) when nats-server is not installed.</summary>
public sealed class FactWhenNatsInstalledAttribute : Xunit.FactAttribute
{
    public FactWhenNatsInstalledAttribute()
    {
        if (NatsServer.Find() is null) Skip = "nats-server is not installed: run scripts/setup.sh (it installs the Debian package nats-server)";
    }
}

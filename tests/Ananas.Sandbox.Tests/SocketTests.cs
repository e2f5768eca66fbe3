using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Ananas.Sandbox.Tests;

/// <summary>Host-owned sockets (guests/tests/sockets.rs): allow-list, byte and time limits, no thread held while waiting.</summary>
public sealed class SocketTests : IAsyncDisposable
{
    private readonly UdpClient _echo = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly UdpClient _silent = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly TcpListener _tcp = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _echoLoop, _tcpLoop;
    private int _datagrams;
    // Echoes wait for this too (completed unless a test holds them back).
    private volatile Task _echoGate = Task.CompletedTask;

    public SocketTests()
    {
        _tcp.Start();
        _echoLoop = EchoUdpAsync();
        _tcpLoop = EchoTcpAsync();
    }

    private string Echo => _echo.Client.LocalEndPoint!.ToString()!;
    private string Silent => _silent.Client.LocalEndPoint!.ToString()!;
    private string Tcp => _tcp.LocalEndpoint.ToString()!;

    /// <summary>Echoes "ping" datagrams after 200 ms and once <see cref="_echoGate"/> opens (each on its own task); counts every datagram.</summary>
    private async Task EchoUdpAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var received = await _echo.ReceiveAsync(_stop.Token);
                Interlocked.Increment(ref _datagrams);
                if (received.Buffer.Length != 4) continue;
                _ = Task.WhenAll(Task.Delay(200), _echoGate).ContinueWith(_ => _echo.SendAsync(received.Buffer, received.RemoteEndPoint));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task EchoTcpAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _tcp.AcceptTcpClientAsync(_stop.Token);
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        var buffer = new byte[64];
                        var stream = client.GetStream();
                        int n = await stream.ReadAsync(buffer);
                        await stream.WriteAsync(buffer.AsMemory(0, n));
                    }
                });
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private PluginDefinition Definition(int instances = 4, int bytes = 8 * 1024, int timeoutMs = 5000) =>
        Guests.Definition("sockets", args: $"{Echo} {Silent} {Tcp}") with
        {
            MaxInstances = instances,
            SocketAllowList = [$"udp://{Echo}", $"udp://{Silent}", $"tcp://{Tcp}"],
            SocketBytesPerCallback = bytes,
            SocketTimeout = TimeSpan.FromMilliseconds(timeoutMs),
        };

    private static async Task<string> AskAsync(PluginHost host, string name)
    {
        var context = Queries.Context(name);
        Assert.Equal(PluginVerdict.Answer, await host.InvokeAsync(PluginPhase.Request, context));
        return Assert.Single(Queries.TxtStrings(context));
    }

    [Fact]
    public async Task A_guest_talks_udp_and_tcp_to_allow_listed_destinations()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Definition());
        Assert.Contains("got=ping", await AskAsync(host, "echo.sock.test"));
        Assert.Contains("got=ping", await AskAsync(host, "tcp.sock.test"));
    }

    [Fact]
    public async Task A_destination_off_the_allow_list_is_refused_and_counted()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Definition());
        Assert.Contains("open=NotAllowed", await AskAsync(host, "outside.sock.test"));
        Assert.Contains(host.Snapshot()[0].Counters, c => c.Key == "socket_refused" && c.Value == 1);
    }

    [Fact]
    public async Task A_flooding_guest_is_cut_off_at_its_byte_limit_while_others_are_answered()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Definition(bytes: 8 * 1024));
        var flood = AskAsync(host, "flood.sock.test");
        var echo = AskAsync(host, "echo.sock.test");
        Assert.Contains("sent=8 err=NotAllowed", await flood);   // 8 × 1 KiB, then the host refuses
        Assert.Contains("got=ping", await echo);
        // Every datagram the guest sent is in the echo socket by now; wait (bounded) until its loop has counted them
        // all, however slowly a loaded host runs it: nothing counted yet and nothing left unread.
        for (int i = 0; i < 500 && (Volatile.Read(ref _datagrams) < 9 || _echo.Available > 0); i++) await Task.Delay(10);
        Assert.Equal(0, _echo.Available);
        Assert.Equal(9, Volatile.Read(ref _datagrams));      // 8 flood datagrams and one ping reached the wire
    }

    [Fact]
    public async Task A_guest_waiting_on_a_silent_server_is_cut_off_at_its_time_limit_while_others_are_answered()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Definition(timeoutMs: 1000));
        var clock = Stopwatch.StartNew();
        var hang = AskAsync(host, "hang.sock.test");
        Assert.Contains("got=ping", await AskAsync(host, "echo.sock.test"));
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(450) || !hang.IsCompleted, "the other query waited for the hanging one");
        string hung = await hang;
        Assert.Contains("recv=Some(NotFound)", hung);   // the operation failed: op_poll -1
        int after = int.Parse(hung.Split("after=")[1].TrimEnd('"'));
        Assert.InRange(after, 950, 5000);
        Assert.Equal(0, host.Snapshot()[0].Faults);
    }

    [Fact]
    public async Task Guests_awaiting_sockets_hold_no_thread_so_more_requests_than_threads_run_at_once()
    {
        const int calls = 48;
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Definition(instances: calls, timeoutMs: 20_000));
        await Task.WhenAll(Enumerable.Range(0, calls).Select(i => AskAsync(host, "echo.sock.test")));   // warm: every instance exists

        // No echo goes out until every call has started, however slowly this machine starts them.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _echoGate = gate.Task;
        var contexts = Enumerable.Range(0, calls).Select(_ => Queries.Context("echo.sock.test")).ToArray();
        var pending = contexts.Select(c => host.InvokeAsync(PluginPhase.Request, c)).ToArray();
        // Started from this one thread: each call returned once its guest awaited the socket.
        Assert.Equal(calls, pending.Count(p => !p.IsCompleted));
        int threads = ThreadPool.ThreadCount;
        Assert.True(threads < calls, $"{threads} pool threads for {calls} waiting calls");

        var clock = Stopwatch.StartNew();
        gate.SetResult();
        foreach (var p in pending) Assert.Equal(PluginVerdict.Answer, await p);
        // One after another: 48 × 200 ms = 9.6 s; together about 200 ms (half the serial time: margin for a loaded machine).
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4.8), $"{calls} concurrent socket waits took {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.All(contexts, c => Assert.Contains("got=ping", Assert.Single(Queries.TxtStrings(c))));
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _echo.Dispose();
        _silent.Dispose();
        _tcp.Stop();
        await Task.WhenAll(_echoLoop, _tcpLoop);
    }
}

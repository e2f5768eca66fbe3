using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ananas.Sandbox.Data;

namespace Ananas.Sandbox.Tests;

/// <summary>Background tasks: families refreshes its list from a loopback HTTP endpoint; a swap or unload stops the task.</summary>
public sealed class BackgroundTests
{
    /// <summary>A loopback HTTP server answering every GET with the current list; counts requests.</summary>
    private sealed class ListServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        public volatile string List = "";
        public int Requests;

        public ListServer()
        {
            _listener.Start();
            _ = ServeAsync();
        }

        public string Origin => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

        private async Task ServeAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    var stream = client.GetStream();
                    var buffer = new byte[4096];
                    int read = 0;
                    while (!Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n") && read < buffer.Length)
                        read += await stream.ReadAsync(buffer.AsMemory(read), _stop.Token);
                    Interlocked.Increment(ref Requests);
                    var body = Encoding.UTF8.GetBytes(List);
                    var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
                    await stream.WriteAsync(head, _stop.Token);
                    await stream.WriteAsync(body, _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
            {
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }
    }

    private static async Task<bool> BlockedAsync(PluginHost host, string name) =>
        await host.InvokeAsync(PluginPhase.Request, Queries.Context(name, Dns.RRType.A)) == PluginVerdict.Answer;

    private static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"{what} did not happen in time");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Families_refreshes_its_list_from_a_url_in_a_background_task_until_it_is_unloaded()
    {
        using var server = new ListServer { List = "bad.example\n" };
        var file = Path.GetTempFileName();
        try
        {
            using var host = new PluginHost(new ListLogger());
            string module = Path.Combine(Guests.RepositoryRoot, ".build", "guests", "families.wasm");
            Guests.PathOf("empty");
            await host.LoadAsync(new PluginDefinition
            {
                Name = "families", ModulePath = module,
                Args = $"refresh-url={server.Origin}/malware.txt refresh-every=1",
                DataTables = [DataTableSpec.Parse("malware", "domains:" + file)],
                HttpAllowList = [server.Origin],
            });
            // The first run is at once: the served list replaces the (empty) file's.
            await Eventually(() => BlockedAsync(host, "www.bad.example"), "the first refresh");
            Assert.False(await BlockedAsync(host, "worse.example"));

            server.List = "worse.example\n";
            await Eventually(async () => await BlockedAsync(host, "worse.example") && !await BlockedAsync(host, "bad.example"), "the next refresh");
            Assert.Contains(host.Snapshot()[0].Counters, c => c.Key == "refreshed" && c.Value >= 2);

            // Unloading cancels the task: no request after it.
            Assert.True(host.Unload("families"));
            int before = Volatile.Read(ref server.Requests);
            await Task.Delay(2500);
            Assert.Equal(before, Volatile.Read(ref server.Requests));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_refresh_from_a_url_off_the_allow_list_is_refused_and_keeps_the_list()
    {
        using var server = new ListServer { List = "bad.example\n" };
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "kept.example\n");
        try
        {
            using var host = new PluginHost(new ListLogger());
            Guests.PathOf("empty");
            await host.LoadAsync(new PluginDefinition
            {
                Name = "families", ModulePath = Path.Combine(Guests.RepositoryRoot, ".build", "guests", "families.wasm"),
                Args = $"refresh-url={server.Origin}/malware.txt refresh-every=1",
                DataTables = [DataTableSpec.Parse("malware", "domains:" + file)],
                HttpAllowList = ["http://127.0.0.1:1"],
            });
            await Eventually(() => Task.FromResult(host.Snapshot()[0].Counters.Any(c => c.Key == "refresh_failed")), "the refused refresh");
            Assert.Equal(0, Volatile.Read(ref server.Requests));
            Assert.True(await BlockedAsync(host, "kept.example"));
            Assert.False(await BlockedAsync(host, "bad.example"));
        }
        finally
        {
            File.Delete(file);
        }
    }
}

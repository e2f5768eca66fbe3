using System.Net;
using System.Net.Sockets;
using Ananas.Cli;
using Ananas.Server.Listeners;
using Ananas.Server.Tests.Fakes;

namespace Ananas.Server.Tests;

/// <summary>
/// Every kind of listener turns a bind failure into one clear error and exit code 1: the address in use (two
/// `ananas serve` on one machine collide on the default metrics and control ports: the error names the key to
/// change), and a port below 1024 without privileges.
/// </summary>
public sealed class BindErrorTests
{
    [Theory]
    [InlineData("udp")]
    [InlineData("tcp")]
    [InlineData("tls")]
    [InlineData("https")]
    [InlineData("metrics")]
    [InlineData("control")]
    public async Task A_port_in_use_is_one_clear_error_for_every_listener_kind(string kind)
    {
        using var squatter = kind == "udp"
            ? new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        if (kind != "udp") squatter.Listen();
        int port = ((IPEndPoint)squatter.LocalEndPoint!).Port;
        int free = FreePorts.Tcp();

        string[] listen = kind is "metrics" or "control" ? [$"udp://127.0.0.1:{free}"] : [$"{kind}://127.0.0.1:{port}"];
        var config = ServeCommand.BuildConfig(null, listen, null, null, null);
        config.MetricsListen = kind == "metrics" ? $"http://127.0.0.1:{port}" : "";
        config.ControlListen = kind == "control" ? $"http://127.0.0.1:{port}" : "";
        var error = new StringWriter();
        Assert.Equal(1, await ServeCommand.RunAsync(config, error, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        var message = error.ToString();
        if (kind is "metrics" or "control")
        {
            Assert.Contains($"cannot listen on http://127.0.0.1:{port} ({kind}.listen): the address is already in use", message);
            Assert.Contains($"set {kind}.listen to a free port", message);
        }
        else
        {
            Assert.Contains($"cannot listen on {kind}://127.0.0.1:{port}: the address is already in use", message);
        }
        // All or nothing: the other listener bound before the failure was closed again.
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, free));
    }

    [Theory]
    [InlineData("udp", null)]
    [InlineData("tcp", null)]
    [InlineData("tls", null)]
    [InlineData("https", null)]
    [InlineData("http", "metrics.listen")]
    public void A_privileged_port_says_it_needs_privileges(string scheme, string? key)
    {
        // The tests may run as root, where binding port 53 succeeds, so the operating system's refusal is simulated.
        var e = ListenerBindException.FromKestrel(scheme, new IPEndPoint(IPAddress.Loopback, 53),
            new IOException("Failed to bind", new SocketException((int)SocketError.AccessDenied)), key);
        Assert.Contains("port 53 is below 1024 and needs privileges (run as root, grant CAP_NET_BIND_SERVICE, or listen on a port such as 5353)", e.Message);
        Assert.StartsWith($"cannot listen on {scheme}://127.0.0.1:53", e.Message);
    }
}

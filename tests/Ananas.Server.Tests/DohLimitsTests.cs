using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Ananas.Server.Listeners;
using Ananas.Server.Tests.Fakes;

namespace Ananas.Server.Tests;

/// <summary>
/// DNS over HTTPS under the <c>tcp.*</c> bounds (issue 15, gap 7): a client beyond its connection limit is closed,
/// and a connection that sends nothing, or a request's headers too slowly, is closed after the idle timeout.
/// </summary>
public sealed class DohLimitsTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(2);

    private static FakeAuthority World() => new("www.example.test. 300 A 192.0.2.1");

    private static async Task<SslStream> ConnectAsync(TestServer server, string alpn = "http/1.1")
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server.Doh!.LocalEndPoint);
        var thumbprint = server.Certificate!.Thumbprint;
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true), false,
            (_, c, _, _) => c is System.Security.Cryptography.X509Certificates.X509Certificate2 x && x.Thumbprint == thumbprint);
        using var timeout = new CancellationTokenSource(DnsTestClient.Timeout);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "127.0.0.1", ApplicationProtocols = [new SslApplicationProtocol(alpn)] }, timeout.Token);
        return tls;
    }

    /// <summary>
    /// One HTTP/1.1 GET of the JSON API on an open connection; the status line, or null when the server closed it.
    /// The whole response is read (headers, then its Content-Length or chunks), however the reads split it, so that
    /// the next GET on the connection starts at the next response.
    /// </summary>
    private static async Task<string?> GetAsync(SslStream tls) => (await GetResponseAsync(tls))?[0];

    /// <summary>As <see cref="GetAsync"/>, the response's status line and header lines.</summary>
    private static async Task<string[]?> GetResponseAsync(SslStream tls)
    {
        using var timeout = new CancellationTokenSource(DnsTestClient.Timeout);
        try
        {
            await tls.WriteAsync(Encoding.ASCII.GetBytes("GET /resolve?name=www.example.test&type=A HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), timeout.Token);
            var received = new List<byte>();
            var buffer = new byte[4096];
            while (true)
            {
                if (HttpResponseEnd(received) is { } head) return head;
                int n = await tls.ReadAsync(buffer, timeout.Token);
                if (n == 0) return received.Count == 0 ? null : throw new IOException("the connection closed inside a response");
                received.AddRange(buffer.AsSpan(0, n));
            }
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The status and header lines once <paramref name="received"/> holds one complete response; null while it does not.</summary>
    private static string[]? HttpResponseEnd(List<byte> received)
    {
        var text = Encoding.ASCII.GetString(received.ToArray());
        int headersEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (headersEnd < 0) return null;
        var headers = text[..headersEnd].Split("\r\n");
        var body = text[(headersEnd + 4)..];
        var length = headers.FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        bool complete = length is not null
            ? body.Length >= int.Parse(length["Content-Length:".Length..].Trim())
            : !headers.Any(h => h.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase)) || body.EndsWith("0\r\n\r\n", StringComparison.Ordinal);
        return complete ? headers : null;
    }

    /// <summary>A new connection's first answer; null when the server closed it (during the handshake, or after it without an answer).</summary>
    private static async Task<string?> TryConnectAndGetAsync(TestServer server)
    {
        try
        {
            await using var tls = await ConnectAsync(server);
            return await GetAsync(tls);
        }
        catch (Exception e) when (e is IOException or SocketException or System.Security.Authentication.AuthenticationException)
        {
            return null;
        }
    }

    /// <summary>How long until the server closes <paramref name="tls"/> (reading until end of stream), at most <paramref name="limit"/>.</summary>
    private static async Task<TimeSpan?> ClosedWithinAsync(SslStream tls, Stopwatch since, TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit - since.Elapsed);
        var buffer = new byte[4096];
        try
        {
            while (await tls.ReadAsync(buffer, timeout.Token) > 0)
            {
            }
        }
        catch (IOException)
        {
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        return since.Elapsed;
    }

    [Fact]
    public async Task A_client_beyond_its_connection_limit_is_closed_while_its_open_connections_are_answered()
    {
        await using var server = new TestServer(World(), tcpOptions: new TcpListenerOptions { IdleTimeout = TimeSpan.FromSeconds(30), MaxConnectionsPerClient = 2 }, encrypted: true);
        await using var first = await ConnectAsync(server);
        await using var second = await ConnectAsync(server);
        Assert.Equal("HTTP/1.1 200 OK", await GetAsync(first));
        Assert.Equal("HTTP/1.1 200 OK", await GetAsync(second));

        // The third: refused.
        Assert.Null(await TryConnectAndGetAsync(server));
        Assert.Equal("HTTP/1.1 200 OK", await GetAsync(first));

        // Closing one makes room again.
        await second.DisposeAsync();
        await Task.Delay(200);
        await using var fourth = await ConnectAsync(server);
        Assert.Equal("HTTP/1.1 200 OK", await GetAsync(fourth));
    }

    [Fact]
    public async Task A_json_answer_is_framed_by_its_content_length()
    {
        await using var server = new TestServer(World(), encrypted: true);
        await using var tls = await ConnectAsync(server);
        var head = await GetResponseAsync(tls);
        Assert.NotNull(head);
        Assert.Equal("HTTP/1.1 200 OK", head[0]);
        Assert.Contains(head, h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(head, h => h.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_connection_beyond_the_overall_limit_is_closed()
    {
        await using var server = new TestServer(World(), tcpOptions: new TcpListenerOptions { IdleTimeout = TimeSpan.FromSeconds(30), MaxConnections = 1 }, encrypted: true);
        await using var first = await ConnectAsync(server);
        Assert.Equal("HTTP/1.1 200 OK", await GetAsync(first));
        Assert.Null(await TryConnectAndGetAsync(server));
    }

    [Fact]
    public async Task An_idle_connection_and_a_slow_header_sender_are_closed_after_the_idle_timeout()
    {
        await using var server = new TestServer(World(), tcpOptions: new TcpListenerOptions { IdleTimeout = Idle }, encrypted: true);
        // Kestrel checks its timeouts on a one-second heartbeat; one more second for a loaded machine. Kestrel's own
        // defaults (130 s keep-alive, 30 s headers) are far beyond this.
        var limit = Idle + TimeSpan.FromSeconds(3);

        await using var idle = await ConnectAsync(server);
        Assert.Equal("HTTP/1.1 200 OK", await GetAsync(idle));
        var afterAnswer = Stopwatch.StartNew();
        var idleClosed = await ClosedWithinAsync(idle, afterAnswer, limit + TimeSpan.FromSeconds(3));
        Assert.True(idleClosed is not null && idleClosed <= limit, $"an idle keep-alive connection was open {idleClosed?.TotalSeconds ?? double.PositiveInfinity:0.0} s (idle timeout {Idle.TotalSeconds} s)");

        // Slowloris: a request line, then one header byte now and then, never the end of the headers.
        await using var slow = await ConnectAsync(server);
        var started = Stopwatch.StartNew();
        await slow.WriteAsync(Encoding.ASCII.GetBytes("GET /resolve?name=www.example.test HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
        var dribble = Task.Run(async () =>
        {
            try
            {
                for (int i = 0; i < 20 && started.Elapsed < limit + TimeSpan.FromSeconds(3); i++)
                {
                    await Task.Delay(250);
                    await slow.WriteAsync("a"u8.ToArray());
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
            {
            }
        });
        var slowClosed = await ClosedWithinAsync(slow, started, limit + TimeSpan.FromSeconds(3));
        await dribble;
        Assert.True(slowClosed is not null && slowClosed <= limit, $"a client sending its headers byte by byte was served {slowClosed?.TotalSeconds ?? double.PositiveInfinity:0.0} s (idle timeout {Idle.TotalSeconds} s)");
    }
}

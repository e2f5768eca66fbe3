using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Configuration;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;
using Ananas.Server.Tests.Fakes;
using Ananas.Server.Tls;
using TcpListener = Ananas.Server.Listeners.TcpListener;

namespace Ananas.Server.Tests;

/// <summary>
/// PROXY protocol v2 (haproxy proxy-protocol.txt §2.2) on TCP, DoT and DoH listeners, with hand-built headers. The
/// ACL admits only 192.0.2.0/24 while every connection really comes from 127.0.0.1 (the "proxy"): an answer proves
/// the header's client address is the one the pipeline judged. Bounded in time.
/// </summary>
public sealed class ProxyProtocolTests
{
    private static readonly IPEndPoint Allowed = new(IPAddress.Parse("192.0.2.7"), 40000);
    private static readonly IPEndPoint Outsider = new(IPAddress.Parse("198.51.100.1"), 40001);
    private static readonly IPEndPoint Destination = new(IPAddress.Loopback, 853);

    private static FakeAuthority World() => new("www.example.test. 300 A 192.0.2.1");

    private static PipelineOptions OnlyTheClaimedNetwork() => new() { Access = AccessList.Parse(["192.0.2.0/24"]) };

    private static ProxyOptions TrustLoopback() => new() { TrustedSources = AccessList.Parse(["127.0.0.0/8"]), HeaderTimeout = TimeSpan.FromSeconds(3) };

    [Fact]
    public void Parser_reads_ipv4_ipv6_local_and_tlvs_and_rejects_broken_headers()
    {
        var v4 = ProxyProtocol.Build(Allowed, Destination);
        Assert.Equal(28, v4.Length);
        Assert.Equal(ProxyHeaderStatus.Proxied, ProxyProtocol.TryParse([.. v4, 1, 2, 3], out int consumed, out var source));
        Assert.Equal(28, consumed);
        Assert.Equal(Allowed, source);

        var client6 = new IPEndPoint(IPAddress.Parse("2001:db8::7"), 5300);
        // A TLV (type 0x04 NOOP, 3 octets) after the addresses is skipped.
        var v6 = ProxyProtocol.Build(client6, new IPEndPoint(IPAddress.IPv6Loopback, 853), [0x04, 0x00, 0x03, 9, 9, 9]);
        Assert.Equal(ProxyHeaderStatus.Proxied, ProxyProtocol.TryParse(v6, out consumed, out source));
        Assert.Equal(16 + 36 + 6, consumed);
        Assert.Equal(client6, source);

        var local = (byte[])v4.Clone();
        local[12] = 0x20;
        Assert.Equal(ProxyHeaderStatus.Local, ProxyProtocol.TryParse(local, out consumed, out source));
        Assert.Equal(28, consumed);
        Assert.Null(source);

        // Every prefix of a valid header asks for more; nothing is taken from it.
        for (int n = 0; n < v4.Length; n++) Assert.Equal(ProxyHeaderStatus.NeedMore, ProxyProtocol.TryParse(v4.AsSpan(0, n), out _, out _));

        Assert.Equal(ProxyHeaderStatus.Malformed, ProxyProtocol.TryParse("PROXY TCP4 192.0.2.7 127.0.0.1 40000 853\r\n"u8, out _, out _));
        Assert.Equal(ProxyHeaderStatus.Malformed, ProxyProtocol.TryParse(Mutate(v4, 12, 0x11), out _, out _)); // version 1
        Assert.Equal(ProxyHeaderStatus.Malformed, ProxyProtocol.TryParse(Mutate(v4, 12, 0x22), out _, out _)); // command 2
        Assert.Equal(ProxyHeaderStatus.Malformed, ProxyProtocol.TryParse(Mutate(v4, 13, 0x51), out _, out _)); // family 5
        Assert.Equal(ProxyHeaderStatus.Malformed, ProxyProtocol.TryParse(Mutate(v4, 15, 4), out _, out _)); // address block too short
        Assert.Equal(ProxyHeaderStatus.Malformed, ProxyProtocol.TryParse(Mutate(Mutate(v4, 14, 0xFF), 15, 0xFF), out _, out _)); // 65535 octets
        Assert.Equal(ProxyHeaderStatus.Malformed, ProxyProtocol.TryParse(Mutate(v4, 0, 0x0A), out _, out _)); // signature
    }

    [Fact]
    public void Listen_addresses_take_proxy_v2_on_stream_transports_only()
    {
        var tcp = ListenAddress.Parse("tcp://127.0.0.1:5353?proxy=v2");
        Assert.True(tcp.Proxy);
        Assert.Equal("tcp://127.0.0.1:5353?proxy=v2", tcp.ToString());
        Assert.True(ListenAddress.Parse("https://[::1]?proxy=v2").Proxy);
        Assert.False(ListenAddress.Parse("tls://127.0.0.1:853").Proxy);
        Assert.Contains("not udp://", Assert.Throws<FormatException>(() => ListenAddress.Parse("udp://127.0.0.1:53?proxy=v2")).Message);
        Assert.Contains("the only one is ?proxy=v2", Assert.Throws<FormatException>(() => ListenAddress.Parse("tcp://127.0.0.1:53?proxy=v1")).Message);
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Apply(ConfigLoader.Defaults(), "[proxy]\ntrusted-sources = [\"10.0.0.0/8\", \"proxy\"]", "c.toml"));
        Assert.StartsWith("c.toml:2: proxy.trusted-sources[1]: 'proxy' is not a network", e.Message);
    }

    [Fact]
    public async Task Tcp_takes_the_client_from_the_header_and_closes_on_a_bad_or_missing_one()
    {
        await using var server = new TestServer(World(), OnlyTheClaimedNetwork());
        await using var listener = new TcpListener(new IPEndPoint(IPAddress.Loopback, 0), server.Pipeline, proxy: TrustLoopback());
        listener.Start();

        // The claimed client is inside the ACL: answered, twice on one connection (the header comes once).
        using (var socket = await DnsTestClient.ConnectTcpAsync(listener.LocalEndPoint))
        {
            await socket.SendAsync(ProxyProtocol.Build(Allowed, listener.LocalEndPoint));
            await DnsTestClient.SendTcpAsync(socket, DnsTestClient.Query("www.example.test", id: 1));
            await DnsTestClient.SendTcpAsync(socket, DnsTestClient.Query("www.example.test", id: 2));
            var first = await DnsTestClient.ReceiveTcpAsync(socket);
            var second = await DnsTestClient.ReceiveTcpAsync(socket);
            Assert.Equal(Rcode.NoError, first!.Rcode);
            Assert.Equal(Rcode.NoError, second!.Rcode);
        }
        // Outside the ACL: REFUSED, although the socket's own address (127.0.0.1) is the same.
        using (var socket = await DnsTestClient.ConnectTcpAsync(listener.LocalEndPoint))
        {
            await socket.SendAsync(ProxyProtocol.Build(Outsider, listener.LocalEndPoint));
            await DnsTestClient.SendTcpAsync(socket, DnsTestClient.Query("www.example.test", id: 3));
            Assert.Equal(Rcode.Refused, (await DnsTestClient.ReceiveTcpAsync(socket))!.Rcode);
        }
        // LOCAL (a health check): the connection's own address stands, and loopback is not in this ACL.
        using (var socket = await DnsTestClient.ConnectTcpAsync(listener.LocalEndPoint))
        {
            await socket.SendAsync(Mutate(ProxyProtocol.Build(Allowed, listener.LocalEndPoint), 12, 0x20));
            await DnsTestClient.SendTcpAsync(socket, DnsTestClient.Query("www.example.test", id: 4));
            Assert.Equal(Rcode.Refused, (await DnsTestClient.ReceiveTcpAsync(socket))!.Rcode);
        }
        // No header (a bare DNS query), or a malformed one: closed without an answer.
        Assert.True(await ClosedWithoutAnswerAsync(listener.LocalEndPoint, []));
        Assert.True(await ClosedWithoutAnswerAsync(listener.LocalEndPoint, Mutate(ProxyProtocol.Build(Allowed, listener.LocalEndPoint), 13, 0x51)));
    }

    [Fact]
    public async Task An_untrusted_source_is_closed_even_with_a_valid_header()
    {
        await using var server = new TestServer(World(), OnlyTheClaimedNetwork());
        var onlyTen = new ProxyOptions { TrustedSources = AccessList.Parse(["10.0.0.0/8"]) };
        await using var listener = new TcpListener(new IPEndPoint(IPAddress.Loopback, 0), server.Pipeline, proxy: onlyTen);
        listener.Start();
        Assert.True(await ClosedWithoutAnswerAsync(listener.LocalEndPoint, ProxyProtocol.Build(Allowed, listener.LocalEndPoint)));
    }

    [Fact]
    public async Task Dot_reads_the_header_before_the_tls_handshake()
    {
        await using var server = new TestServer(World(), OnlyTheClaimedNetwork());
        using var certificate = TlsCertificate.SelfSigned([IPAddress.Loopback]);
        await using var listener = new TcpListener(new IPEndPoint(IPAddress.Loopback, 0), server.Pipeline, tls: TlsCertificate.DotOptions(certificate), proxy: TrustLoopback());
        listener.Start();
        var socket = await DnsTestClient.ConnectTcpAsync(listener.LocalEndPoint);
        await socket.SendAsync(ProxyProtocol.Build(Allowed, listener.LocalEndPoint));
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: true), false, (_, c, _, _) => c is X509Certificate2 x && x.Thumbprint == certificate.Thumbprint);
        using var timeout = new CancellationTokenSource(DnsTestClient.Timeout);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "127.0.0.1", ApplicationProtocols = [TlsCertificate.Dot] }, timeout.Token);
        var (answer, _) = await EncryptedTransportTests.DotExchangeAsync(tls, DnsTestClient.Query("www.example.test", id: 7));
        Assert.Equal(Rcode.NoError, answer.Rcode);
    }

    [Fact]
    public async Task Doh_reads_the_header_before_tls_and_the_json_api_sees_the_client()
    {
        await using var server = new TestServer(World(), OnlyTheClaimedNetwork());
        using var certificate = TlsCertificate.SelfSigned([IPAddress.Loopback]);
        await using var listener = new HttpsListener(new IPEndPoint(IPAddress.Loopback, 0), server.Pipeline, certificate, proxy: TrustLoopback());
        listener.Start();

        async Task<int> StatusFor(IPEndPoint claimed)
        {
            using var client = HttpClientSending(certificate, ProxyProtocol.Build(claimed, listener.LocalEndPoint));
            using var response = await client.GetAsync($"https://127.0.0.1:{listener.LocalEndPoint.Port}/resolve?name=www.example.test");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return json.RootElement.GetProperty("Status").GetInt32();
        }
        Assert.Equal((int)Rcode.NoError, await StatusFor(Allowed));
        Assert.Equal((int)Rcode.Refused, await StatusFor(Outsider));

        // No header: the connection is closed, so the request fails.
        using var bare = EncryptedTransportTests.HttpClientFor(certificate, HttpVersion.Version11);
        await Assert.ThrowsAsync<HttpRequestException>(() => bare.GetAsync($"https://127.0.0.1:{listener.LocalEndPoint.Port}/resolve?name=www.example.test"));
    }

    [Fact]
    public async Task Serve_configures_proxy_listeners_from_the_listen_url_and_trusted_sources()
    {
        int port = FreePorts.Tcp();
        // Root hints on loopback where nothing answers: a query the ACL admits ends SERVFAIL, one it refuses REFUSED.
        var hints = Path.GetTempFileName();
        await File.WriteAllTextAsync(hints, ". 3600000 NS a.root-servers.net.\na.root-servers.net. 3600000 A 127.0.0.1\n");
        var config = Ananas.Cli.ServeCommand.BuildConfig(null, [$"tcp://127.0.0.1:{port}?proxy=v2"], hints, null, ["192.0.2.0/24"]);
        config = ConfigLoader.Apply(config, "[proxy]\ntrusted-sources = [\"127.0.0.1\"]\n[metrics]\nlisten = \"\"\n[control]\nlisten = \"\"\n[dnssec]\nvalidation = \"off\"", "proxy.toml");
        config.QueryTimeout = TimeSpan.FromSeconds(2);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var started = new TaskCompletionSource<Hosting.ResolverHost>();
        var run = Ananas.Cli.ServeCommand.RunAsync(config, Console.Error, stop.Token, host => started.SetResult(host));
        var host = await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        try
        {
            Assert.Contains(host.Listeners, l => l.Address == $"tcp://127.0.0.1:{port}?proxy=v2");
            var server = new IPEndPoint(IPAddress.Loopback, port);
            using var socket = await DnsTestClient.ConnectTcpAsync(server);
            await socket.SendAsync(ProxyProtocol.Build(Outsider, server));
            await DnsTestClient.SendTcpAsync(socket, DnsTestClient.Query("www.example.com", id: 1));
            Assert.Equal(Rcode.Refused, (await DnsTestClient.ReceiveTcpAsync(socket))!.Rcode);
            using var allowed = await DnsTestClient.ConnectTcpAsync(server);
            await allowed.SendAsync(ProxyProtocol.Build(Allowed, server));
            await DnsTestClient.SendTcpAsync(allowed, DnsTestClient.Query("www.example.com", id: 2));
            Assert.Equal(Rcode.ServFail, (await DnsTestClient.ReceiveTcpAsync(allowed))!.Rcode);
            Assert.True(await ClosedWithoutAnswerAsync(server, []));
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(15)));
            File.Delete(hints);
        }
    }

    /// <summary>An HTTP client whose every connection first sends <paramref name="header"/> (as a proxy would), then TLS.</summary>
    private static HttpClient HttpClientSending(X509Certificate2 certificate, byte[] header)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                await socket.SendAsync(header, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, c, _, _) => c is X509Certificate2 x && x.Thumbprint == certificate.Thumbprint,
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>Sends <paramref name="header"/> and a query; true when the server closed the connection (at any point) without answering.</summary>
    private static async Task<bool> ClosedWithoutAnswerAsync(IPEndPoint server, byte[] header)
    {
        using var socket = await DnsTestClient.ConnectTcpAsync(server);
        try
        {
            if (header.Length > 0) await socket.SendAsync(header);
            await DnsTestClient.SendTcpAsync(socket, DnsTestClient.Query("www.example.test", id: 9));
            return await DnsTestClient.ReceiveTcpAsync(socket) is null;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    private static byte[] Mutate(byte[] header, int index, byte value)
    {
        var copy = (byte[])header.Clone();
        copy[index] = value;
        return copy;
    }
}

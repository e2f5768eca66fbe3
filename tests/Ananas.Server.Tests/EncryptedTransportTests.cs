using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;
using Ananas.Server.Tests.Fakes;
using Ananas.Server.Tls;

namespace Ananas.Server.Tests;

/// <summary>DoT (RFC 7858), DoH (RFC 8484) and the JSON API over loopback, and RFC 8467 padding. Each bounded in time.</summary>
public sealed class EncryptedTransportTests
{
    private static FakeAuthority World() => new(
        "www.example.test. 300 A 192.0.2.1",
        "www.example.test. 120 AAAA 2001:db8::1",
        "big.example.test. 300 TXT \"0123456789012345678901234567890123456789012345678901234567890123456789\"",
        "big.example.test. 300 TXT \"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrst\"");

    [Fact]
    public void Padding_makes_a_response_with_EDNS_a_multiple_of_468_and_it_still_parses()
    {
        var query = DnsTestClient.Query("www.example.test", udpPayload: 1232);
        var response = query.CreateResponse();
        response.Answers.Add(Ananas.Dns.Zones.RecordText.Parse("www.example.test. 300 A 192.0.2.1", DnsName.Root));
        var buffer = new byte[ushort.MaxValue];
        int length = response.WriteTo(buffer);
        int padded = ResponsePadding.Apply(buffer, length, ushort.MaxValue);
        Assert.Equal(468, padded);
        var parsed = DnsMessage.Parse(buffer.AsSpan(0, padded));
        Assert.Single(parsed.Answers);
        Assert.NotNull(parsed.Edns!.Find<PaddingOption>());
        // Already padded: unchanged. Without EDNS: unchanged.
        Assert.Equal(padded, ResponsePadding.Apply(buffer, padded, ushort.MaxValue));
        response.Edns = null;
        length = response.WriteTo(buffer);
        Assert.Equal(length, ResponsePadding.Apply(buffer, length, ushort.MaxValue));
        // A limit below the next block: padded up to the limit only.
        response.Edns = new Edns();
        length = response.WriteTo(buffer);
        Assert.Equal(100, ResponsePadding.Apply(buffer, length, 100));
    }

    [Fact]
    public async Task Dot_answers_a_miss_then_a_cache_hit_padded_with_alpn_dot()
    {
        await using var server = new TestServer(World(), encrypted: true);
        await using var tls = await ConnectDotAsync(server);
        Assert.Equal("dot", tls.NegotiatedApplicationProtocol.ToString());

        var (first, firstLength) = await DotExchangeAsync(tls, DnsTestClient.Query("www.example.test", id: 11, udpPayload: 1232));
        Assert.Equal(11, first.Id);
        Assert.Equal(Rcode.NoError, first.Rcode);
        Assert.Equal("192.0.2.1", first.Answers.Single().Data.ToString());
        Assert.Equal(0, firstLength % 468);
        int upstream = server.Authority.Queries;
        long hits = server.Pipeline.Counters.CacheHits;

        var (second, secondLength) = await DotExchangeAsync(tls, DnsTestClient.Query("www.example.test", id: 12, udpPayload: 1232));
        Assert.Equal(12, second.Id);
        Assert.Equal(0, secondLength % 468);
        Assert.Equal(upstream, server.Authority.Queries);
        Assert.Equal(hits + 1, server.Pipeline.Counters.CacheHits);

        // No EDNS in the query: no padding.
        var (plain, plainLength) = await DotExchangeAsync(tls, DnsTestClient.Query("www.example.test", id: 13));
        Assert.Null(plain.Edns);
        Assert.NotEqual(0, plainLength % 468);

        // The same cached answer over plain TCP is not padded.
        var tcp = await DnsTestClient.TcpAsync(server.Tcp.LocalEndPoint, DnsTestClient.Query("www.example.test", id: 14, udpPayload: 1232));
        Assert.Null(tcp.Edns!.Find<PaddingOption>());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public async Task Doh_get_and_post_answer_through_the_pipeline(int httpMajor)
    {
        await using var server = new TestServer(World(), encrypted: true);
        using var client = HttpClientFor(server, new Version(httpMajor, httpMajor == 1 ? 1 : 0));
        var url = DohUrl(server);

        var wire = DnsTestClient.Query("www.example.test", id: 0, udpPayload: 1232).ToArray();
        using (var get = await client.GetAsync($"{url}?dns={Base64Url(wire)}"))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(httpMajor, get.Version.Major);
            Assert.Equal("application/dns-message", get.Content.Headers.ContentType!.MediaType);
            Assert.True(get.Headers.CacheControl!.MaxAge!.Value.TotalSeconds is > 0 and <= 300);
            var body = await get.Content.ReadAsByteArrayAsync();
            Assert.Equal(0, body.Length % 468);
            var answer = DnsMessage.Parse(body);
            Assert.Equal("192.0.2.1", answer.Answers.Single().Data.ToString());
        }
        int upstream = server.Authority.Queries;
        long hits = server.Pipeline.Counters.CacheHits;

        using var post = new ByteArrayContent(wire);
        post.Headers.ContentType = new MediaTypeHeaderValue("application/dns-message");
        using (var posted = await client.PostAsync(url, post))
        {
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
            var answer = DnsMessage.Parse(await posted.Content.ReadAsByteArrayAsync());
            Assert.Equal("192.0.2.1", answer.Answers.Single().Data.ToString());
        }
        Assert.Equal(upstream, server.Authority.Queries);
        Assert.Equal(hits + 1, server.Pipeline.Counters.CacheHits);
    }

    [Fact]
    public async Task Doh_rejects_malformed_requests_with_the_right_status()
    {
        await using var server = new TestServer(World(), encrypted: true);
        using var client = HttpClientFor(server, HttpVersion.Version20);
        var url = DohUrl(server);

        using (var r = await client.GetAsync($"{url}?dns=***")) Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        using (var r = await client.GetAsync($"{url}?dns=AAAA")) Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode); // 3 octets: no header
        using (var r = await client.GetAsync(url)) Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var response = DnsTestClient.Query("www.example.test").CreateResponse().ToArray(); // QR set
        using (var r = await client.GetAsync($"{url}?dns={Base64Url(response)}")) Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);

        using (var wrongType = new ByteArrayContent(DnsTestClient.Query("www.example.test").ToArray()))
        {
            wrongType.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            using var r = await client.PostAsync(url, wrongType);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, r.StatusCode);
        }
        using (var tooBig = new ByteArrayContent(new byte[70_000]))
        {
            tooBig.Headers.ContentType = new MediaTypeHeaderValue("application/dns-message");
            using var r = await client.PostAsync(url, tooBig);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        }
        using (var r = await client.GetAsync($"https://127.0.0.1:{server.Doh!.LocalEndPoint.Port}/other")) Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        using (var r = await client.PutAsync(url, new ByteArrayContent([1]))) Assert.Equal(HttpStatusCode.MethodNotAllowed, r.StatusCode);
        Assert.Equal(0, server.Authority.Queries);
    }

    [Fact]
    public async Task Json_api_answers_in_the_public_resolver_shape()
    {
        await using var server = new TestServer(World(), encrypted: true);
        using var client = HttpClientFor(server, HttpVersion.Version20);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{DohUrl(server)}?name=www.example.test&type=AAAA&cd=1");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/dns-json"));
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/dns-json", response.Content.Headers.ContentType!.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.Equal(0, root.GetProperty("Status").GetInt32());
        Assert.False(root.GetProperty("TC").GetBoolean());
        Assert.True(root.GetProperty("RD").GetBoolean());
        Assert.True(root.GetProperty("RA").GetBoolean());
        Assert.False(root.GetProperty("AD").GetBoolean());
        Assert.Equal("www.example.test.", root.GetProperty("Question")[0].GetProperty("name").GetString());
        Assert.Equal(28, root.GetProperty("Question")[0].GetProperty("type").GetInt32());
        var answer = root.GetProperty("Answer")[0];
        Assert.Equal("www.example.test.", answer.GetProperty("name").GetString());
        Assert.Equal(28, answer.GetProperty("type").GetInt32());
        Assert.True(answer.GetProperty("TTL").GetInt32() is > 0 and <= 120);
        Assert.Equal("2001:db8::1", answer.GetProperty("data").GetString());

        // Type by number, at /resolve; NXDOMAIN is Status 3; a bad type is 400.
        using (var byNumber = await client.GetAsync($"https://127.0.0.1:{server.Doh!.LocalEndPoint.Port}/resolve?name=www.example.test&type=1"))
        {
            using var doc = JsonDocument.Parse(await byNumber.Content.ReadAsStringAsync());
            Assert.Equal("192.0.2.1", doc.RootElement.GetProperty("Answer")[0].GetProperty("data").GetString());
        }
        using (var missing = await client.GetAsync($"{DohUrl(server)}?name=nope.example.test"))
        {
            using var doc = JsonDocument.Parse(await missing.Content.ReadAsStringAsync());
            Assert.Equal(3, doc.RootElement.GetProperty("Status").GetInt32());
        }
        using (var bad = await client.GetAsync($"{DohUrl(server)}?name=www.example.test&type=NOPE")) Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    private static string DohUrl(TestServer server) => $"https://127.0.0.1:{server.Doh!.LocalEndPoint.Port}{HttpsListener.Path}";

    internal static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static HttpClient HttpClientFor(TestServer server, Version version) => HttpClientFor(server.Certificate!, version);

    /// <summary>An HTTP client that trusts exactly <paramref name="certificate"/> (the server's self-signed one).</summary>
    internal static HttpClient HttpClientFor(X509Certificate2 certificate, Version version)
    {
        var thumbprint = certificate.Thumbprint;
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 c && c.Thumbprint == thumbprint,
            },
        };
        return new HttpClient(handler)
        {
            DefaultRequestVersion = version,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    private static Task<SslStream> ConnectDotAsync(TestServer server) => ConnectDotAsync(server.Dot!.LocalEndPoint, server.Certificate!);

    /// <summary>A DoT session (ALPN dot) trusting exactly <paramref name="certificate"/>.</summary>
    internal static async Task<SslStream> ConnectDotAsync(IPEndPoint endPoint, X509Certificate2 certificate)
    {
        var socket = await DnsTestClient.ConnectTcpAsync(endPoint);
        var thumbprint = certificate.Thumbprint;
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true), false,
            (_, certificate, _, _) => certificate is X509Certificate2 c && c.Thumbprint == thumbprint);
        using var cts = new CancellationTokenSource(DnsTestClient.Timeout);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            ApplicationProtocols = [TlsCertificate.Dot],
        }, cts.Token);
        return tls;
    }

    internal static async Task<(DnsMessage Message, int Length)> DotExchangeAsync(SslStream tls, DnsMessage query)
    {
        using var cts = new CancellationTokenSource(DnsTestClient.Timeout);
        var wire = query.ToArray();
        var framed = new byte[wire.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)wire.Length);
        wire.CopyTo(framed, 2);
        await tls.WriteAsync(framed, cts.Token);
        var prefix = new byte[2];
        await tls.ReadExactlyAsync(prefix, cts.Token);
        var body = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        await tls.ReadExactlyAsync(body, cts.Token);
        return (DnsMessage.Parse(body), body.Length);
    }

    internal static string? Tool(string name) =>
        new[] { "/usr/bin/", "/bin/", "/usr/local/bin/" }.Select(d => d + name).FirstOrDefault(File.Exists);

    internal static async Task<string> RunAsync(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        return await output + await error;
    }
}

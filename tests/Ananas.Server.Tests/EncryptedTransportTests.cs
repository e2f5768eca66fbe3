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

    [Fact]
    public async Task Kdig_over_tls_gets_the_answer()
    {
        if (Tool("kdig") is not { } kdig) return;
        await using var server = new TestServer(World(), encrypted: true);
        var output = await RunAsync(kdig, $"@127.0.0.1 -p {server.Dot!.LocalEndPoint.Port} +tls +timeout=4 +retry=0 www.example.test A");
        Assert.Contains("status: NOERROR", output);
        Assert.Contains("192.0.2.1", output);
        Assert.Contains("TLS", output);
    }

    private static async Task<SslStream> ConnectDotAsync(TestServer server)
    {
        var socket = await DnsTestClient.ConnectTcpAsync(server.Dot!.LocalEndPoint);
        var thumbprint = server.Certificate!.Thumbprint;
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

    private static async Task<(DnsMessage Message, int Length)> DotExchangeAsync(SslStream tls, DnsMessage query)
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

using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Listeners;
using Ananas.Server.Tests.Fakes;
using Ananas.Tests.Lab;

namespace Ananas.Server.Tests;

/// <summary>
/// Every transport end to end: `ananas serve` (in-process, production conductor) listening on UDP, TCP, DoT and
/// DoH at once, resolving through a real NSD hierarchy on loopback (root → test. → example.test.). Each transport
/// is asked by a real client (dig for UDP/TCP, kdig for DoT and DoH) and by our own. Bounded in time.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class TransportEndToEndTests : IAsyncLifetime
{
    private const string Www = NsdHierarchy.WwwAddress;
    private readonly int _plain = FreePorts.Tcp(), _dot = FreePorts.Tcp(), _doh = FreePorts.Tcp();
    private ServedLab? _lab;

    private ServedLab Lab => _lab!;

    public async Task InitializeAsync()
    {
        Assert.True(NsdHierarchy.FindNsd() is not null, "nsd is not installed: run scripts/setup.sh (it installs the Debian package nsd)");
        _lab = await ServedLab.StartAsync([$"udp://127.0.0.1:{_plain}", $"tcp://127.0.0.1:{_plain}", $"tls://127.0.0.1:{_dot}", $"https://127.0.0.1:{_doh}"]);
    }

    public async Task DisposeAsync()
    {
        if (_lab is not null) await _lab.DisposeAsync();
    }

    [Fact]
    public async Task Udp_and_tcp_answer_our_client_from_the_nsd_hierarchy()
    {
        var server = new IPEndPoint(IPAddress.Loopback, _plain);
        var udp = await DnsTestClient.UdpAsync(server, DnsTestClient.Query("www.example.test", id: 5, udpPayload: 1232));
        Assert.Equal(Rcode.NoError, udp.Rcode);
        Assert.Equal(Www, Assert.Single(udp.Answers).Data.ToString());
        var tcp = await DnsTestClient.TcpAsync(server, DnsTestClient.Query("alias.example.test", id: 6));
        Assert.Equal(["CNAME", "A"], tcp.Answers.Select(a => a.Type.ToString()));
        var missing = await DnsTestClient.UdpAsync(server, DnsTestClient.Query("nope.example.test", id: 7));
        Assert.Equal(Rcode.NXDomain, missing.Rcode);
    }

    [FactWhenInstalled("dig", "dnsutils")]
    public async Task Dig_over_udp_and_tcp()
    {
        var dig = EncryptedTransportTests.Tool("dig")!;
        var udp = await EncryptedTransportTests.RunAsync(dig, $"@127.0.0.1 -p {_plain} +tries=1 +time=5 www.example.test A");
        Assert.Contains("status: NOERROR", udp);
        Assert.Matches(@"www\.example\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.80", udp);
        var tcp = await EncryptedTransportTests.RunAsync(dig, $"@127.0.0.1 -p {_plain} +tcp +tries=1 +time=5 alias.example.test A");
        Assert.Contains("status: NOERROR", tcp);
        Assert.Matches(@"alias\.example\.test\.\s+\d+\s+IN\s+CNAME\s+www\.example\.test\.", tcp);
        Assert.Contains("(TCP)", tcp);
    }

    [Fact]
    public async Task Dot_answers_our_client_padded()
    {
        await using var tls = await EncryptedTransportTests.ConnectDotAsync(new IPEndPoint(IPAddress.Loopback, _dot), Lab.Host.Certificate!);
        var (answer, length) = await EncryptedTransportTests.DotExchangeAsync(tls, DnsTestClient.Query("www.example.test", id: 9, udpPayload: 1232));
        Assert.Equal(Rcode.NoError, answer.Rcode);
        Assert.Equal(Www, Assert.Single(answer.Answers).Data.ToString());
        Assert.Equal(0, length % 468);
    }

    [FactWhenInstalled("kdig", "knot-dnsutils")]
    public async Task Kdig_over_tls()
    {
        var output = await EncryptedTransportTests.RunAsync(EncryptedTransportTests.Tool("kdig")!, $"@127.0.0.1 -p {_dot} +tls +timeout=5 +retry=0 www.example.test A");
        Assert.Contains("status: NOERROR", output);
        Assert.Contains("TLS", output);
        Assert.Matches(@"www\.example\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.80", output);
    }

    [FactWhenInstalled("kdig", "knot-dnsutils")]
    public async Task Kdig_over_https_post_and_get()
    {
        var kdig = EncryptedTransportTests.Tool("kdig")!;
        var post = await EncryptedTransportTests.RunAsync(kdig, $"@127.0.0.1 -p {_doh} +https +timeout=5 +retry=0 alias.example.test A");
        Assert.Contains("status: NOERROR", post);
        Assert.Contains("HTTP session (HTTP/2-POST)", post);
        Assert.Matches(@"www\.example\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.80", post);
        var get = await EncryptedTransportTests.RunAsync(kdig, $"@127.0.0.1 -p {_doh} +https-get +timeout=5 +retry=0 nope.example.test A");
        Assert.Contains("status: NXDOMAIN", get);
        Assert.Contains("HTTP session (HTTP/2-GET)", get);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Doh_get_and_post_answer_our_client(int httpMajor)
    {
        using var client = EncryptedTransportTests.HttpClientFor(Lab.Host.Certificate!, new Version(httpMajor, 0));
        var url = $"https://127.0.0.1:{_doh}{HttpsListener.Path}";
        var wire = DnsTestClient.Query("www.example.test", id: 0, udpPayload: 1232).ToArray();
        using (var get = await client.GetAsync($"{url}?dns={EncryptedTransportTests.Base64Url(wire)}"))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(httpMajor, get.Version.Major);
            var answer = DnsMessage.Parse(await get.Content.ReadAsByteArrayAsync());
            Assert.Equal(Www, Assert.Single(answer.Answers).Data.ToString());
        }
        var body = new ByteArrayContent(DnsTestClient.Query("nope.example.test", id: 0).ToArray());
        body.Headers.ContentType = new MediaTypeHeaderValue("application/dns-message");
        using var post = await client.PostAsync(url, body);
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.Equal(Rcode.NXDomain, DnsMessage.Parse(await post.Content.ReadAsByteArrayAsync()).Rcode);
    }

    [Fact]
    public async Task Json_api_answers_our_client()
    {
        using var client = EncryptedTransportTests.HttpClientFor(Lab.Host.Certificate!, HttpVersion.Version20);
        using var response = await client.GetAsync($"https://127.0.0.1:{_doh}/resolve?name=alias.example.test&type=A");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/dns-json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(0, json.RootElement.GetProperty("Status").GetInt32());
        var answers = json.RootElement.GetProperty("Answer").EnumerateArray().Select(a => (a.GetProperty("type").GetInt32(), a.GetProperty("data").GetString())).ToList();
        Assert.Equal([(5, "www.example.test."), (1, Www)], answers);
    }
}

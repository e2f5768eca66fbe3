using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Ananas.Cli.Plugins;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Sandbox;
using Ananas.Sandbox.Tests;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Ananas.Server.Listeners;
using Ananas.Server.Tests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;
using static Ananas.Server.Tests.Fakes.ObliviousDohClient;

namespace Ananas.Server.Tests;

/// <summary>
/// Oblivious DoH (RFC 9230): the guests/odoh app as target and as proxy on the DoH listener's frame phase, a client
/// written from the RFC (Fakes/ObliviousDohClient, no code shared with the server), and the odoh test vectors.
/// </summary>
public sealed class ObliviousDohTests
{
    // cloudflare/odoh-go test-vectors.json (draft-06: the configuration's version is 0xff06, RFC 9230's 0x0001;
    // contents, key id and message formats are those of the RFC). Three of its transactions.
    private const string VectorConfigs = "002cff06002800200001000100203c7769245980d261c2189e4ed0e05e61d560263a88d6c6c5858187fe75392877";
    private const string VectorSeed = "5e32c845d3453f73f4d899662ef64dc45c4b1d207944ccf1bcdefd04a232ee2c";
    private const string VectorKeyId = "2e8b2b5f69a41e7d019361cbf4319a29cf3bb5b694ac126b86c5e9bb86e0216f";

    public sealed record Transaction(string Query, int QueryPadding, int ResponsePadding, string ObliviousQuery, string ObliviousResponse);

    public static readonly Transaction[] Transactions =
    [
        new("781e4a0e2f758cd075d0483a6863c055c874df4169d6fcae1e0269b0eeb534e3", 0, 0,
            "0100202e8b2b5f69a41e7d019361cbf4319a29cf3bb5b694ac126b86c5e9bb86e0216f00545ed85db2d4aafe2d34538dfd7e455e83a644afa6e8c92e2b674f68322a0ed262736c8cf91cfe6127e6d4a3067cf955019ae866cd33c61253841af43a9dd60157e9d7cbabe351885f3a6b6c4c14d293763234319e",
            "020010b789220ab024661a4f05a040e6dc25220054c6a664f4dee4e78199a861e2697c7ed09d1a19203d27ea650dacc59edba93aa98c9e9309bddd946ffbcd091c638bd9bc41bf1877334601a49ca8b85417a9f194b5f3bac9d717dbc7075aba6ed832e6299e00fe5b"),
        new("be1cb197cc51c233520882f88989231f710bf79c016d02dad43b9a354b284414", 0, 64,
            "0100202e8b2b5f69a41e7d019361cbf4319a29cf3bb5b694ac126b86c5e9bb86e0216f0054dc7733a1156a4619f0ed910e0ba7b037891c0557a220f57942afcecb13e45e2608c744c97258a146210a4567ed4b8122ddeaa0cacd0fef0a5d63d4a101ff3c7892df36fa702c7e7188ebf4bfd4b299b3bd93746c",
            "0200107d535c70d90aba153ed34bb7a40c26bd0094bef8bcc4f94a85b4e0f38b9b82a77710ca6491cb65d1499eff7c2a5fffe0215ece62ed1e08c1ceb61336bd0bb41c47260e1263e77d9079d3e6ec09fca1c6c939b638927e5a1513d71d3ac29eb4c1b8b18a0e513e7e73085d13b50447ae92d908d065c0db4a326c971af54979c437763fad76f97c14b92de595e8afe9bdbd7e8c03c407e71aa639e6855e890fc1f5ed609d016458"),
        new("2d422af9ccb92292cb85c43ef63c60d2d9cb64bb4d64853d39302dc2cfcc818d", 32, 0,
            "0100202e8b2b5f69a41e7d019361cbf4319a29cf3bb5b694ac126b86c5e9bb86e0216f0074daa68d6dda64d59e4144f161ae7b5a0b487f5a04273c88585764b491b6809219e752dd5f9cc8ac36616a8cbb3ed72a8b8c1db32b66da23215ec67f10761080f0a3f05e287fbd1b6d0f68e38b9eb1541afb90a3f7cb43d1db250d3fe4ec02ec9de33f5c4a189c8b1c9052181110ad5fa605bbc696",
            "0200108f4d5d2556c54927e3ab8cbd3177a9e100542347883863df6a3efb462f73687ced909d9ce798053e580dd135170ed92d3bed933d36eade3b3c08e20da09d07dae612ed2450af682c56858064e633223b9362a94c36af33e698c8e0fd2e37f3aa2ff01e184da1"),
    ];

    private static byte[] Hex(string hex) => Convert.FromHexString(hex);

    [Fact]
    public void The_client_reproduces_the_odoh_test_vectors_byte_for_byte()
    {
        var (contents, publicKey) = ParseConfigs(Hex(VectorConfigs));
        var (sk, pk) = DeriveKeyPair(Hex(VectorSeed));
        Assert.Equal(publicKey, pk);
        Assert.Equal(VectorKeyId, Convert.ToHexStringLower(KeyId(contents)));
        foreach (var t in Transactions)
        {
            var pending = DecryptQuery(Hex(t.ObliviousQuery), sk, pk);
            var (query, queryPadding) = SplitPlaintext(pending.QueryPlain);
            Assert.Equal(t.Query, Convert.ToHexStringLower(query));
            Assert.Equal(t.QueryPadding, queryPadding);

            var (response, responsePadding) = DecryptResponse(pending, Hex(t.ObliviousResponse));
            Assert.Equal(t.Query + t.Query, Convert.ToHexStringLower(response));
            Assert.Equal(t.ResponsePadding, responsePadding);
            // The response nonce is the response's key_id field: sealing again with it gives the same bytes.
            var responseNonce = Hex(t.ObliviousResponse).AsSpan(3, 16).ToArray();
            Assert.Equal(t.ObliviousResponse, Convert.ToHexStringLower(EncryptResponse(pending, response, t.ResponsePadding, responseNonce)));
        }
    }

    [Fact]
    public void Hpke_http_and_socket_settings_are_checked_when_the_configuration_loads()
    {
        const string toml = """
            [[plugin]]
            name = "odoh"
            module = "odoh.wasm"
            hpke-aead = "aes-256-gcm"
            hpke-key-rotation = "10s"
            http-allow = ["https://target.example/dns-query"]
            socket-allow = ["udp://resolver.example:53", "tcp://127.0.0.1:853"]
            socket-timeout = "5m"
            """;
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Apply(ConfigLoader.Defaults(), toml, "config.toml"));
        Assert.Contains("plugin[0].hpke-aead: 'aes-256-gcm' is not an HPKE AEAD", error.Message);
        Assert.Contains("plugin[0].hpke-key-rotation", error.Message);
        Assert.Contains("'https://target.example/dns-query' is not an origin", error.Message);
        Assert.Contains("'udp://resolver.example:53' is not udp://ip:port", error.Message);
        Assert.Contains("plugin[0].socket-timeout", error.Message);

        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), toml.Replace("aes-256-gcm", "chacha20-poly1305").Replace("10s", "1h").Replace("/dns-query", "")
            .Replace("resolver.example", "127.0.0.53").Replace("5m", "3s"), "config.toml");
        Assert.Equal("chacha20-poly1305", config.Plugins[0].HpkeAead);
        Assert.Equal(TimeSpan.FromHours(1), config.Plugins[0].HpkeKeyRotation);
        Assert.Equal(["https://target.example"], config.Plugins[0].HttpAllow);
        Assert.Equal(["udp://127.0.0.53:53", "tcp://127.0.0.1:853"], config.Plugins[0].SocketAllow);
        Assert.Equal(TimeSpan.FromSeconds(3), config.Plugins[0].SocketTimeout);
    }

    /// <summary>A server with a DoH listener and the odoh app in <paramref name="args"/>; with <paramref name="trust"/>, its
    /// plugins' HTTPS trusts that certificate (written to a PEM file named by <c>plugins.tls-cert-bundle</c>).</summary>
    private sealed class Server : IAsyncDisposable
    {
        public required ResolverHost Host { get; init; }
        public required PluginManager Plugins { get; init; }
        public required int HttpsPort { get; init; }

        public X509Certificate2 Certificate => Host.Certificate!;

        public string Origin => $"https://127.0.0.1:{HttpsPort}";

        public static async Task<Server> StartAsync(string args, string extraToml = "", X509Certificate2? trust = null, FakeAuthority? authority = null)
        {
            Guests.PathOf("empty");
            string module = Path.Combine(Guests.RepositoryRoot, ".build", "guests", "odoh.wasm");
            int port = FreePorts.Tcp(), https = FreePorts.Tcp();
            string bundle = "";
            if (trust is not null)
            {
                bundle = Path.Combine(Path.GetTempPath(), $"ananas-odoh-trust-{Guid.NewGuid():N}.pem");
                await File.WriteAllTextAsync(bundle, trust.ExportCertificatePem());
            }
            var config = ConfigLoader.Apply(ConfigLoader.Defaults(), $"""
                listen = ["udp://127.0.0.1:{port}", "https://127.0.0.1:{https}"]
                [metrics]
                listen = ""
                [control]
                listen = ""
                [dnssec]
                validation = "off"
                [resolver]
                local-zones = ["localhost."]
                [plugins]
                tls-cert-bundle = "{bundle}"
                [[plugin]]
                name = "odoh"
                module = "{module}"
                args = "{args}"
                hpke-aead = "aes-128-gcm"
                {extraToml}
                """, "odoh.toml");
            var host = new ResolverHost(config, authority ?? new FakeAuthority("www.example.com. 300 A 192.0.2.80", "mail.example.com. 300 A 192.0.2.25"), NullLoggerFactory.Instance);
            var plugins = new PluginManager(host.Pipeline, NullLoggerFactory.Instance, PluginManager.HostOptions(config));
            if (bundle.Length > 0) File.Delete(bundle); // read once, at start
            await plugins.LoadAsync(config.Plugins);
            host.Plugins = plugins;
            await host.StartAsync();
            return new Server { Host = host, Plugins = plugins, HttpsPort = https };
        }

        public async ValueTask DisposeAsync()
        {
            await Host.StopAsync(TimeSpan.FromSeconds(2));
            await Plugins.DisposeAsync();
        }
    }

    private static async Task<byte[]> PostAsync(HttpClient client, string url, byte[] body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(MediaType);
        using var response = await client.PostAsync(url, content);
        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.OK)
        {
            Assert.Equal(MediaType, response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(new Version(2, 0), response.Version);
        }
        return await response.Content.ReadAsByteArrayAsync();
    }

    private static byte[] Query(string name, RRType type = RRType.A) => DnsMessage.CreateQuery(0, DnsName.Parse(name), type).ToArray();

    /// <summary>What an answer says, without TTLs (which tick between two asks).</summary>
    private static string Shape(byte[] wire)
    {
        var m = DnsMessage.Parse(wire);
        return $"{m.Rcode} {string.Join(" | ", m.Answers.Select(r => $"{r.Name} {r.Type} {r.Data}"))}";
    }

    [Fact]
    public async Task The_target_answers_the_test_vector_query_under_the_vector_key()
    {
        await using var target = await Server.StartAsync("target", $"hpke-key-seed = \"{VectorSeed}\"");
        using var client = EncryptedTransportTests.HttpClientFor(target.Certificate, HttpVersion.Version20);
        // The published configuration is the vector's (with RFC 9230's version).
        var configs = await client.GetByteArrayAsync($"{target.Origin}/.well-known/odohconfigs");
        Assert.Equal(VectorConfigs[..4] + "0001" + VectorConfigs[8..], Convert.ToHexStringLower(configs));

        var (sk, pk) = DeriveKeyPair(Hex(VectorSeed));
        var t = Transactions[2];
        var reply = await PostAsync(client, $"{target.Origin}{HttpsListener.Path}", Hex(t.ObliviousQuery));
        // Only a target that opened the vector's query and keyed its answer on that exact Q_plain can be read here.
        var (response, padding) = DecryptResponse(DecryptQuery(Hex(t.ObliviousQuery), sk, pk), reply);
        // 32 random bytes are no usable DNS query: the pipeline's error reply for its ID (here NOTIMP, for the
        // opcode its random header carries), padded to a 468-byte block (RFC 8467).
        var parsed = DnsMessage.Parse(response);
        Assert.Equal(Hex(t.Query)[0] << 8 | Hex(t.Query)[1], parsed.Id);
        Assert.NotEqual(Rcode.NoError, parsed.Rcode);
        Assert.Equal(0, (4 + response.Length + padding) % 468);
    }

    [Fact]
    public async Task Queries_through_the_proxy_over_http2_get_the_same_answers_as_plain_doh()
    {
        await using var target = await Server.StartAsync("target");
        await using var proxy = await Server.StartAsync("proxy", $"http-allow = [\"{target.Origin}\"]", trust: target.Certificate);
        using var toTarget = EncryptedTransportTests.HttpClientFor(target.Certificate, HttpVersion.Version20);
        using var toProxy = EncryptedTransportTests.HttpClientFor(proxy.Certificate, HttpVersion.Version20);
        var (contents, _) = ParseConfigs(await toTarget.GetByteArrayAsync($"{target.Origin}/.well-known/odohconfigs"));
        string proxyUrl = $"{proxy.Origin}/proxy?targethost=127.0.0.1:{target.HttpsPort}&targetpath=/dns-query";

        foreach (var (name, type) in new[] { ("www.example.com", RRType.A), ("mail.example.com", RRType.A), ("nothing.example.com", RRType.A), ("www.example.com", RRType.AAAA) })
        {
            var query = Query(name, type);
            using var plainContent = new ByteArrayContent(query);
            plainContent.Headers.ContentType = new MediaTypeHeaderValue("application/dns-message");
            using var plain = await toTarget.PostAsync($"{target.Origin}{HttpsListener.Path}", plainContent);
            var plainAnswer = await plain.Content.ReadAsByteArrayAsync();

            var (message, pending) = EncryptQuery(contents, query);
            var reply = await PostAsync(toProxy, proxyUrl, message);
            var (answer, padding) = DecryptResponse(pending, reply);
            Assert.Equal(Shape(plainAnswer), Shape(answer));
            Assert.Equal(0, (4 + answer.Length + padding) % 468);
        }
        Assert.Contains(proxy.Plugins.List()[0].Counters, c => c.Key == "proxied" && c.Value == 4);
        Assert.Contains(target.Plugins.List()[0].Counters, c => c.Key == "answered" && c.Value == 4);
    }

    [Fact]
    public async Task The_proxy_gets_502_from_a_target_whose_certificate_its_trust_does_not_cover()
    {
        await using var target = await Server.StartAsync("target");
        // No plugins.tls-cert-bundle: the system's trust store, which does not hold the target's self-signed certificate.
        await using var proxy = await Server.StartAsync("proxy", $"http-allow = [\"{target.Origin}\"]");
        using var toProxy = EncryptedTransportTests.HttpClientFor(proxy.Certificate, HttpVersion.Version20);
        await PostAsync(toProxy, $"{proxy.Origin}/proxy?targethost=127.0.0.1:{target.HttpsPort}&targetpath=/dns-query", [1, 0, 0, 0, 1, 0], HttpStatusCode.BadGateway);
        Assert.DoesNotContain(target.Plugins.List()[0].Counters, c => c.Key == "answered");
    }

    [Fact]
    public async Task The_proxy_refuses_targets_outside_its_allow_list_and_malformed_target_parameters()
    {
        await using var target = await Server.StartAsync("target");
        await using var proxy = await Server.StartAsync("proxy", "http-allow = [\"https://127.0.0.1:1\"]", trust: target.Certificate);
        using var toProxy = EncryptedTransportTests.HttpClientFor(proxy.Certificate, HttpVersion.Version20);
        var body = new byte[] { 1, 0, 0, 0, 1, 0 };
        await PostAsync(toProxy, $"{proxy.Origin}/proxy?targethost=127.0.0.1:{target.HttpsPort}&targetpath=/dns-query", body, HttpStatusCode.Forbidden);
        await PostAsync(toProxy, $"{proxy.Origin}/proxy?targethost=127.0.0.1:{target.HttpsPort}", body, HttpStatusCode.BadRequest);
        await PostAsync(toProxy, $"{proxy.Origin}/proxy?targethost=evil@127.0.0.1:1&targetpath=/dns-query", body, HttpStatusCode.BadRequest);
        // The target saw nothing.
        Assert.DoesNotContain(target.Plugins.List()[0].Counters, c => c.Key == "answered");
    }

    [Fact]
    public async Task The_target_asks_for_new_configs_on_an_unknown_key_and_rejects_what_does_not_decrypt()
    {
        await using var target = await Server.StartAsync("target");
        using var client = EncryptedTransportTests.HttpClientFor(target.Certificate, HttpVersion.Version20);
        string url = $"{target.Origin}{HttpsListener.Path}";
        var (contents, _) = ParseConfigs(await client.GetByteArrayAsync($"{target.Origin}/.well-known/odohconfigs"));
        var (good, _) = EncryptQuery(contents, Query("www.example.com"));

        var unknownKey = (byte[])good.Clone();
        unknownKey[3] ^= 0xFF;   // first byte of the key id
        await PostAsync(client, url, unknownKey, HttpStatusCode.Unauthorized);
        var tampered = (byte[])good.Clone();
        tampered[^1] ^= 1;
        await PostAsync(client, url, tampered, HttpStatusCode.BadRequest);
        await PostAsync(client, url, good[..^3], HttpStatusCode.BadRequest);
        await PostAsync(client, url, [], HttpStatusCode.BadRequest);
        // Plain DoH on the same listener is untouched.
        using var plainContent = new ByteArrayContent(Query("www.example.com"));
        plainContent.Headers.ContentType = new MediaTypeHeaderValue("application/dns-message");
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(url, plainContent)).StatusCode);
    }

    [Fact]
    public async Task A_key_rotation_during_a_load_run_loses_no_query()
    {
        await using var target = await Server.StartAsync("target");
        using var client = EncryptedTransportTests.HttpClientFor(target.Certificate, HttpVersion.Version20);
        string url = $"{target.Origin}{HttpsListener.Path}";
        var (oldContents, _) = ParseConfigs(await client.GetByteArrayAsync($"{target.Origin}/.well-known/odohconfigs"));
        var keys = target.Plugins.KeysOf("odoh")!;
        int answered = 0, failed = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        async Task Worker(int id)
        {
            // Each worker keeps the configuration it fetched before the rotation (as real clients cache it).
            for (int i = 0; i < 200 && !stop.IsCancellationRequested; i++)
            {
                var (message, pending) = EncryptQuery(oldContents, Query(i % 2 == 0 ? "www.example.com" : "mail.example.com"));
                using var content = new ByteArrayContent(message);
                content.Headers.ContentType = new MediaTypeHeaderValue(MediaType);
                using var response = await client.PostAsync(url, content);
                if (response.StatusCode == HttpStatusCode.OK && DnsMessage.Parse(DecryptResponse(pending, await response.Content.ReadAsByteArrayAsync()).Response).Answers.Count == 1)
                    Interlocked.Increment(ref answered);
                else
                    Interlocked.Increment(ref failed);
            }
        }
        var workers = Enumerable.Range(0, 4).Select(Worker).ToArray();
        await Task.Delay(300);
        var newKey = keys.Rotate();
        await Task.WhenAll(workers);
        Assert.Equal(0, failed);
        Assert.True(answered >= 20, $"only {answered} queries ran");
        // The new configuration is published and works too.
        var (newContents, _) = ParseConfigs(await client.GetByteArrayAsync($"{target.Origin}/.well-known/odohconfigs"));
        Assert.Equal(newKey.Contents, newContents);
        var (fresh, freshPending) = EncryptQuery(newContents, Query("www.example.com"));
        Assert.Single(DnsMessage.Parse(DecryptResponse(freshPending, await PostAsync(client, url, fresh)).Response).Answers);
    }
}

using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using Ananas.Cli.Plugins;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Sandbox.Crypto;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Benchmarks.Plugins;

/// <summary>
/// Console mode <c>odoh-throughput SECONDS CONCURRENCY ROUNDS</c>: one server (DoH listener, guests/odoh as target)
/// answering <c>localhost. A</c> from its local zone (no upstream); plain DoH and ODoH POSTs over HTTP/2 from this
/// process, alternating rounds, side by side. ODoH queries are encrypted before each round (a client's cost, not
/// the target's); each response is checked for status and type. Also times the target's host-side crypto per query.
/// </summary>
internal static class OdohThroughput
{
    public static void Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task RunAsync(string[] args)
    {
        int seconds = args.Length > 0 ? int.Parse(args[0]) : 5;
        int concurrency = args.Length > 1 ? int.Parse(args[1]) : 32;
        int rounds = args.Length > 2 ? int.Parse(args[2]) : 3;
        HostCrypto();

        string module = Path.Combine(PluginPipelineBenchmarks.RepositoryRoot(), ".build", "guests", "odoh.wasm");
        int port = FreePort();
        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), $"""
            listen = ["https://127.0.0.1:{port}"]
            [metrics]
            listen = ""
            [control]
            listen = ""
            [[plugin]]
            name = "odoh"
            module = "{module}"
            args = "target"
            hpke-aead = "aes-128-gcm"
            max-instances = 64
            """, "bench.toml");
        await using var host = new ResolverHost(config, new PluginPipelineBenchmarks.NoUpstream(), NullLoggerFactory.Instance);
        var plugins = new PluginManager(host.Pipeline, NullLoggerFactory.Instance);
        await plugins.LoadAsync(config.Plugins);
        host.Plugins = plugins;
        await host.StartAsync();
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
            EnableMultipleHttp2Connections = true,
        };
        using var client = new HttpClient(handler) { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        string url = $"https://127.0.0.1:{port}/dns-query";
        var keys = plugins.KeysOf("odoh")!;
        var query = DnsMessage.CreateQuery(0, DnsName.Parse("localhost"), RRType.A).ToArray();

        Console.WriteLine($"odoh-throughput: {seconds} s per round, {concurrency} concurrent HTTP/2 requests, {rounds} rounds each, localhost. A (local zone)");
        var plain = new List<double>();
        var oblivious = new List<double>();
        for (int round = 0; round < rounds + 1; round++)
        {
            // Round 0 warms both paths (JIT, instances, connections) and is not counted.
            double p = await MeasureAsync(client, url, seconds, concurrency, _ => (query, "application/dns-message"));
            var encrypted = Enumerable.Range(0, 60_000 * Math.Max(1, seconds) / 5).Select(_ => Encrypt(keys.Current, query)).ToArray();
            int next = -1;
            double o = await MeasureAsync(client, url, seconds, concurrency, _ => (encrypted[Interlocked.Increment(ref next) % encrypted.Length], "application/oblivious-dns-message"));
            if (round == 0) continue;
            plain.Add(p);
            oblivious.Add(o);
            Console.WriteLine($"round {round}: plain DoH {p:F0} q/s, ODoH {o:F0} q/s, ratio {o / p:P0}");
        }
        plain.Sort();
        oblivious.Sort();
        Console.WriteLine($"median: plain DoH {plain[plain.Count / 2]:F0} q/s, ODoH {oblivious[oblivious.Count / 2]:F0} q/s, ratio {oblivious[oblivious.Count / 2] / plain[plain.Count / 2]:P0}");
        await host.StopAsync(TimeSpan.FromSeconds(2));
        await plugins.DisposeAsync();
    }

    private static async Task<double> MeasureAsync(HttpClient client, string url, int seconds, int concurrency, Func<int, (byte[] Body, string Type)> next)
    {
        long done = 0, failed = 0;
        var clock = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        async Task Worker(int id)
        {
            while (clock.Elapsed < until)
            {
                var (body, type) = next(id);
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue(type);
                using var response = await client.PostAsync(url, content);
                var bytes = await response.Content.ReadAsByteArrayAsync();
                if (response.StatusCode == HttpStatusCode.OK && bytes.Length > 12 && response.Content.Headers.ContentType?.MediaType == type) Interlocked.Increment(ref done);
                else Interlocked.Increment(ref failed);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(Worker));
        if (failed > 0) throw new InvalidOperationException($"{failed} requests failed");
        return done / clock.Elapsed.TotalSeconds;
    }

    /// <summary>An ODoH query (RFC 9230 §6.3) to the key, padded to 128 bytes.</summary>
    private static byte[] Encrypt(HpkeKeySet.Key key, byte[] query)
    {
        int padding = (128 - (query.Length + 4) % 128) % 128;
        var plain = new byte[4 + query.Length + padding];
        BinaryPrimitives.WriteUInt16BigEndian(plain, (ushort)query.Length);
        query.CopyTo(plain, 2);
        BinaryPrimitives.WriteUInt16BigEndian(plain.AsSpan(2 + query.Length), (ushort)padding);
        var (context, enc) = Hpke.SetupBaseS(HpkeAead.Aes128Gcm, key.PublicKey, "odoh query"u8)!.Value;
        byte[] aad = [0x01, 0x00, (byte)key.KeyId.Length, .. key.KeyId];
        var ct = context.Seal(aad, plain);
        byte[] encrypted = [.. enc, .. ct];
        return [0x01, 0x00, (byte)key.KeyId.Length, .. key.KeyId, (byte)(encrypted.Length >> 8), (byte)encrypted.Length, .. encrypted];
    }

    /// <summary>The target's host-side crypto per query: SetupBaseR + Open + Export + HKDF + AEAD seal (what the guest asks of the host).</summary>
    private static void HostCrypto()
    {
        var key = new HpkeKeySet().Current;
        var (enc, ct) = OdohTargetCrypto.Query(key);
        const int n = 20_000;
        for (int warm = 0; warm < 2; warm++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < n; i++) OdohTargetCrypto.Host(key, enc, ct);
            if (warm == 1) Console.WriteLine($"host crypto per ODoH query (decrypt + encrypt, {n} queries): {clock.Elapsed.TotalMicroseconds / n:F1} µs");
        }
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}

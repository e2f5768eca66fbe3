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
/// Console mode <c>odoh-throughput SECONDS CONCURRENCY ROUNDS [both|plain|odoh|target]</c>: one server (DoH listener,
/// guests/odoh as target) answering <c>localhost. A</c> from its local zone (no upstream); plain DoH and ODoH POSTs
/// over HTTP/2 from this process, alternating rounds, side by side. Every ODoH query is encrypted with its own HPKE
/// context before its round (the client's crypto is not timed); every response is checked for status, media type
/// and message type, and one in <see cref="SampleEvery"/> is decrypted and compared with the plain DoH answer (rcode and records,
/// TTLs aside), as is one plain answer in as many.
/// Each round reports QPS and the process's CPU time per query (client and server together). Before the rounds it
/// times the target's host crypto alone and the target app without HTTP. The last argument runs one part only (for
/// a profiler): plain or ODoH rounds, or the target app without HTTP (ten times as many queries).
/// </summary>
internal static class OdohThroughput
{
    private const int SampleEvery = 256;
    private const string DnsMessage = "application/dns-message";
    private const string ObliviousMessage = "application/oblivious-dns-message";

    public static void Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task RunAsync(string[] args)
    {
        int seconds = args.Length > 0 ? int.Parse(args[0]) : 5;
        int concurrency = args.Length > 1 ? int.Parse(args[1]) : 32;
        int rounds = args.Length > 2 ? int.Parse(args[2]) : 3;
        string sides = args.Length > 3 ? args[3] : "both";
        bool runPlain = sides != "odoh", runOblivious = sides != "plain";
        if (sides == "both") HostCrypto();

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
        var query = Ananas.Dns.Messages.DnsMessage.CreateQuery(0, DnsName.Parse("localhost"), RRType.A).ToArray();
        var expected = Shape(await PlainAnswerAsync(client, url, query));

        if (sides is "both" or "target") await TargetWithoutHttpAsync(host.Pipeline.HttpFrames!, keys.Current, query, await PlainAnswerAsync(client, url, query), sides == "target" ? 10 : 1);
        if (sides == "target") return;
        Console.WriteLine($"odoh-throughput: {seconds} s per round, {concurrency} concurrent HTTP/2 requests, {rounds} rounds, {sides}, localhost. A (local zone)");
        var plain = new List<(double Qps, double Cpu, long Done)>();
        var oblivious = new List<(double Qps, double Cpu, long Done)>();
        int sampled = 0;
        double lastOblivious = 0;
        for (int round = 0; round < rounds + 1; round++)
        {
            // Round 0 warms both paths (JIT, instances, connections) and is not counted.
            var p = runPlain ? await MeasureAsync(client, url, seconds, concurrency, _ => query, DnsMessage, (i, body) => body.Length > 12 && (i % SampleEvery != 0 || Shape(body) == expected)) : default;
            var o = default((double Qps, double Cpu, long Done));
            int encryptedCount = 0;
            if (runOblivious)
            {
                // Each query with its own HPKE context (RFC 9230 §6.3), before the clock starts: twice what the last
                // round answered (20,000 q/s for the warm-up round); a round that outruns them reuses some, and says so.
                var encrypted = new ObliviousQuery[(int)Math.Max(10_000, 2 * (round == 0 ? 20_000 : lastOblivious) * seconds)];
                Parallel.For(0, encrypted.Length, i => encrypted[i] = ObliviousQuery.Create(keys.Current, query));
                encryptedCount = encrypted.Length;
                o = await MeasureAsync(client, url, seconds, concurrency, i => encrypted[i % encrypted.Length].Message, ObliviousMessage, (i, body) =>
                {
                    if (body.Length < 5 || body[0] != 0x02) return false;
                    if (i % SampleEvery != 0) return true;
                    Interlocked.Increment(ref sampled);
                    return encrypted[i % encrypted.Length].DecryptResponse(body) is { } answer && Shape(answer) == expected;
                });
            }
            if (runOblivious && o.Done > encryptedCount) Console.WriteLine($"round {round}: {o.Done - encryptedCount} ODoH queries were sent twice (more answered than encrypted)");
            lastOblivious = o.Qps;
            if (round == 0) continue;
            if (runPlain) plain.Add(p);
            if (runOblivious) oblivious.Add(o);
            Console.WriteLine($"round {round}: plain DoH {p.Qps:F0} q/s ({p.Cpu:F1} µs CPU/query), ODoH {o.Qps:F0} q/s ({o.Cpu:F1} µs CPU/query), QPS ratio {o.Qps / p.Qps:P0}");
        }
        if (runPlain && runOblivious)
        {
            double pq = Median(plain, x => x.Qps), oq = Median(oblivious, x => x.Qps), pc = Median(plain, x => x.Cpu), oc = Median(oblivious, x => x.Cpu);
            var ratios = plain.Zip(oblivious, (a, b) => b.Qps / a.Qps).Order().ToList();
            Console.WriteLine($"median: plain DoH {pq:F0} q/s ({pc:F1} µs CPU/query), ODoH {oq:F0} q/s ({oc:F1} µs CPU/query); " +
                $"QPS ratio ODoH/plain: median of rounds {ratios[ratios.Count / 2]:P0}, of medians {oq / pq:P0}; CPU per query plain/ODoH {pc / oc:P0}");
        }
        Console.WriteLine($"ODoH answers decrypted and checked against plain DoH: {sampled}");
        await host.StopAsync(TimeSpan.FromSeconds(2));
        await plugins.DisposeAsync();
    }

    private static double Median<T>(List<T> values, Func<T, double> of)
    {
        var sorted = values.Select(of).Order().ToList();
        return sorted[sorted.Count / 2];
    }

    /// <summary>
    /// The target app alone: guests/odoh through the frame phase (decrypt, resolve, encrypt, and the hostcalls and
    /// guest entries between), called in a loop without HTTP, the resolve answered at once with a fixed answer.
    /// </summary>
    private static async Task TargetWithoutHttpAsync(Ananas.Server.Pipeline.IHttpFrameHandler frames, HpkeKeySet.Key key, byte[] query, byte[] answer, int repeat)
    {
        const int n = 20_000;
        var queries = new ObliviousQuery[n];
        Parallel.For(0, n, i => queries[i] = ObliviousQuery.Create(key, query));
        var client = new IPEndPoint(IPAddress.Loopback, 443);
        Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]?>> resolve = (_, _) => Task.FromResult<byte[]?>(answer);
        using var process = Process.GetCurrentProcess();
        for (int warm = 0; warm < 2; warm++)
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            for (int r = 0; r < (warm == 1 ? repeat : 1); r++)
            for (int i = warm * n / 2; i < (warm + 1) * n / 2; i++)
            {
                var request = new Ananas.Server.Pipeline.HttpFrameRequest("POST", "/dns-query", ObliviousMessage, queries[i].Message, client);
                var reply = await frames.HandleAsync(request, resolve, CancellationToken.None);
                if (reply is not { Status: 200 } || (i % SampleEvery == 0 && queries[i].DecryptResponse(reply.Body) is null)) throw new InvalidOperationException("the target did not answer");
            }
            process.Refresh();
            if (warm == 1) Console.WriteLine($"target app per ODoH query without HTTP ({n / 2} queries, one at a time): {(process.TotalProcessorTime - cpu).TotalMicroseconds / (n / 2 * repeat):F1} µs CPU");
        }
    }

    /// <summary>What two answers to the same query share: rcode and records without their (decreasing) TTLs.</summary>
    private static string Shape(byte[] answer)
    {
        var message = Ananas.Dns.Messages.DnsMessage.Parse(answer);
        return $"{message.Rcode} {string.Join(" | ", message.Answers.Select(r => r.WithTtl(0)))}";
    }

    private static async Task<byte[]> PlainAnswerAsync(HttpClient client, string url, byte[] query)
    {
        using var content = new ByteArrayContent(query);
        content.Headers.ContentType = new MediaTypeHeaderValue(DnsMessage);
        using var response = await client.PostAsync(url, content);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>Requests flat out for <paramref name="seconds"/>: QPS and process CPU µs per query; throws on any failed or wrong answer.</summary>
    private static async Task<(double Qps, double Cpu, long Done)> MeasureAsync(HttpClient client, string url, int seconds, int concurrency,
        Func<int, byte[]> body, string type, Func<int, byte[], bool> check)
    {
        long done = 0, failed = 0;
        int next = -1;
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        async Task Worker()
        {
            while (clock.Elapsed < until)
            {
                int i = Interlocked.Increment(ref next);
                using var content = new ByteArrayContent(body(i));
                content.Headers.ContentType = new MediaTypeHeaderValue(type);
                using var response = await client.PostAsync(url, content);
                var bytes = await response.Content.ReadAsByteArrayAsync();
                if (response.StatusCode == HttpStatusCode.OK && response.Content.Headers.ContentType?.MediaType == type && check(i, bytes)) Interlocked.Increment(ref done);
                else Interlocked.Increment(ref failed);
            }
        }
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Worker()));
        double elapsed = clock.Elapsed.TotalSeconds;
        process.Refresh();
        double cpuMicroseconds = (process.TotalProcessorTime - cpu).TotalMicroseconds;
        if (failed > 0) throw new InvalidOperationException($"{failed} requests failed or were answered wrongly");
        return (done / elapsed, cpuMicroseconds / Math.Max(1, done), done);
    }

    /// <summary>An ODoH query (RFC 9230 §6.3, padded to 128 bytes) with what its client keeps to open the response (§6.4).</summary>
    private sealed class ObliviousQuery
    {
        private HpkeContext _context = null!;
        private byte[] _plain = null!;
        public byte[] Message { get; private set; } = null!;

        public static ObliviousQuery Create(HpkeKeySet.Key key, byte[] query)
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
            return new ObliviousQuery
            {
                _context = context,
                _plain = plain,
                Message = [0x01, 0x00, (byte)key.KeyId.Length, .. key.KeyId, (byte)(encrypted.Length >> 8), (byte)encrypted.Length, .. encrypted],
            };
        }

        /// <summary>The DNS answer inside an ObliviousDoHMessage response, or null when it does not open.</summary>
        public byte[]? DecryptResponse(byte[] message)
        {
            int nonceLength = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(1));
            var nonce = message.AsSpan(3, nonceLength);
            int sealedLength = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(3 + nonceLength));
            var sealedAnswer = message.AsSpan(5 + nonceLength, sealedLength);
            var secret = _context.Export("odoh response"u8, 16);
            byte[] salt = [.. _plain, (byte)(nonceLength >> 8), (byte)nonceLength, .. nonce];
            var prk = Hpke.Extract(salt, secret);
            var key = new byte[16];
            var aeadNonce = new byte[Hpke.NonceLength];
            Hpke.Expand(prk, "odoh key"u8, key);
            Hpke.Expand(prk, "odoh nonce"u8, aeadNonce);
            byte[] aad = [0x02, (byte)(nonceLength >> 8), (byte)nonceLength, .. nonce];
            var plain = new byte[sealedAnswer.Length - Hpke.TagLength];
            if (!Hpke.Open(HpkeAead.Aes128Gcm, key, aeadNonce, aad, sealedAnswer, plain)) return null;
            int length = BinaryPrimitives.ReadUInt16BigEndian(plain);
            return plain.AsSpan(2, length).ToArray();
        }
    }

    /// <summary>The target's host-side crypto per query: SetupBaseR + Open + Export + HKDF + AEAD seal (what the guest asks of the host).</summary>
    private static void HostCrypto()
    {
        var key = new HpkeKeySet().Current;
        var (enc, ct) = OdohTargetCrypto.Query(key);
        const int n = 20_000;
        using var process = Process.GetCurrentProcess();
        for (int warm = 0; warm < 2; warm++)
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            for (int i = 0; i < n; i++) OdohTargetCrypto.Host(key, enc, ct);
            process.Refresh();
            if (warm == 1) Console.WriteLine($"host crypto per ODoH query (decrypt + encrypt, {n} queries): {(process.TotalProcessorTime - cpu).TotalMicroseconds / n:F1} µs CPU");
        }
    }

    private static int FreePort()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}

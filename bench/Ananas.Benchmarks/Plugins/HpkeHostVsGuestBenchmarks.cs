using Ananas.Sandbox.Crypto;
using Ananas.Tests.Shared;
using BenchmarkDotNet.Attributes;

namespace Ananas.Benchmarks.Plugins;

/// <summary>
/// The ODoH target's crypto for one query (SetupBaseR, Open of a 128-byte query, Export, HKDF of the response key
/// and nonce, AES-128-GCM Seal of a 468-byte answer), side by side: by the host (what guests/odoh asks of it
/// through the HPKE hostcalls) and compiled into a guest (guests/tests/hpke.rs, plain Rust in Wasmtime), metered by
/// fuel as plugins run by default and unmetered.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class HpkeHostVsGuestBenchmarks
{
    private HpkeKeySet.Key _key = null!;
    private byte[] _enc = null!;
    private byte[] _ct = null!;
    private GuestHpke _metered = null!;
    private GuestHpke _unmetered = null!;

    [GlobalSetup]
    public void Setup()
    {
        _key = new HpkeKeySet().Current;
        (_enc, _ct) = OdohTargetCrypto.Query(_key);
        _metered = new GuestHpke(SandboxGuests.PathOf("hpke"), fuel: true);
        _unmetered = new GuestHpke(SandboxGuests.PathOf("hpke"), fuel: false);
        if (_metered.OdohTarget(_key.PrivateKey, _key.PublicKey, _enc, _ct) is null) throw new InvalidOperationException("the guest did not open the query");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _metered.Dispose();
        _unmetered.Dispose();
    }

    [Benchmark(Baseline = true, Description = "host HPKE (hostcalls' work)")]
    public byte[] Host() => OdohTargetCrypto.Host(_key, _enc, _ct);

    [Benchmark(Description = "guest HPKE, fuel-metered")]
    public byte[]? GuestMetered() => _metered.OdohTarget(_key.PrivateKey, _key.PublicKey, _enc, _ct);

    [Benchmark(Description = "guest HPKE, unmetered")]
    public byte[]? GuestUnmetered() => _unmetered.OdohTarget(_key.PrivateKey, _key.PublicKey, _enc, _ct);
}

/// <summary>The target's crypto per ODoH query with the host's HPKE, as guests/odoh has the host do it.</summary>
internal static class OdohTargetCrypto
{
    private static readonly byte[] Answer = new byte[468];

    /// <summary>A client's query to <paramref name="key"/>: the encapsulated key and a sealed 128-byte message.</summary>
    public static (byte[] Enc, byte[] Ct) Query(HpkeKeySet.Key key)
    {
        var (sender, enc) = Hpke.SetupBaseS(HpkeAead.Aes128Gcm, key.PublicKey, "odoh query"u8)!.Value;
        return (enc, sender.Seal([], new byte[128]));
    }

    public static byte[] Host(HpkeKeySet.Key key, byte[] enc, byte[] ct)
    {
        var receiver = Hpke.SetupBaseR(HpkeAead.Aes128Gcm, enc, key.PrivateKey, key.PublicKey, "odoh query"u8)!;
        var plain = receiver.Open([], ct)!;
        var secret = receiver.Export("odoh response"u8, 16);
        var prk = Hpke.Extract(plain, secret);
        var aeadKey = new byte[16];
        var nonce = new byte[12];
        Hpke.Expand(prk, "odoh key"u8, aeadKey);
        Hpke.Expand(prk, "odoh nonce"u8, nonce);
        var output = new byte[Answer.Length + Hpke.TagLength];
        Hpke.Seal(HpkeAead.Aes128Gcm, aeadKey, nonce, [], Answer, output);
        return output;
    }
}

/// <summary>
/// Console mode <c>hpke-host-vs-guest ROUNDS QUERIES</c>: the same comparison as <see cref="HpkeHostVsGuestBenchmarks"/>
/// in process CPU time rather than wall time (on a shared machine wall time mostly measures the other processes),
/// alternating host, guest (fuel) and guest (unmetered) rounds of QUERIES queries each, one thread.
/// </summary>
internal static class HpkeHostVsGuest
{
    public static void Run(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0]) : 5;
        int queries = args.Length > 1 ? int.Parse(args[1]) : 200;
        var key = new HpkeKeySet().Current;
        var (enc, ct) = OdohTargetCrypto.Query(key);
        using var metered = new GuestHpke(SandboxGuests.PathOf("hpke"), fuel: true);
        using var unmetered = new GuestHpke(SandboxGuests.PathOf("hpke"), fuel: false);
        var ways = new (string Name, Action Query)[]
        {
            ("host HPKE", () => OdohTargetCrypto.Host(key, enc, ct)),
            ("guest HPKE (fuel)", () => _ = metered.OdohTarget(key.PrivateKey, key.PublicKey, enc, ct) ?? throw new InvalidOperationException("guest failed")),
            ("guest HPKE (unmetered)", () => _ = unmetered.OdohTarget(key.PrivateKey, key.PublicKey, enc, ct) ?? throw new InvalidOperationException("guest failed")),
        };
        var perQuery = ways.Select(_ => new List<double>()).ToArray();
        Console.WriteLine($"hpke-host-vs-guest: ODoH target crypto per query, CPU µs, {rounds} rounds of {queries} queries each way (plus a warm-up round)");
        for (int round = 0; round <= rounds; round++)
        {
            for (int w = 0; w < ways.Length; w++)
            {
                var process = System.Diagnostics.Process.GetCurrentProcess();
                var before = process.TotalProcessorTime;
                for (int i = 0; i < queries; i++) ways[w].Query();
                process.Refresh();
                if (round > 0) perQuery[w].Add((process.TotalProcessorTime - before).TotalMicroseconds / queries);
            }
            if (round > 0) Console.WriteLine($"round {round}: " + string.Join(", ", ways.Select((w, i) => $"{w.Name} {perQuery[i][^1]:F1} µs")));
        }
        var medians = perQuery.Select(list => list.Order().ElementAt(list.Count / 2)).ToArray();
        Console.WriteLine("median: " + string.Join(", ", ways.Select((w, i) => $"{w.Name} {medians[i]:F1} µs")));
        Console.WriteLine($"guest / host: fuel {medians[1] / medians[0]:F1}x, unmetered {medians[2] / medians[0]:F1}x");
    }
}

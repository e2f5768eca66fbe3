using Ananas.Authoritative.Answering;
using Ananas.Authoritative.Signing;
using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Zones;
using BenchmarkDotNet.Attributes;

namespace Ananas.Benchmarks.Authoritative;

/// <summary>
/// The cost of online signing per answer (docs/BENCHMARKS.md, "Online signing"): one <c>AuthoritativeAnswerer.Answer</c>
/// call from an LMDB edge store, unsigned (no DO) against signed with the signatures in the cache, and a compact
/// NXDOMAIN whose NSEC must be signed on every call (a new name each time: the worst case, one signature per answer).
/// </summary>
[MemoryDiagnoser]
public class SigningBenchmarks
{
    private const string Zone = """
        $ORIGIN example.com.
        $TTL 3600
        @    IN SOA ns1 hostmaster 1 7200 3600 1209600 300
        @    IN NS  ns1
        ns1  IN A   192.0.2.1
        www  IN A   192.0.2.80
        """;

    private string _directory = "";
    private EdgeStore? _store;
    private AuthoritativeAnswerer _answerer = null!;
    private byte[] _www = [], _wwwSigned = [], _missing = [], _missingSigned = [];
    private readonly byte[] _reply = new byte[1232];
    private int _digitsAt;
    private uint _counter;

    [Params(SigningKey.EcdsaP256Sha256, SigningKey.Ed25519)]
    public byte Algorithm { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), $"ananas-bench-signing-{Guid.NewGuid():N}");
        _store = new EdgeStore(_directory);
        var file = ZoneFileReader.Parse(Zone, "example.com.zone");
        file.ThrowIfErrors();
        ZoneWriter.Replace(_store, [ZoneImage.Build(file.FirstOrigin!, file.Records.Select(r => r.Record))]);
        KeyTable.Generate(_store, DnsName.Parse("example.com."), Algorithm, DateTimeOffset.UtcNow);
        _answerer = new AuthoritativeAnswerer(_store);
        _www = Query("www.example.com.", dnssecOk: false);
        _wwwSigned = Query("www.example.com.", dnssecOk: true);
        _missing = Query("n00000000.example.com.", dnssecOk: false);
        _missingSigned = Query("n00000000.example.com.", dnssecOk: true);
        _digitsAt = 12 + 2; // header, then the first label's length octet and "n"
        if (_answerer.Answer(_wwwSigned, _reply, _reply.Length, out _) == 0) throw new InvalidOperationException("no signed answer");
    }

    private static byte[] Query(string name, bool dnssecOk) =>
        DnsMessage.CreateQuery(1, DnsName.Parse(name), RRType.A, recursionDesired: false, dnssecOk: dnssecOk).ToArray();

    [Benchmark(Baseline = true)]
    public int PositiveUnsigned() => _answerer.Answer(_www, _reply, _reply.Length, out _);

    [Benchmark]
    public int PositiveSignedCached() => _answerer.Answer(_wwwSigned, _reply, _reply.Length, out _);

    [Benchmark]
    public int MissingUnsigned() => _answerer.Answer(_missing, _reply, _reply.Length, out _);

    /// <summary>A new missing name per call: its NSEC is signed every time (the SOA's signature stays cached).</summary>
    [Benchmark]
    public int MissingSignedEachTime()
    {
        uint n = ++_counter;
        for (int i = 7; i >= 0; i--, n /= 10) _missingSigned[_digitsAt + i] = (byte)('0' + n % 10);
        return _answerer.Answer(_missingSigned, _reply, _reply.Length, out _);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

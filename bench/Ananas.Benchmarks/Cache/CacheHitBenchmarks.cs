using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using BenchmarkDotNet.Attributes;

namespace Ananas.Benchmarks.Cache;

/// <summary>
/// The cache-hit path: <see cref="ArcCache{TKey,TValue}.TryGet(TKey, out TValue)"/> and
/// <see cref="AnswerCache.TryAnswer(ReadOnlySpan{byte}, Span{byte}, out int)"/> (key from query bytes,
/// copy, ID/case/TTL patching) on one thread and on two threads at once. Every lookup hits.
/// Results are per lookup.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 8)]
public class CacheHitBenchmarks
{
    private const int Keys = 4096;
    private const int PerThread = 1 << 20;

    private ArcCache<ulong, int> _arc = null!;
    private AnswerCache _answers = null!;
    private byte[][] _queries = null!;

    [GlobalSetup]
    public void Setup()
    {
        var options = new CacheOptions { CapacityBytes = 64L << 20 };
        _arc = new ArcCache<ulong, int>(options, SystemClock.Instance, new FixedCost());
        for (ulong k = 0; k < Keys; k++) _arc.Set(k, (int)k, TimeSpan.FromHours(1));

        _answers = new AnswerCache(new AnswerCacheOptions { Storage = options }, SystemClock.Instance);
        _queries = new byte[Keys][];
        for (int i = 0; i < Keys; i++)
        {
            var name = DnsName.Parse($"host{i}.example.com.");
            var query = DnsMessage.CreateQuery((ushort)i, name, RRType.A);
            var response = query.CreateResponse();
            response.Answers.Add(new ResourceRecord(name, 3600, new AddressData(new System.Net.IPAddress(0x0A000000 + i))));
            _queries[i] = query.ToArray();
            if (!_answers.Store(_queries[i], response.ToArray())) throw new InvalidOperationException("not stored");
        }
    }

    [Benchmark(OperationsPerInvoke = Keys)]
    public int ArcTryGet() => ArcLoop(Keys, 0);

    [Benchmark(OperationsPerInvoke = Keys)]
    public int AnswerTryAnswer() => AnswerLoop(Keys, 0);

    [Benchmark(OperationsPerInvoke = 2 * PerThread)]
    public int ArcTryGetTwoThreads() => OnTwoThreads(offset => ArcLoop(PerThread, offset));

    [Benchmark(OperationsPerInvoke = 2 * PerThread)]
    public int AnswerTryAnswerTwoThreads() => OnTwoThreads(offset => AnswerLoop(PerThread, offset));

    private int ArcLoop(int count, int offset)
    {
        int found = 0;
        for (int i = 0; i < count; i++)
        {
            if (_arc.TryGet((ulong)((i + offset) & (Keys - 1)), out int v)) found += v & 1;
        }
        return found;
    }

    private int AnswerLoop(int count, int offset)
    {
        Span<byte> buffer = stackalloc byte[512];
        int bytes = 0;
        for (int i = 0; i < count; i++)
        {
            if (_answers.TryAnswer(_queries[(i + offset) & (Keys - 1)], buffer, out int written)) bytes += written;
        }
        return bytes;
    }

    /// <summary>The loops, for <see cref="CacheThroughput"/>.</summary>
    public int ArcLoopPublic(int count, int offset) => ArcLoop(count, offset);

    public int AnswerLoopPublic(int count, int offset) => AnswerLoop(count, offset);

    private static int OnTwoThreads(Func<int, int> work)
    {
        int other = 0;
        var thread = new Thread(() => other = work(Keys / 2));
        thread.Start();
        int mine = work(0);
        thread.Join();
        return mine + other;
    }

    private sealed class FixedCost : ICacheCost<ulong, int>
    {
        public long CostOf(ulong key, int value) => 0;
    }
}

using System.Diagnostics;
using Ananas.Resolver;
using Ananas.Resolver.Cache;

namespace Ananas.Benchmarks.Cache;

/// <summary>
/// Hit ratio of ARC against a plain LRU of the same byte size on a seeded DNS-like workload: queries drawn
/// Zipf(α) over a name population, with a one-pass scan of never-repeated names injected halfway (a
/// random-subdomain flood, or a crawler). Each query is a lookup, and a miss stores the name, as a
/// resolver does. Time does not pass (TTLs are a day), so only the replacement policy is measured.
/// </summary>
public static class CacheHitRatio
{
    private const int Names = 100_000;
    private const int Queries = 1_000_000;
    private const int ScanLength = 200_000;
    private const double Alpha = 0.9;
    private const int Seed = 20250101;

    /// <summary>
    /// Typical answer size: a 12-byte header, a ~25-byte question, one or two A records and an OPT record,
    /// about 100 bytes, varied ±50 per name so that the byte accounting matters.
    /// </summary>
    private const int TypicalPayload = 100;

    public static void Run(string[] args)
    {
        int typicalEntries = args.Length > 0 && int.TryParse(args[0], out int n) ? n : 15_000;
        var workload = BuildWorkload();
        long typicalCost = TypicalPayload + CacheEntryOverhead.For<int>();
        var options = new CacheOptions { CapacityBytes = typicalEntries * typicalCost };
        Console.WriteLine($"workload: {Queries:N0} Zipf({Alpha}) queries over {Names:N0} names, seed {Seed}; one-pass scan of {ScanLength:N0} unique names after query {Queries / 2:N0}");
        Console.WriteLine($"capacity: {options.CapacityBytes:N0} bytes = room for {typicalEntries:N0} entries of {typicalCost} bytes (payload {TypicalPayload} ± 50 + overhead {CacheEntryOverhead.For<int>()}), {new ArcCache<int, int>(options, new FrozenClock(), PayloadCost.Instance).ShardCount} shards");
        Console.WriteLine();
        Console.WriteLine("| policy | overall | before scan | first 50k after scan | 200k after scan | last 250k | time |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        Report("ARC", new ArcCache<int, int>(options, new FrozenClock(), PayloadCost.Instance), workload);
        Report("LRU", new LruCache<int, int>(options, new FrozenClock(), PayloadCost.Instance), workload);
    }

    private static void Report(string policy, ShardedCache<int, int> cache, int[] workload)
    {
        int scanStart = Queries / 2, scanEnd = scanStart + ScanLength;
        var hits = new bool[workload.Length];
        var stopwatch = Stopwatch.StartNew();
        for (int i = 0; i < workload.Length; i++)
        {
            int name = workload[i];
            if (cache.TryGet(name, out _)) hits[i] = true;
            else cache.Set(name, PayloadOf(name), TimeSpan.FromDays(1));
        }
        stopwatch.Stop();
        // Overall excludes the scan itself (it cannot hit under any policy).
        double overall = (Ratio(hits, 0, scanStart) * scanStart + Ratio(hits, scanEnd, workload.Length) * (workload.Length - scanEnd)) / Queries;
        Console.WriteLine($"| {policy} | {overall:P1} | {Ratio(hits, 0, scanStart):P1} | {Ratio(hits, scanEnd, scanEnd + 50_000):P1} | {Ratio(hits, scanEnd, scanEnd + 200_000):P1} | {Ratio(hits, workload.Length - 250_000, workload.Length):P1} | {stopwatch.ElapsedMilliseconds} ms |");
    }

    private static double Ratio(bool[] hits, int from, int to)
    {
        int count = 0;
        for (int i = from; i < to; i++) if (hits[i]) count++;
        return (double)count / (to - from);
    }

    /// <summary>Zipf queries with the scan spliced in halfway. Name ids are shuffled ranks, so popularity is not tied to key order.</summary>
    private static int[] BuildWorkload()
    {
        var random = new Random(Seed);
        var cdf = new double[Names];
        double sum = 0;
        for (int rank = 0; rank < Names; rank++) cdf[rank] = sum += 1 / Math.Pow(rank + 1, Alpha);
        for (int rank = 0; rank < Names; rank++) cdf[rank] /= sum;
        var nameOfRank = new int[Names];
        for (int i = 0; i < Names; i++) nameOfRank[i] = i;
        random.Shuffle(nameOfRank);

        var workload = new int[Queries + ScanLength];
        int w = 0;
        for (int q = 0; q < Queries; q++)
        {
            if (q == Queries / 2)
            {
                for (int s = 0; s < ScanLength; s++) workload[w++] = Names + s;
            }
            int index = Array.BinarySearch(cdf, random.NextDouble());
            workload[w++] = nameOfRank[index < 0 ? Math.Min(~index, Names - 1) : index];
        }
        return workload;
    }

    private static int PayloadOf(int name) => TypicalPayload - 50 + (int)((uint)(name * 2654435761u) % 101);

    private sealed class PayloadCost : ICacheCost<int, int>
    {
        public static readonly PayloadCost Instance = new();

        public long CostOf(int key, int value) => value;
    }

    private sealed class FrozenClock : IClock
    {
        public DateTimeOffset UtcNow { get; } = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }
}

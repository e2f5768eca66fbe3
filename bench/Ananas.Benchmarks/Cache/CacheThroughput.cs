using System.Diagnostics;

namespace Ananas.Benchmarks.Cache;

/// <summary>
/// A quick throughput check of the hit path outside BenchmarkDotNet: N threads hammer hits for a fixed
/// count, and the run reports lookups per second of wall time, CPU time per lookup (meaningful on a
/// machine shared with other work, where wall time is not) and bytes allocated per lookup.
/// </summary>
public static class CacheThroughput
{
    public static void Run(string[] args)
    {
        int threads = args.Length > 0 && int.TryParse(args[0], out int t) ? t : 2;
        int perThread = args.Length > 1 && int.TryParse(args[1], out int n) ? n : 5_000_000;
        var bench = new CacheHitBenchmarks();
        bench.Setup();
        Console.WriteLine($"{threads} threads × {perThread:N0} hits each, {Environment.ProcessorCount} processors, load average {LoadAverage()}");
        Console.WriteLine("| path | lookups/s (wall) | CPU ns/lookup | bytes allocated/lookup |");
        Console.WriteLine("|---|---|---|---|");
        Measure("ArcCache.TryGet", threads, perThread, offset => bench.ArcLoopPublic(perThread, offset));
        Measure("AnswerCache.TryAnswer", threads, perThread, offset => bench.AnswerLoopPublic(perThread, offset));
    }

    private static void Measure(string name, int threads, int perThread, Func<int, int> work)
    {
        work(0); // warm up: JIT tiers, caches
        var process = Process.GetCurrentProcess();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var cpuBefore = process.TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        var workers = new Thread[threads];
        for (int i = 0; i < threads; i++)
        {
            int offset = i * 997;
            workers[i] = new Thread(() => work(offset));
            workers[i].Start();
        }
        foreach (var worker in workers) worker.Join();
        stopwatch.Stop();
        process.Refresh();
        double cpuNs = (process.TotalProcessorTime - cpuBefore).TotalNanoseconds;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        double total = (double)threads * perThread;
        Console.WriteLine($"| {name} | {total / stopwatch.Elapsed.TotalSeconds / 1e6:F2} M | {cpuNs / total:F1} | {allocated / total:F4} (thread start included: {allocated:N0} B in all) |");
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }
}

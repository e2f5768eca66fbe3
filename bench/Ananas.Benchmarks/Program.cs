using Ananas.Benchmarks.Cache;
using BenchmarkDotNet.Running;

// Console modes that measure ratios rather than time run first; everything else goes to BenchmarkDotNet,
// with the benchmarks chosen by --filter (e.g. --filter '*Parse*'); see docs/BENCHMARKS.md.
if (args.Length > 0 && args[0] == "cache-hit-ratio")
{
    CacheHitRatio.Run(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "cache-throughput")
{
    CacheThroughput.Run(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "sandbox-budget")
{
    Ananas.Benchmarks.SandboxBudget.Run(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "odoh-throughput")
{
    Ananas.Benchmarks.Plugins.OdohThroughput.Run(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "hpke-host-vs-guest")
{
    Ananas.Benchmarks.Plugins.HpkeHostVsGuest.Run(args[1..]);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

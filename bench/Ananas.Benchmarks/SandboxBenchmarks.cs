using System.Diagnostics;
using System.Text;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Sandbox;
using Ananas.Sandbox.Data;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Benchmarks;

/// <summary>Where the test guests are (scripts/build-guests.sh builds them into .build/guests/tests).</summary>
internal static class SandboxGuests
{
    public static string PathOf(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, ".build", "guests", "tests", name + ".wasm");
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException($"{name}.wasm not found: run scripts/build-guests.sh first");
    }

    public static PluginCallContext Context()
    {
        var context = new PluginCallContext();
        context.TrySetQuery(DnsMessage.CreateQuery(4242, DnsName.Parse("www.example.com"), RRType.A).ToArray());
        context.SetClient(System.Net.IPAddress.Parse("192.0.2.77"), 24);
        return context;
    }
}

/// <summary>
/// Cost of one plugin phase per query: no plugin (the HasCallbacks check), an empty plugin, and a plugin that
/// reads the common query fields from the request region versus one hostcall per field. Each under both CPU
/// limiters (fuel and epoch interruption).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class SandboxCallBenchmarks
{
    private PluginHost _host = null!;
    private PluginHost _fieldsHost = null!;
    private PluginHost _noPlugins = null!;
    private PluginCallContext _context = null!;

    [Params(CpuLimiter.Fuel, CpuLimiter.Epoch)]
    public CpuLimiter Limiter { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _context = SandboxGuests.Context();
        _noPlugins = new PluginHost(NullLogger.Instance, new PluginHostOptions { CpuLimiter = Limiter });
        _host = new PluginHost(NullLogger.Instance, new PluginHostOptions { CpuLimiter = Limiter });
        _host.LoadAsync(new PluginDefinition { Name = "empty", ModulePath = SandboxGuests.PathOf("empty") }).GetAwaiter().GetResult();
        _host.LoadAsync(new PluginDefinition { Name = "region", ModulePath = SandboxGuests.PathOf("read_region") }).GetAwaiter().GetResult();
        _fieldsHost = new PluginHost(NullLogger.Instance, new PluginHostOptions { CpuLimiter = Limiter, FieldHostcallsForBenchmark = true });
        _fieldsHost.LoadAsync(new PluginDefinition { Name = "fields", ModulePath = SandboxGuests.PathOf("read_fields") }).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _host.Dispose();
        _fieldsHost.Dispose();
        _noPlugins.Dispose();
    }

    [Benchmark(Baseline = true, Description = "no plugin")]
    public PluginVerdict NoPlugin() => _noPlugins.InvokeAsync(PluginPhase.Request, _context).Result;

    /// <summary>Both plugins run (each continues); the empty one alone is this minus ReadRegion's own cost.</summary>
    [Benchmark(Description = "empty + read region")]
    public PluginVerdict EmptyThenRegion() => _host.InvokeAsync(PluginPhase.Request, _context).Result;

    [Benchmark(Description = "read fields by hostcall")]
    public PluginVerdict FieldHostcalls() => _fieldsHost.InvokeAsync(PluginPhase.Request, _context).Result;
}

/// <summary>The empty plugin alone (one host, one plugin), per CPU limiter.</summary>
[MemoryDiagnoser]
[MedianColumn]
public class SandboxEmptyPluginBenchmarks
{
    private PluginHost _host = null!;
    private PluginHost _region = null!;
    private PluginCallContext _context = null!;

    [Params(CpuLimiter.Fuel, CpuLimiter.Epoch)]
    public CpuLimiter Limiter { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _context = SandboxGuests.Context();
        _host = new PluginHost(NullLogger.Instance, new PluginHostOptions { CpuLimiter = Limiter });
        _host.LoadAsync(new PluginDefinition { Name = "empty", ModulePath = SandboxGuests.PathOf("empty") }).GetAwaiter().GetResult();
        _region = new PluginHost(NullLogger.Instance, new PluginHostOptions { CpuLimiter = Limiter });
        _region.LoadAsync(new PluginDefinition { Name = "region", ModulePath = SandboxGuests.PathOf("read_region") }).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _host.Dispose();
        _region.Dispose();
    }

    [Benchmark(Baseline = true, Description = "empty plugin")]
    public PluginVerdict Empty() => _host.InvokeAsync(PluginPhase.Request, _context).Result;

    [Benchmark(Description = "read region plugin")]
    public PluginVerdict Region() => _region.InvokeAsync(PluginPhase.Request, _context).Result;
}

/// <summary>Host data tables with one million domains: loading the file's bytes, and suffix lookups.</summary>
[MemoryDiagnoser]
[MedianColumn]
public class SandboxDataTableBenchmarks
{
    private byte[] _file = [];
    private DataTableContents _table = null!;
    private readonly byte[] _listed = Encoding.ASCII.GetBytes("a.b.host123456.example456.com");
    private readonly byte[] _unlisted = Encoding.ASCII.GetBytes("a.b.host123456.example457.com");

    [GlobalSetup]
    public void Setup()
    {
        var text = new StringBuilder();
        for (int i = 0; i < 1_000_000; i++) text.Append("host").Append(i).Append(".example").Append(i % 1000).Append(".com\n");
        _file = Encoding.ASCII.GetBytes(text.ToString());
        _table = DataTableContents.Parse(_file, DataTableFormat.Domains);
    }

    [Benchmark(Description = "load 1M domains")]
    public int Load() => DataTableContents.Parse(_file, DataTableFormat.Domains).Entries.Count;

    [Benchmark(Description = "match subdomain of a listed name (1M)")]
    public int MatchListed() => _table.MatchSuffix(_listed);

    [Benchmark(Description = "match unlisted name, 5 labels (1M)")]
    public int MatchUnlisted() => _table.MatchSuffix(_unlisted);
}

/// <summary>
/// Console mode `sandbox-budget`: how much wall time a runaway callback gets under each limiter with a given
/// budget (calibrates <see cref="PluginHostOptions.FuelPerMillisecond"/>). Not a BenchmarkDotNet benchmark: it
/// measures a limit, not a cost.
/// </summary>
internal static class SandboxBudget
{
    public static void Run(string[] args)
    {
        double budgetMs = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 1;
        foreach (var limiter in new[] { CpuLimiter.Fuel, CpuLimiter.Epoch })
        {
            using var host = new PluginHost(NullLogger.Instance, new PluginHostOptions { CpuLimiter = limiter });
            host.LoadAsync(new PluginDefinition
            {
                Name = "spin", ModulePath = SandboxGuests.PathOf("spin"), CpuBudget = TimeSpan.FromMilliseconds(budgetMs), QuarantineAfter = int.MaxValue,
            }).GetAwaiter().GetResult();
            var spin = new PluginCallContext();
            spin.TrySetQuery(DnsMessage.CreateQuery(1, DnsName.Parse("loop.test"), RRType.A).ToArray());
            var other = SandboxGuests.Context();
            var times = new List<double>();
            for (int i = 0; i < 50; i++)
            {
                // A continuing call first, so the runaway call finds an idle instance (creation is not timed).
                host.InvokeAsync(PluginPhase.Request, other).AsTask().GetAwaiter().GetResult();
                long start = Stopwatch.GetTimestamp();
                host.InvokeAsync(PluginPhase.Request, spin).AsTask().GetAwaiter().GetResult();
                times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            times.Sort();
            Console.WriteLine($"{limiter}: budget {budgetMs} ms -> runaway callback stopped after median {times[times.Count / 2]:F2} ms (min {times[0]:F2}, max {times[^1]:F2}), faults {host.Snapshot()[0].Faults}");
        }
    }
}

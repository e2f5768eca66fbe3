using System.Net;
using Ananas.Cli.Plugins;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Zones;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Server.Configuration;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Benchmarks.Plugins;

/// <summary>
/// The cost a plugin adds to a query, measured through the whole pipeline (<see cref="QueryPipeline.Handle"/>
/// of a UDP frame, as a listener calls it): a cache hit with no plugin, with the empty plugin (one request
/// callback that continues), with families over a 1,000,000-name malware list (the name is not listed, so the
/// hit goes on), and a listed name that families answers (0.0.0.0 with EDE 15).
/// Needs the guests built: scripts/build-guests.sh.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class PluginPipelineBenchmarks
{
    private const int ListedNames = 1_000_000;

    internal sealed class NoUpstream : IExchanger
    {
        public ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken) =>
            new(ExchangeResult.Failed(ExchangeStatus.Refused, request.Transport));
    }

    private sealed class CountingSink : IReplySink
    {
        public long Sent;
        public CancellationToken ClientGone => CancellationToken.None;
        public int MaxReplySize(int clientUdpPayload) => QueryPipeline.UdpLimit(clientUdpPayload, 1232);
        public void Send(Frame frame, ReadOnlySpan<byte> reply) => Sent++;
        public void Drop(Frame frame) { }
    }

    private readonly List<PluginManager> _managers = [];
    private string _list = "";
    private (QueryPipeline Pipeline, Frame Frame) _none, _empty, _familiesHit, _familiesBlocked;

    [GlobalSetup]
    public void Setup()
    {
        string root = RepositoryRoot();
        string guests = Path.Combine(root, ".build", "guests");
        _list = Path.Combine(Path.GetTempPath(), $"ananas-bench-malware-{Environment.ProcessId}.txt");
        using (var writer = new StreamWriter(_list))
        {
            for (int i = 0; i < ListedNames; i++) writer.WriteLine($"d{i}.example-{i % 1000}.com");
        }
        _none = Create("www.example.com", null);
        _empty = Create("www.example.com", new PluginConfig { Name = "empty", Module = Path.Combine(guests, "tests", "empty.wasm") });
        var families = new PluginConfig { Name = "families", Module = Path.Combine(guests, "families.wasm") };
        families.Data["malware"] = "domains:" + _list;
        _familiesHit = Create("www.example.com", families);
        _familiesBlocked = Create("d123456.example-456.com", families);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var manager in _managers) manager.DisposeAsync().AsTask().Wait();
        File.Delete(_list);
    }

    private (QueryPipeline, Frame) Create(string name, PluginConfig? plugin)
    {
        var clock = SystemClock.Instance;
        var recursorOptions = new RecursorOptions { RootHints = RootHints.Iana };
        var recursor = new Recursor(recursorOptions, clock, new RecordCache(clock, RecordCacheOptions.For(recursorOptions)),
            new Ananas.Resolver.Iteration.RandomServerSelector(SecureRandom.Instance), new Ananas.Resolver.Infrastructure.LameServerList(clock, recursorOptions.LameHoldDown));
        var answers = new AnswerCache(new AnswerCacheOptions { Storage = new CacheOptions { CapacityBytes = 16 << 20 } }, clock);
        var pipeline = new QueryPipeline(new PipelineOptions(), answers, recursor, new NoUpstream(), clock);
        if (plugin is not null)
        {
            var manager = new PluginManager(pipeline, NullLoggerFactory.Instance);
            manager.LoadAsync([plugin]).GetAwaiter().GetResult();
            _managers.Add(manager);
        }

        var query = DnsMessage.CreateQuery(1, DnsName.Parse(name), RRType.A);
        query.Edns!.UdpPayloadSize = 1232;
        var queryBytes = query.ToArray();
        var response = query.CreateResponse();
        response.Set(HeaderFlags.RA);
        response.Answers.Add(RecordText.Parse($"{name}. 3600 IN A 192.0.2.1", DnsName.Root));
        answers.Store(queryBytes, response.ToArray());

        var frame = Frame.CreateReusable(new byte[ushort.MaxValue], Transport.Udp, new CountingSink(), new IPEndPoint(IPAddress.Loopback, 40000));
        queryBytes.CopyTo(frame.Buffer, 0);
        frame.Length = queryBytes.Length;
        return (pipeline, frame);
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Ananas.slnx"))) return dir.FullName;
        throw new InvalidOperationException("repository root (Ananas.slnx) not found");
    }

    [Benchmark(Baseline = true, Description = "cache hit, no plugin")]
    public void HitWithoutPlugin() => _none.Pipeline.Handle(_none.Frame);

    [Benchmark(Description = "cache hit, empty plugin")]
    public void HitWithEmptyPlugin() => _empty.Pipeline.Handle(_empty.Frame);

    [Benchmark(Description = "cache hit, families (1M names, not listed)")]
    public void HitWithFamilies() => _familiesHit.Pipeline.Handle(_familiesHit.Frame);

    [Benchmark(Description = "families answers a listed name (1M names)")]
    public void BlockedByFamilies() => _familiesBlocked.Pipeline.Handle(_familiesBlocked.Frame);
}

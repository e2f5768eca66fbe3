using System.Globalization;
using System.Net;
using System.Text;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Ananas.Server.Listeners;

/// <summary>
/// Prometheus <c>GET /metrics</c> (text exposition format 0.0.4) on its own plain-HTTP endpoint (loopback by
/// default: <c>metrics.listen</c>), written from the pipeline's <see cref="PipelineCounters"/> at scrape time.
/// </summary>
public sealed class MetricsListener(IPEndPoint endPoint, QueryPipeline pipeline) : IListener
{
    private WebApplication? _app;

    public IPEndPoint LocalEndPoint { get; private set; } = new(endPoint.Address, endPoint.Port);

    public string Address => $"http://{ListenerBindException.Format(LocalEndPoint)}/metrics";

    /// <summary>Parses <c>http://ADDR:PORT</c>.</summary>
    public static IPEndPoint ParseAddress(string text)
    {
        const string scheme = "http://";
        if (!text.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || !IPEndPoint.TryParse(text[scheme.Length..].TrimEnd('/'), out var endPoint))
            throw new FormatException($"'{text}' is not http://ADDRESS:PORT (e.g. http://127.0.0.1:9153)");
        return endPoint;
    }

    public void Start()
    {
        _app = LoopbackHttpEndpoint.Start(endPoint, "metrics.listen", async context =>
        {
            if (!context.Request.Path.Equals("/metrics", StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await context.Response.WriteAsync(Render(pipeline)).ConfigureAwait(false);
        }, out var bound);
        LocalEndPoint = bound;
    }

    /// <summary>The exposition text.</summary>
    public static string Render(QueryPipeline pipeline)
    {
        var c = pipeline.Counters;
        var sb = new StringBuilder();
        sb.Append("# HELP ananas_queries_total Replies sent, by transport and rcode.\n# TYPE ananas_queries_total counter\n");
        foreach (var transport in Enum.GetValues<Transport>())
        {
            for (int rcode = 0; rcode < 16; rcode++)
            {
                long n = c.ResponseCount(transport, rcode);
                if (n == 0) continue;
                sb.Append(CultureInfo.InvariantCulture, $"ananas_queries_total{{transport=\"{transport.ToString().ToLowerInvariant()}\",rcode=\"{RcodeName(rcode)}\"}} {n}\n");
            }
        }
        Counter(sb, "ananas_frames_total", "Frames received.", c.FrameCount);
        Counter(sb, "ananas_cache_hits_total", "Answer cache hits.", c.CacheHitCount);
        Counter(sb, "ananas_cache_misses_total", "Answer cache misses (sent to the scheduler).", c.CacheMissCount);
        Counter(sb, "ananas_scheduler_shed_total", "Misses shed by the scheduler under overload.", c.ShedCount);
        Counter(sb, "ananas_dropped_total", "Frames dropped without an answer (not a query, too short, phase drop).", c.DroppedCount);
        Counter(sb, "ananas_truncated_total", "Replies truncated to fit the client's size.", c.TruncatedCount);
        Counter(sb, "ananas_client_gone_total", "Misses whose client left before the answer.", c.ClientGoneCount);
        sb.Append("# HELP ananas_in_flight Misses being resolved or queued.\n# TYPE ananas_in_flight gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_in_flight {pipeline.InFlight}\n");
        var stats = pipeline.Answers.GetStatistics();
        sb.Append("# HELP ananas_answer_cache_entries Entries in the answer cache.\n# TYPE ananas_answer_cache_entries gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_answer_cache_entries {stats.EntryCount}\n");
        sb.Append("# HELP ananas_answer_cache_bytes Bytes resident in the answer cache.\n# TYPE ananas_answer_cache_bytes gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_answer_cache_bytes {stats.ResidentBytes}\n");
        Counter(sb, "ananas_answer_cache_evictions_total", "Answer cache evictions (budget).", stats.Evictions);
        if (pipeline.QueryLog is { } queryLog)
        {
            Counter(sb, "ananas_query_log_written_total", "Query log lines written.", queryLog.Written);
            Counter(sb, "ananas_query_log_dropped_total", "Query log lines dropped because the writer fell behind.", queryLog.Dropped);
        }
        Histogram(sb, "ananas_query_duration_seconds", "Time from arrival to reply.", "hit", c.HitLatency, header: true);
        Histogram(sb, "ananas_query_duration_seconds", "", "miss", c.MissLatency, header: false);
        return sb.ToString();
    }

    private static void Counter(StringBuilder sb, string name, string help, long value) =>
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");

    private static void Histogram(StringBuilder sb, string name, string help, string cache, LatencyHistogram histogram, bool header)
    {
        if (header) sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} histogram\n");
        var counts = histogram.Snapshot();
        long cumulative = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            cumulative += counts[i];
            string le = i < LatencyHistogram.Bounds.Length ? LatencyHistogram.Bounds[i].ToString("R", CultureInfo.InvariantCulture) : "+Inf";
            sb.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{cache=\"{cache}\",le=\"{le}\"}} {cumulative}\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"{name}_sum{{cache=\"{cache}\"}} {histogram.SumSeconds.ToString("R", CultureInfo.InvariantCulture)}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{name}_count{{cache=\"{cache}\"}} {cumulative}\n");
    }

    private static string RcodeName(int rcode) => rcode switch
    {
        0 => "NOERROR", 1 => "FORMERR", 2 => "SERVFAIL", 3 => "NXDOMAIN", 4 => "NOTIMP", 5 => "REFUSED",
        _ => rcode.ToString(CultureInfo.InvariantCulture),
    };

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await app.StopAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        var app = _app;
        _app = null;
        if (app is null) return;
        await StopAsync2(app).ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task StopAsync2(WebApplication app)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

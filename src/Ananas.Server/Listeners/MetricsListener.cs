using System.Globalization;
using System.Net;
using System.Text;
using Ananas.Resolver.Conductor;
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
/// default: <c>metrics.listen</c>), written from the pipeline's <see cref="PipelineCounters"/> and the conductor's
/// <see cref="ConductorMetrics"/> at scrape time.
/// </summary>
public sealed class MetricsListener(IPEndPoint endPoint, QueryPipeline pipeline, Func<Hosting.IPluginControl?>? plugins = null, ConductorMetrics? upstream = null)
    : IListener
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
            await context.Response.WriteAsync(Render(pipeline, plugins?.Invoke(), upstream)).ConfigureAwait(false);
        }, out var bound);
        LocalEndPoint = bound;
    }

    /// <summary>The exposition text.</summary>
    public static string Render(QueryPipeline pipeline, Hosting.IPluginControl? plugins = null, ConductorMetrics? upstream = null)
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
        sb.Append("# HELP ananas_replies_ede_total Replies built by the resolver or a phase handler that carry an Extended DNS Error (RFC 8914), by code.\n");
        sb.Append("# TYPE ananas_replies_ede_total counter\n");
        for (int code = 0; code < 64; code++)
        {
            long n = c.EdeCount(code);
            if (n > 0) sb.Append(CultureInfo.InvariantCulture, $"ananas_replies_ede_total{{ede=\"{code}\"}} {n}\n");
        }
        Counter(sb, "ananas_frames_total", "Frames received.", c.FrameCount);
        Counter(sb, "ananas_cache_hits_total", "Answer cache hits.", c.CacheHitCount);
        Counter(sb, "ananas_cache_misses_total", "Answer cache misses (sent to the scheduler).", c.CacheMissCount);
        Counter(sb, "ananas_scheduler_shed_total", "Misses shed by the scheduler under overload.", c.ShedCount);
        Counter(sb, "ananas_dropped_total", "Frames dropped without an answer (not a query, too short, phase drop).", c.DroppedCount);
        Counter(sb, "ananas_truncated_total", "Replies truncated to fit the client's size.", c.TruncatedCount);
        Counter(sb, "ananas_client_gone_total", "Misses whose client left before the answer.", c.ClientGoneCount);
        Counter(sb, "ananas_cache_referrals_total", "Referrals from the cache sent to queries without RD from access.snoop clients.", c.CacheReferralCount);
        sb.Append("# HELP ananas_scheduler_queued Misses waiting in the scheduler's queues.\n# TYPE ananas_scheduler_queued gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_scheduler_queued {pipeline.Scheduler?.Queued ?? 0}\n");
        Counter(sb, "ananas_rrl_dropped_total", "UDP responses dropped by response rate limiting.", c.RrlDroppedCount);
        Counter(sb, "ananas_rrl_slipped_total", "UDP responses rate limited and sent truncated (TC=1) or as BADCOOKIE instead.", c.RrlSlippedCount);
        Counter(sb, "ananas_rrl_evictions_total", "Rate-limit buckets of live keys reused for another key (rrl.table-size too small for the traffic).", pipeline.RateLimiter?.Evictions ?? 0);
        Counter(sb, "ananas_badcookie_total", "BADCOOKIE responses (a rate-limited client with a missing or stale server cookie).", c.BadCookieCount);
        sb.Append("# HELP ananas_in_flight Misses being resolved or queued.\n# TYPE ananas_in_flight gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_in_flight {pipeline.InFlight}\n");
        // A pipeline with an answer source (the authoritative role) has no answer cache.
        if (pipeline.AnswerSource is null)
        {
            var stats = pipeline.Answers.GetStatistics();
            sb.Append("# HELP ananas_answer_cache_entries Entries in the answer cache.\n# TYPE ananas_answer_cache_entries gauge\n");
            sb.Append(CultureInfo.InvariantCulture, $"ananas_answer_cache_entries {stats.EntryCount}\n");
            sb.Append("# HELP ananas_answer_cache_bytes Bytes resident in the answer cache.\n# TYPE ananas_answer_cache_bytes gauge\n");
            sb.Append(CultureInfo.InvariantCulture, $"ananas_answer_cache_bytes {stats.ResidentBytes}\n");
            Counter(sb, "ananas_answer_cache_evictions_total", "Answer cache evictions (budget).", stats.Evictions);
        }
        if (pipeline.QueryLog is { } queryLog)
        {
            Counter(sb, "ananas_query_log_written_total", "Query log lines written.", queryLog.Written);
            Counter(sb, "ananas_query_log_dropped_total", "Query log lines dropped because the writer fell behind.", queryLog.Dropped);
        }
        if (pipeline.Shadow is { } shadow) RenderShadow(sb, shadow);
        Histogram(sb, "ananas_query_duration_seconds", "Time from arrival to reply.", "hit", c.HitLatency, header: true);
        Histogram(sb, "ananas_query_duration_seconds", "", "miss", c.MissLatency, header: false);
        if (upstream is not null) RenderUpstream(sb, upstream);
        pipeline.AnswerSource?.AppendMetrics(sb);
        pipeline.Forwarder?.AppendMetrics(sb);
        if (plugins is not null) RenderPlugins(sb, c, plugins.List());
        RenderRuntime(sb);
        if (pipeline.WarmUp is { } warmUp)
        {
            sb.Append("# HELP ananas_warm_up_seconds How long the start-up warm-up ran (resolver.warm-up).\n# TYPE ananas_warm_up_seconds gauge\n");
            sb.Append(CultureInfo.InvariantCulture, $"ananas_warm_up_seconds {warmUp.Elapsed.TotalSeconds.ToString("R", CultureInfo.InvariantCulture)}\n");
            sb.Append("# HELP ananas_warm_up_queries Scripted queries the start-up warm-up answered in-process.\n# TYPE ananas_warm_up_queries gauge\n");
            sb.Append(CultureInfo.InvariantCulture, $"ananas_warm_up_queries {warmUp.Queries}\n");
        }
        return sb.ToString();
    }

    /// <summary>
    /// The runtime's garbage collector: a pause stops every receive thread, so collections and their pause time
    /// are what a latency tail is checked against (and bytes allocated, which a hot path should not move).
    /// </summary>
    private static void RenderRuntime(StringBuilder sb)
    {
        sb.Append("# HELP ananas_gc_collections_total Garbage collections that included each generation (a gen 2 collection counts under 0 and 1 too).\n# TYPE ananas_gc_collections_total counter\n");
        for (int generation = 0; generation <= GC.MaxGeneration; generation++)
            sb.Append(CultureInfo.InvariantCulture, $"ananas_gc_collections_total{{generation=\"{generation}\"}} {GC.CollectionCount(generation)}\n");
        sb.Append("# HELP ananas_gc_pause_seconds_total Time the runtime was paused for garbage collection.\n# TYPE ananas_gc_pause_seconds_total counter\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_gc_pause_seconds_total {GC.GetTotalPauseDuration().TotalSeconds.ToString("R", CultureInfo.InvariantCulture)}\n");
        // Precise: the cheap figure leaves out the bytes in the threads' open allocation contexts, so it lags what
        // was allocated (a scrape every few seconds affords the precise one).
        Counter(sb, "ananas_gc_allocated_bytes_total", "Managed bytes allocated by every thread.", GC.GetTotalAllocatedBytes(precise: true));
        sb.Append("# HELP ananas_gc_heap_bytes Managed heap size after the last collection.\n# TYPE ananas_gc_heap_bytes gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_gc_heap_bytes {GC.GetGCMemoryInfo().HeapSizeBytes}\n");
    }

    /// <summary>Live shadow mode: samples taken, dropped and skipped, and how their comparisons ended.</summary>
    private static void RenderShadow(StringBuilder sb, Shadow.ShadowMirror shadow)
    {
        Counter(sb, "ananas_shadow_sampled_total", "Replies mirrored to the reference resolver.", shadow.Tap.Sampled);
        Counter(sb, "ananas_shadow_dropped_total", "Samples dropped because the mirror's queue was full.", shadow.Tap.Dropped);
        Counter(sb, "ananas_shadow_skipped_total", "Samples not compared (truncated or refused by us, unparseable).", shadow.Skipped);
        Counter(sb, "ananas_shadow_agreed_total", "Samples the reference answered the same way.", shadow.Agreed);
        Counter(sb, "ananas_shadow_unstable_total", "Differing samples dropped because the reference changed its answer when asked again.", shadow.Unstable);
        Counter(sb, "ananas_shadow_different_total", "Samples with a stable difference.", shadow.Different);
        sb.Append("# HELP ananas_shadow_differences_total Stable differences by field (a sample can differ in several).\n# TYPE ananas_shadow_differences_total counter\n");
        foreach (var field in Shadow.AnswerComparison.Fields)
            sb.Append(CultureInfo.InvariantCulture, $"ananas_shadow_differences_total{{field=\"{Shadow.AnswerComparison.Name(field)}\"}} {shadow.ByField(field)}\n");
    }

    /// <summary>The conductor's counters over all upstream servers, and their RTT histogram.</summary>
    private static void RenderUpstream(StringBuilder sb, ConductorMetrics upstream)
    {
        var t = upstream.Total;
        Counter(sb, "ananas_upstream_queries_total", "Upstream queries sent (UDP packets and TCP/TLS framed queries).", t.Queries);
        Counter(sb, "ananas_upstream_responses_total", "Upstream responses accepted.", t.Responses);
        Counter(sb, "ananas_upstream_timeouts_total", "Upstream queries that timed out.", t.Timeouts);
        Counter(sb, "ananas_upstream_network_errors_total", "Upstream exchanges that failed with a network error.", t.NetworkErrors);
        Counter(sb, "ananas_upstream_malformed_total", "Upstream exchanges where only unparseable data came back.", t.Malformed);
        Counter(sb, "ananas_upstream_tcp_fallbacks_total", "Truncated UDP answers retried over TCP.", t.TcpFallbacks);
        Counter(sb, "ananas_upstream_spoof_drops_total", "Datagrams dropped: source, ID or question did not match.", t.SpoofDrops);
        Counter(sb, "ananas_upstream_edns_fallbacks_total", "Queries retried without EDNS after FORMERR or NOTIMP.", t.EdnsFallbacks);
        Counter(sb, "ananas_upstream_case_mismatches_total", "Answers dropped because the 0x20 letter case was not echoed.", t.CaseMismatches);
        Counter(sb, "ananas_upstream_held_down_total", "Requests failed at once because the server was held down.", t.HeldDownSkips);
        Counter(sb, "ananas_upstream_tcp_connections_total", "TCP connections opened upstream.", t.TcpConnections);
        Counter(sb, "ananas_upstream_tls_connections_total", "TLS connections opened upstream.", t.TlsConnections);
        Counter(sb, "ananas_upstream_tls_failures_total", "TLS handshakes or certificate checks that failed.", t.TlsFailures);
        Counter(sb, "ananas_upstream_dedup_hits_total", "Requests answered by another request's identical in-flight query.", upstream.DedupHits);
        Counter(sb, "ananas_upstream_dedup_overflows_total", "Requests refused because the in-flight table or a wait queue was full.", upstream.DedupOverflows);
        sb.Append("# HELP ananas_upstream_rtt_seconds Round-trip time of upstream exchanges.\n# TYPE ananas_upstream_rtt_seconds histogram\n");
        HistogramSeries(sb, "ananas_upstream_rtt_seconds", "", t.RttBuckets(), UpstreamRttBoundsSeconds, t.RttSum.TotalSeconds);
        sb.Append("# HELP ananas_upstream_servers Upstream servers tracked.\n# TYPE ananas_upstream_servers gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_upstream_servers {upstream.Upstreams().Count}\n");
    }

    /// <summary>Plugins: calls, faults, quarantines, time, instances, and the counters guests keep (counter_add).</summary>
    private static void RenderPlugins(StringBuilder sb, PipelineCounters c, IReadOnlyList<Hosting.PluginReport> reports)
    {
        Counter(sb, "ananas_phase_answers_total", "Queries answered by phase handlers (plugins).", c.PhaseAnswerCount);
        Counter(sb, "ananas_phase_faults_total", "Phase handler calls that threw (the query carried on).", c.PhaseFaultCount);
        Counter(sb, "ananas_upstream_refused_by_phase_total", "Upstream sub-requests refused by phase handlers.", c.UpstreamRefusedCount);
        PluginSeries(sb, "ananas_plugin_calls_total", "counter", "Callback invocations.", reports, r => r.Calls);
        PluginSeries(sb, "ananas_plugin_faults_total", "counter", "Callbacks that faulted (trap, budget, memory, ABI misuse).", reports, r => r.Faults);
        PluginSeries(sb, "ananas_plugin_quarantines_total", "counter", "Times the plugin was quarantined after faults in a row.", reports, r => r.Quarantines);
        PluginSeries(sb, "ananas_plugin_quarantined", "gauge", "1 while the plugin is quarantined (skipped until reloaded).", reports, r => r.Quarantined ? 1 : 0);
        PluginSeries(sb, "ananas_plugin_instances", "gauge", "Instances in the current version's pool.", reports, r => r.Instances);
        PluginSeries(sb, "ananas_plugin_version", "gauge", "The current version number (incremented by each reload).", reports, r => r.Version);
        sb.Append("# HELP ananas_plugin_time_seconds_total Time spent in callbacks.\n# TYPE ananas_plugin_time_seconds_total counter\n");
        foreach (var r in reports)
            sb.Append(CultureInfo.InvariantCulture, $"ananas_plugin_time_seconds_total{{plugin=\"{r.Name}\"}} {r.TotalSeconds.ToString("R", CultureInfo.InvariantCulture)}\n");
        sb.Append("# HELP ananas_plugin_counter_total Counters kept by plugins (counter_add).\n# TYPE ananas_plugin_counter_total counter\n");
        foreach (var r in reports)
            foreach (var (name, value) in r.Counters)
                sb.Append(CultureInfo.InvariantCulture, $"ananas_plugin_counter_total{{plugin=\"{r.Name}\",name=\"{EscapeLabel(name)}\"}} {value}\n");
    }

    private static void PluginSeries(StringBuilder sb, string name, string type, string help, IReadOnlyList<Hosting.PluginReport> reports, Func<Hosting.PluginReport, long> value)
    {
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");
        foreach (var r in reports) sb.Append(CultureInfo.InvariantCulture, $"{name}{{plugin=\"{r.Name}\"}} {value(r)}\n");
    }

    /// <summary>Guest-chosen counter names go into a label value: escape as the exposition format requires.</summary>
    private static string EscapeLabel(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    public static void Counter(StringBuilder sb, string name, string help, long value) =>
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");

    private static void Histogram(StringBuilder sb, string name, string help, string cache, LatencyHistogram histogram, bool header)
    {
        if (header) sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} histogram\n");
        HistogramSeries(sb, name, $"cache=\"{cache}\"", histogram.Snapshot(), LatencyHistogram.Bounds, histogram.SumSeconds);
    }

    private static readonly double[] UpstreamRttBoundsSeconds = Array.ConvertAll(UpstreamMetrics.RttBucketBoundsMs, ms => ms / 1000);

    /// <summary>One histogram series: cumulative buckets (one per bound, then +Inf), sum and count, with <paramref name="labels"/> (or none).</summary>
    public static void HistogramSeries(StringBuilder sb, string name, string labels, long[] counts, double[] boundsSeconds, double sumSeconds)
    {
        string prefix = labels.Length == 0 ? "" : labels + ",";
        string own = labels.Length == 0 ? "" : "{" + labels + "}";
        long cumulative = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            cumulative += counts[i];
            string le = i < boundsSeconds.Length ? boundsSeconds[i].ToString("R", CultureInfo.InvariantCulture) : "+Inf";
            sb.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{prefix}le=\"{le}\"}} {cumulative}\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"{name}_sum{own} {sumSeconds.ToString("R", CultureInfo.InvariantCulture)}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{name}_count{own} {cumulative}\n");
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

using System.Net;
using System.Text;
using System.Text.Json;
using Ananas.Dns;
using Ananas.Pipeline.Changes;
using Ananas.Pipeline.Database;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Ananas.Pipeline.Api;

/// <summary>Bounds and address of <c>ananas api serve</c>.</summary>
public sealed record ApiOptions(IPEndPoint Listen)
{
    /// <summary>The largest request body (JSON or an uploaded zone file); larger is 413 before anything is read into memory.</summary>
    public long MaxBodyBytes { get; init; } = 4 << 20;

    public const int DefaultPerPage = 100;

    /// <summary>The largest page a list returns.</summary>
    public const int MaxPerPage = 5000;

    /// <summary>How long a token the database confirmed is trusted without asking again (<c>api.token-cache</c>; zero: every request asks).</summary>
    public TimeSpan TokenCacheLifetime { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// The zone API (<c>ananas api serve</c>): zones and DNS records in the style of a v4 REST API, every response a
/// <c>{success, errors, messages, result}</c> envelope, every request but <c>/metrics</c> authenticated by an API
/// token (<c>Authorization: Bearer</c>; only its SHA-256 is stored) limited to one zone or valid for all. Routes
/// are in ApiServer.Routes.cs; docs/PIPELINE.md is the reference.
/// </summary>
public sealed partial class ApiServer(CentralDatabase database, ApiOptions options, OutboxPublisher? publisher = null) : IAsyncDisposable
{
    private const string TokenItem = "ananas.token";
    private WebApplication? _app;
    private long _requests;
    private long _clientErrors;
    private long _authFailures;
    private readonly TokenCache _tokens = new(options.TokenCacheLifetime);

    // Zone id → zone, for the scope check of writes (an id never names another zone; the write itself locks the row
    // and answers 404 if the zone is gone). Bounded: emptied when full.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ZoneRow> _zones = new(StringComparer.Ordinal);
    private const int MaxCachedZones = 100_000;

    public IPEndPoint LocalEndPoint { get; private set; } = options.Listen;

    public string BaseAddress => $"http://{(LocalEndPoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{LocalEndPoint.Address}]" : LocalEndPoint.Address)}:{LocalEndPoint.Port}";

    /// <summary>Binds and starts serving; an address in use is an <see cref="IOException"/> naming it.</summary>
    public async Task StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddRoutingCore();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(o =>
        {
            o.AddServerHeader = false;
            o.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            o.Limits.MaxRequestHeadersTotalSize = 32 << 10;
            o.Listen(options.Listen);
        });
        var app = builder.Build();
        app.UseRouting();
        app.Use(AuthenticateAsync);
        MapRoutes(app);
        try
        {
            await app.StartAsync();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            await app.DisposeAsync();
            throw new IOException($"api.listen: cannot listen on {options.Listen}: {e.Message}", e);
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        LocalEndPoint = new IPEndPoint(options.Listen.Address, address is null ? options.Listen.Port : new Uri(address).Port);
        _app = app;
    }

    /// <summary>Every request but GET /metrics needs a known token; which zones it may touch is checked per route.</summary>
    private async Task AuthenticateAsync(HttpContext context, RequestDelegate next)
    {
        Interlocked.Increment(ref _requests);
        try
        {
            await AuthenticatedAsync(context, next);
        }
        catch (System.Data.Common.DbException e) when (!context.Response.HasStarted)
        {
            // The database is down or refused the statement: nothing was committed; the client may retry.
            await FailAsync(context, new ApiFailure(503, ErrorCodes.Unavailable, $"the database is unavailable: {e.Message}"));
        }
    }

    private async Task AuthenticatedAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Path.Equals("/metrics", StringComparison.Ordinal))
        {
            await next(context);
            return;
        }
        string header = context.Request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        TokenRow? token = null;
        if (header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) && header.Length - bearer.Length is > 0 and <= 256)
            token = await _tokens.FindAsync(header[bearer.Length..].Trim(), database.FindTokenAsync, context.RequestAborted);
        if (token is null)
        {
            Interlocked.Increment(ref _authFailures);
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await FailAsync(context, new ApiFailure(401, ErrorCodes.NotAuthenticated,
                header.Length == 0 ? "an API token is required: Authorization: Bearer TOKEN (ananas api token create)" : "the API token is not valid"));
            return;
        }
        context.Items[TokenItem] = token;
        await next(context);
    }

    private static TokenRow Token(HttpContext context) => (TokenRow)context.Items[TokenItem]!;

    /// <summary>Null when the token may act on <paramref name="zone"/>, else the 403.</summary>
    private ApiFailure? Forbidden(HttpContext context, DnsName zone)
    {
        var scope = Token(context).Zone;
        if (scope is null || scope == zone) return null;
        Interlocked.Increment(ref _authFailures);
        return new ApiFailure(403, ErrorCodes.NotPermitted, $"this API token is limited to the zone {Records.RecordReader.Show(scope)}");
    }

    private static async Task WriteAsync(HttpContext context, int status, Envelope envelope)
    {
        // Serialised whole first (a page is bounded by MaxPerPage): with its Content-Length the response goes out in one
        // write, where streaming it was chunked and took a second write for the closing chunk.
        var body = JsonSerializer.SerializeToUtf8Bytes(envelope, ApiJson.Options);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    private Task FailAsync(HttpContext context, ApiFailure failure)
    {
        if (failure.Status is >= 400 and < 500) Interlocked.Increment(ref _clientErrors);
        return WriteAsync(context, failure.Status, new Envelope(false, failure.Errors, [], null));
    }

    private static Task OkAsync(HttpContext context, object? result, ResultInfo? info = null, int status = 200) =>
        WriteAsync(context, status, new Envelope(true, [], [], result, info));

    /// <summary>
    /// The request body, at most <see cref="ApiOptions.MaxBodyBytes"/>: a larger one (by its Content-Length or as
    /// it arrives) is a 413 failure and is not read further.
    /// </summary>
    private async Task<(byte[]? Body, ApiFailure? Failure)> ReadBodyAsync(HttpContext context)
    {
        var tooLarge = new ApiFailure(413, ErrorCodes.BodyTooLarge, $"the request body is larger than {options.MaxBodyBytes} bytes (api.max-body-size)");
        if (context.Request.ContentLength > options.MaxBodyBytes) return (null, tooLarge);
        // A declared length is read straight into the result; otherwise in pooled chunks (no 16 KiB array per request).
        if (context.Request.ContentLength is long declared)
        {
            var exact = new byte[declared];
            int got = 0;
            try
            {
                while (got < exact.Length)
                {
                    int n = await context.Request.Body.ReadAsync(exact.AsMemory(got), context.RequestAborted);
                    if (n == 0) break;
                    got += n;
                }
            }
            catch (BadHttpRequestException e) when (e.StatusCode == 413)
            {
                return (null, tooLarge);
            }
            return (got == exact.Length ? exact : exact[..got], null);
        }
        using var buffer = new MemoryStream();
        var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(16384);
        try
        {
            while (true)
            {
                int n = await context.Request.Body.ReadAsync(chunk, context.RequestAborted);
                if (n == 0) break;
                if (buffer.Length + n > options.MaxBodyBytes) return (null, tooLarge);
                buffer.Write(chunk, 0, n);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413)
        {
            return (null, tooLarge);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }
        return (buffer.ToArray(), null);
    }

    /// <summary>The body as a <typeparamref name="T"/>, or the 400/413 failure saying why not.</summary>
    private async Task<(T? Value, ApiFailure? Failure)> ReadJsonAsync<T>(HttpContext context) where T : class
    {
        var (body, failure) = await ReadBodyAsync(context);
        if (failure is not null) return (null, failure);
        try
        {
            var value = JsonSerializer.Deserialize<T>(body!, ApiJson.Options);
            return value is null ? (null, new ApiFailure(400, ErrorCodes.InvalidRequest, "the body must be a JSON object")) : (value, null);
        }
        catch (JsonException e)
        {
            return (null, new ApiFailure(400, ErrorCodes.InvalidRequest, $"the body is not the JSON expected: {e.Message}", e.Path?.TrimStart('$', '.')));
        }
    }

    /// <summary><c>page</c> (from 1) and <c>per_page</c> (1–<see cref="ApiOptions.MaxPerPage"/>).</summary>
    private static (int Page, int PerPage, ApiFailure? Failure) Paging(HttpContext context)
    {
        int page = 1, perPage = ApiOptions.DefaultPerPage;
        var query = context.Request.Query;
        if (query.TryGetValue("page", out var p) && (!int.TryParse(p, out page) || page < 1 || page > 1_000_000))
            return (0, 0, new ApiFailure(400, ErrorCodes.InvalidRequest, $"page must be a number from 1 to 1000000", "page"));
        if (query.TryGetValue("per_page", out var pp) && (!int.TryParse(pp, out perPage) || perPage < 1 || perPage > ApiOptions.MaxPerPage))
            return (0, 0, new ApiFailure(400, ErrorCodes.InvalidRequest, $"per_page must be a number from 1 to {ApiOptions.MaxPerPage}", "per_page"));
        return (page, perPage, null);
    }

    private static ResultInfo Info(int page, int perPage, int count, int total) =>
        new(page, perPage, count, total, total == 0 ? 0 : (total + perPage - 1) / perPage);

    private async Task MetricsAsync(HttpContext context)
    {
        var text = new StringBuilder();
        void Metric(string name, string type, string help, double value)
        {
            text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            text.Append(name).Append(' ').Append(value.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }
        void Histogram(string name, string help, LatencyHistogram histogram)
        {
            text.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(" histogram\n");
            MetricsListener.HistogramSeries(text, name, "", histogram.Snapshot(), histogram.BoundsSeconds, histogram.SumSeconds);
        }
        var (committed, published, waiting) = await database.OutboxStateAsync(context.RequestAborted);
        Metric("ananas_api_requests_total", "counter", "API requests received.", Interlocked.Read(ref _requests));
        Metric("ananas_api_client_errors_total", "counter", "API requests answered with a 4xx error.", Interlocked.Read(ref _clientErrors));
        Metric("ananas_api_auth_failures_total", "counter", "API requests with a missing, unknown or out-of-scope token.", Interlocked.Read(ref _authFailures));
        Metric("ananas_pipeline_committed_sequence", "gauge", "The last outbox sequence committed.", committed);
        Metric("ananas_pipeline_published_sequence", "gauge", "The outbox sequence published through, in order.", published);
        Metric("ananas_pipeline_outbox_waiting", "gauge", "Outbox entries not yet published.", waiting);
        if (publisher is not null)
        {
            Metric("ananas_pipeline_published_total", "counter", "Changes published by this process.", publisher.PublishedCount);
            Metric("ananas_pipeline_publish_failures_total", "counter", "Failed attempts to publish (each retried).", publisher.Failures);
            Metric("ananas_pipeline_publish_batches_total", "counter", "Batches read from the outbox and sent (changes per batch: published_total / this).", publisher.Batches);
            Histogram("ananas_pipeline_change_read_delay_seconds", "From a change's commit to the publisher reading it from the outbox.", publisher.ReadDelay);
            Histogram("ananas_pipeline_change_publish_delay_seconds", "From a change's commit to the publish target holding it (JetStream's acknowledgement).", publisher.PublishDelay);
        }
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await context.Response.WriteAsync(text.ToString(), context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }
}

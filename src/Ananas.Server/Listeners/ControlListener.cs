using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Ananas.Dns;
using Ananas.Resolver.Cache;
using Ananas.Server.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Server.Listeners;

/// <summary>
/// The control API on its own plain-HTTP loopback endpoint (<c>control.listen</c>), JSON in and out:
/// <c>POST /cache/purge?name=N[&amp;type=T][&amp;subtree=1]</c>, <c>GET /cache/stats</c>, <c>GET /status</c>, <c>GET /cluster</c> (cache sharing: ring and peers), and
/// <c>POST /reload</c> (read the configuration again, as SIGHUP does), <c>GET /plugins</c> and
/// <c>POST /plugins/reload?name=N</c>. Every request carries <c>Authorization: Bearer TOKEN</c> (<see cref="ControlToken"/>;
/// 401 without it), and a request a browser sends for another site (an <c>Origin</c> or <c>Host</c> that is not this
/// endpoint: CSRF, DNS rebinding) is refused with 403 before the token is even looked at. The web console's page and
/// scripts (<see cref="WebConsole.ConsoleEndpoints"/>) load without the token; the data they read needs it.
/// </summary>
public sealed class ControlListener(IPEndPoint endPoint, string token, QueryPipeline pipeline, IRecordCache records, Func<IEnumerable<string>>? listeners = null,
    Func<Task<Hosting.ReloadResult>>? reload = null, Func<Hosting.IPluginControl?>? plugins = null, ILogger? logger = null,
    WebConsole.ConsoleEndpoints? console = null) : IListener
{
    /// <summary>Messages (config errors quote keys and values) stay readable: no \u0027 for an apostrophe. Not embedded in HTML.</summary>
    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly CachePurger _purger = new(records, pipeline.Answers);
    private WebApplication? _app;

    public IPEndPoint LocalEndPoint { get; private set; } = new(endPoint.Address, endPoint.Port);

    public string Address => $"http://{ListenerBindException.Format(LocalEndPoint)} (control)";

    public void Start()
    {
        _app = LoopbackHttpEndpoint.Start(endPoint, "control.listen", HandleAsync, out var bound);
        LocalEndPoint = bound;
        if (!IPAddress.IsLoopback(bound.Address))
            (logger ?? NullLogger.Instance).LogWarning(ServerEvents.ControlExposed,
                "the control API listens on {Address}, outside loopback: anyone on that network who learns the token can purge the cache and reload the server, over plain HTTP that shows the token to anyone watching. Keep control.listen on 127.0.0.1 or ::1 (reach it through SSH)",
                Address);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (!FromThisSite(request))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }
        var consolePath = request.Path.Value ?? "";
        if (console is not null && WebConsole.ConsoleEndpoints.IsPage(consolePath))
        {
            await console.TryServeAsync(context).ConfigureAwait(false);
            return;
        }
        if (!Authorized(request))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"ananas-control\"";
            return;
        }
        var path = request.Path.Value;
        if (console is not null && WebConsole.ConsoleEndpoints.Owns(path ?? "") && await console.TryServeAsync(context).ConfigureAwait(false)) return;
        object? body;
        int status = StatusCodes.Status200OK;
        if (path == "/cache/purge")
        {
            if (!HttpMethods.IsPost(request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                return;
            }
            (status, body) = Purge(request.Query);
        }
        else if (path == "/reload" && reload is not null)
        {
            if (!HttpMethods.IsPost(request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                return;
            }
            var result = await reload().ConfigureAwait(false);
            // 422: the new configuration was rejected (the running one stays); the body says why.
            status = result.Ok ? StatusCodes.Status200OK : StatusCodes.Status422UnprocessableEntity;
            body = new
            {
                ok = result.Ok,
                error = result.Error,
                applied = result.Applied,
                restartNeeded = result.RestartNeeded,
                listenersAdded = result.ListenersAdded,
                listenersRemoved = result.ListenersRemoved,
                listenerErrors = result.ListenerErrors,
            };
        }
        else if (path == "/cache/stats" && HttpMethods.IsGet(request.Method))
        {
            body = new { answers = pipeline.Answers.GetStatistics(), records = StatisticsOf(records) };
        }
        else if (path == "/status" && HttpMethods.IsGet(request.Method))
        {
            var c = pipeline.Counters;
            body = new
            {
                uptimeSeconds = (long)Stopwatch.GetElapsedTime(_started).TotalSeconds,
                listeners = listeners?.Invoke().ToArray() ?? [],
                inFlight = pipeline.InFlight,
                frames = c.FrameCount,
                cacheHits = c.CacheHitCount,
                cacheMisses = c.CacheMissCount,
                shed = c.ShedCount,
                servFail = c.ServFailCount,
            };
        }
        else if (path == "/cluster" && HttpMethods.IsGet(request.Method))
        {
            if (pipeline.Forwarder is { } cluster) body = cluster.Status();
            else (status, body) = (StatusCodes.Status404NotFound, new { error = "cache sharing is off (no [cluster] peers or nats-url)" });
        }
        else if (path is "/plugins" or "/plugins/reload")
        {
            if (path == "/plugins/reload" && !HttpMethods.IsPost(request.Method) || path == "/plugins" && !HttpMethods.IsGet(request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                return;
            }
            (status, body) = await PluginsAsync(path, request.Query, context.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(body, Json)).ConfigureAwait(false);
    }

    /// <summary>
    /// The Host names this endpoint (its address, or localhost with its port), and an Origin, when a browser sent one,
    /// is this endpoint itself: a page elsewhere, or a rebound name pointing here, is refused.
    /// </summary>
    private bool FromThisSite(HttpRequest request)
    {
        if (!IsThisEndpoint(request.Host.Value)) return false;
        var origin = request.Headers.Origin;
        if (origin.Count == 0) return true;
        if (origin.Count > 1 || !Uri.TryCreate(origin.ToString(), UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp) return false;
        return IsThisEndpoint(uri.Authority);
    }

    private bool IsThisEndpoint(string? authority)
    {
        if (string.IsNullOrEmpty(authority)) return false;
        int colon = authority.LastIndexOf(':');
        if (colon < 0 || authority.EndsWith(']') || !int.TryParse(authority.AsSpan(colon + 1), out int port) || port != LocalEndPoint.Port) return false;
        var host = authority[..colon].Trim('[', ']');
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return IPAddress.IsLoopback(LocalEndPoint.Address);
        return IPAddress.TryParse(host, out var address) && (address.Equals(LocalEndPoint.Address) || (LocalEndPoint.Address.Equals(IPAddress.Any) || LocalEndPoint.Address.Equals(IPAddress.IPv6Any)));
    }

    private bool Authorized(HttpRequest request)
    {
        var header = request.Headers.Authorization;
        if (header.Count != 1) return false;
        var value = header[0].AsSpan();
        const string scheme = "Bearer ";
        return value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && ControlToken.Matches(token, value[scheme.Length..].Trim());
    }

    private (int, object) Purge(IQueryCollection query)
    {
        if (!DnsName.TryParse(query["name"].ToString(), null, out var name, out var error))
            return (StatusCodes.Status400BadRequest, new { error = $"invalid name: {error}" });
        var typeText = query["type"].ToString();
        bool subtree = query["subtree"].ToString() is "1" or "true";
        PurgeResult result;
        if (typeText.Length > 0)
        {
            if (subtree) return (StatusCodes.Status400BadRequest, new { error = "type and subtree cannot be combined" });
            RRType type;
            if (ushort.TryParse(typeText, out var number)) type = (RRType)number;
            else if (!RRTypeText.TryParse(typeText.ToUpperInvariant(), out type)) return (StatusCodes.Status400BadRequest, new { error = $"invalid type: {typeText}" });
            result = _purger.Purge(name, type);
        }
        else
        {
            result = subtree ? _purger.PurgeSubtree(name) : _purger.Purge(name);
        }
        return (StatusCodes.Status200OK, new { records = result.Records, answers = result.Answers });
    }

    /// <summary><c>GET /plugins</c> lists; <c>POST /plugins/reload?name=N</c> hot-swaps one plugin.</summary>
    private async Task<(int, object)> PluginsAsync(string path, IQueryCollection query, CancellationToken cancellationToken)
    {
        if (plugins?.Invoke() is not { } control) return (StatusCodes.Status200OK, new { plugins = Array.Empty<object>() });
        if (path == "/plugins") return (StatusCodes.Status200OK, new { plugins = control.List().Select(Describe).ToArray() });
        string name = query["name"].ToString();
        if (name.Length == 0) return (StatusCodes.Status400BadRequest, new { error = "name is missing (POST /plugins/reload?name=NAME)" });
        try
        {
            return (StatusCodes.Status200OK, Describe(await control.ReloadAsync(name, cancellationToken).ConfigureAwait(false)));
        }
        catch (KeyNotFoundException)
        {
            return (StatusCodes.Status404NotFound, new { error = $"no plugin named '{name}' is configured" });
        }
        catch (InvalidOperationException e)
        {
            return (StatusCodes.Status422UnprocessableEntity, new { error = e.Message });
        }
    }

    /// <summary>A plugin in the API's JSON (camelCase, like the other endpoints).</summary>
    private static object Describe(Hosting.PluginReport r) => new
    {
        name = r.Name,
        version = r.Version,
        moduleSha256 = r.ModuleSha256,
        instances = r.Instances,
        calls = r.Calls,
        faults = r.Faults,
        quarantines = r.Quarantines,
        quarantined = r.Quarantined,
        timeSeconds = r.TotalSeconds,
        counters = r.Counters.ToDictionary(c => c.Key, c => c.Value),
    };

    private static object? StatisticsOf(IRecordCache cache) => cache is RecordCache recordCache ? recordCache.GetStatistics() : null;

    public async Task StopAsync()
    {
        if (_app is not { } app) return;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not { } app) return;
        await StopAsync().ConfigureAwait(false);
        _app = null;
        await app.DisposeAsync().ConfigureAwait(false);
    }
}

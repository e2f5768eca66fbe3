using System.Globalization;
using System.Text;
using System.Text.Json;
using Ananas.Resolver.Conductor;
using Microsoft.AspNetCore.Http;

namespace Ananas.Server.WebConsole;

/// <summary>
/// The web console on the control listener: the one-page app at <c>/</c> and its files under <c>/console/</c>
/// (embedded in the binary, uPlot included: no CDN), and the data it draws: <c>GET /metrics</c> (the same
/// exposition text as the metrics listener, so the page reads the server's own counters),
/// <c>GET /console/top?n=N</c> (top names, blocked names, clients when on) and <c>GET /console/upstreams</c>
/// (responses and summed RTT per upstream server). Purge and plugin actions go to the control API itself.
/// </summary>
public sealed class ConsoleEndpoints(Func<string> metrics, TopTalkers? top, ConductorMetrics? upstream)
{
    private static readonly Dictionary<string, (byte[] Body, string Type)> Files = LoadFiles();

    /// <summary>The embedded files by URL path; a missing one is a build error, not a broken page.</summary>
    private static Dictionary<string, (byte[], string)> LoadFiles()
    {
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        var assembly = typeof(ConsoleEndpoints).Assembly;
        foreach (var name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith("console/", StringComparison.Ordinal)) continue;
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files["/" + name] = (copy.ToArray(), ContentType(name));
        }
        return files;
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".png" => "image/png",
        _ => "text/plain; charset=utf-8",
    };

    /// <summary>The page and its files (no data: served without the control token, so the sign-in form can load).</summary>
    public static bool IsPage(string path) => path == "/" || Files.ContainsKey(path);

    /// <summary>Whether <paramref name="path"/> is the console's (static files and its read-only data).</summary>
    public static bool Owns(string path) => path is "/" or "/metrics" || path.StartsWith("/console/", StringComparison.Ordinal);

    /// <summary>Serves a console path; false for one it does not know (the caller answers 404).</summary>
    public async Task<bool> TryServeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var response = context.Response;
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET";
            return true;
        }
        if (path == "/") path = "/console/index.html";
        // The page and its scripts may run only what they ship: no inline script, no other origin.
        response.Headers["Content-Security-Policy"] = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";
        response.Headers["X-Content-Type-Options"] = "nosniff";
        if (Files.TryGetValue(path, out var file))
        {
            response.ContentType = file.Type;
            response.Headers.CacheControl = "no-cache";
            await response.Body.WriteAsync(file.Body, context.RequestAborted).ConfigureAwait(false);
            return true;
        }
        if (path == "/metrics")
        {
            response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await response.WriteAsync(metrics(), context.RequestAborted).ConfigureAwait(false);
            return true;
        }
        if (path == "/console/top")
        {
            int n = int.TryParse(context.Request.Query["n"], NumberStyles.None, CultureInfo.InvariantCulture, out var asked) ? Math.Clamp(asked, 1, 100) : 20;
            await WriteJsonAsync(response, new
            {
                sample = top?.Sample ?? 0,
                names = Rows(top?.Names, n),
                blocked = Rows(top?.Blocked, n),
                clients = top?.Clients is { } clients ? Rows(clients, n) : null,
            }).ConfigureAwait(false);
            return true;
        }
        if (path == "/console/upstreams")
        {
            var servers = upstream?.Upstreams() ?? [];
            var rows = servers.OrderByDescending(u => u.Responses).Take(8)
                .Select(u => new { server = u.Address.ToString(), responses = u.Responses, timeouts = u.Timeouts, rttSumSeconds = u.RttSum.TotalSeconds }).ToArray();
            await WriteJsonAsync(response, new { upstreams = rows }).ConfigureAwait(false);
            return true;
        }
        return false;
    }

    private static object[] Rows(SpaceSavingTopK? counts, int n) =>
        counts is null ? [] : [.. counts.Top(n).Select(r => new { name = r.Key, count = r.Count, error = r.Error })];

    private static Task WriteJsonAsync(HttpResponse response, object body)
    {
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        return response.Body.WriteAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(body))).AsTask();
    }
}

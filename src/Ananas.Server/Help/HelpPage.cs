using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Ananas.Server.Help;

/// <summary>What <c>/help</c> says about the server: whether it validates, which node and cluster it is.</summary>
public sealed record HelpFacts(bool Validation, string NodeId, string ClusterId, string Version);

/// <summary>
/// <c>/help</c> on the DoH listener, like 1.1.1.1/help: the page (embedded) makes one probe over DoH itself and one
/// through the browser's system resolver (<see cref="HelpProbes"/>), then asks <c>/help/probe?nonce=N</c> which of
/// them reached this server and how (DoH, DoT, TCP, UDP), and shows that with the client address as seen, whether
/// validation is on, and the node and cluster that answered.
/// </summary>
public sealed class HelpPage(HelpProbes probes, Func<HelpFacts> facts)
{
    private static readonly Dictionary<string, (byte[] Body, string Type)> Files = Load();

    private static Dictionary<string, (byte[], string)> Load()
    {
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        var assembly = typeof(HelpPage).Assembly;
        foreach (var (path, resource, type) in new[] { ("/help", "help/help.html", "text/html; charset=utf-8"), ("/help/help.js", "help/help.js", "text/javascript; charset=utf-8") })
        {
            using var stream = assembly.GetManifestResourceStream(resource) ?? throw new InvalidOperationException($"embedded {resource} is missing");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[path] = (copy.ToArray(), type);
        }
        return files;
    }

    public static bool Owns(string path) => path == "/help" || path.StartsWith("/help/", StringComparison.Ordinal);

    public async Task ServeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var response = context.Response;
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET";
            return;
        }
        response.Headers["Content-Security-Policy"] = "default-src 'self'; img-src * data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
        response.Headers.CacheControl = "no-store";
        if (Files.TryGetValue(path, out var file))
        {
            response.ContentType = file.Type;
            await response.Body.WriteAsync(file.Body, context.RequestAborted).ConfigureAwait(false);
            return;
        }
        if (path != "/help/probe")
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        string nonce = context.Request.Query["nonce"].ToString();
        if (nonce.Length is 0 or > 63 || !nonce.All(char.IsAsciiLetterOrDigit))
        {
            response.StatusCode = StatusCodes.Status400BadRequest;
            await response.WriteAsync("nonce: 1-63 letters and digits").ConfigureAwait(false);
            return;
        }
        var f = facts();
        var seen = probes.Seen(nonce);
        var body = new
        {
            resolver = "Ananas",
            version = f.Version,
            nodeId = f.NodeId,
            clusterId = f.ClusterId,
            validation = f.Validation,
            clientAddress = context.Connection.RemoteIpAddress?.ToString(),
            httpProtocol = context.Request.Protocol,
            probes = seen.Select(p => new { kind = p.Kind, transport = p.Transport, client = p.Client, at = p.At }).ToArray(),
        };
        response.ContentType = "application/json";
        await response.WriteAsync(JsonSerializer.Serialize(body), context.RequestAborted).ConfigureAwait(false);
    }
}

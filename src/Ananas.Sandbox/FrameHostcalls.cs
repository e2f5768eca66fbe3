using System.Buffers.Binary;
using System.Net.Http.Headers;
using System.Text;
using Wasmtime;

namespace Ananas.Sandbox;

/// <summary>
/// The hostcalls of phase frame and the host operations with results (docs/plugins.md, "The frame phase"):
/// read the HTTP request, reply to it, resolve a DNS query through the server's pipeline, and POST to an
/// allow-listed HTTPS origin. Results are read with op_result once op_poll reported completion.
/// </summary>
internal static class FrameHostcalls
{
    private const int NotFound = -1;
    private const int InvalidArgument = -2;
    private const int BufferTooSmall = -3;
    private const int NotAllowed = -4;

    /// <summary>Longest HTTP response body a guest can receive.</summary>
    public const int MaxHttpBody = 65535;

    private const ValueKind I32 = ValueKind.Int32;

    public static readonly IReadOnlyDictionary<string, (ValueKind[] Parameters, ValueKind[] Results)> Signatures =
        new Dictionary<string, (ValueKind[], ValueKind[])>
        {
            ["frame_request"] = ([I32, I32], [I32]),
            ["frame_reply"] = ([I32, I32, I32, I32, I32], [I32]),
            ["resolve_start"] = ([I32, I32], [I32]),
            ["http_post_start"] = ([I32, I32, I32, I32, I32, I32], [I32]),
            ["http_get_start"] = ([I32, I32], [I32]),
            ["op_result"] = ([I32, I32, I32], [I32]),
        };

    public static void Define(Linker linker)
    {
        const string m = AbiCheck.ImportModule;
        linker.DefineFunction(m, "frame_request", new Func<int, int, int>(FrameRequest));
        linker.DefineFunction(m, "frame_reply", new Func<int, int, int, int, int, int>(FrameReply));
        linker.DefineFunction(m, "resolve_start", new Func<int, int, int>(ResolveStart));
        linker.DefineFunction(m, "http_post_start", new Func<int, int, int, int, int, int, int>(HttpPostStart));
        linker.DefineFunction(m, "http_get_start", new Func<int, int, int>((url, length) =>
        {
            var instance = PluginInstance.Running;
            var text = Encoding.UTF8.GetString(instance.View().Range("http_get_start", url, length));
            return StartHttp(instance, HttpMethod.Get, text, null, []);
        }));
        linker.DefineFunction(m, "op_result", new Func<int, int, int, int>(OperationResult));
    }

    private static int FrameRequest(int buffer, int capacity)
    {
        var instance = PluginInstance.Running;
        var destination = instance.View().Range("frame_request", buffer, capacity);
        if (instance.Context?.Frame is not { } frame) return NotAllowed;
        var head = Encoding.UTF8.GetBytes(frame.Head);
        if (head.Length > capacity) return BufferTooSmall;
        head.CopyTo(destination);
        return head.Length;
    }

    private static int FrameReply(int status, int contentType, int contentTypeLength, int body, int bodyLength)
    {
        var instance = PluginInstance.Running;
        var memory = instance.View();
        var type = memory.Range("frame_reply", contentType, contentTypeLength);
        var bytes = memory.Range("frame_reply", body, bodyLength);
        if (instance.Context is not { Frame: not null } context) return NotAllowed;
        if (status < 200 || status > 599) return InvalidArgument;
        context.FrameReply = new FrameReply(status, Encoding.UTF8.GetString(type), bytes.ToArray());
        return 0;
    }

    /// <summary>Starts resolving a DNS query (wire format) through the pipeline; the result is the reply's wire bytes.</summary>
    private static int ResolveStart(int message, int length)
    {
        var instance = PluginInstance.Running;
        var bytes = instance.View().Range("resolve_start", message, length);
        if (instance.Context?.Resolver is not { } resolver) return NotAllowed;
        if (length < 12 || length > ushort.MaxValue) return InvalidArgument;
        var query = bytes.ToArray();
        return instance.StartOperation(token => resolver(query, token));
    }

    /// <summary>
    /// Starts an HTTP POST to an origin on the plugin's allow-list (-4 otherwise); the result is the status code (2
    /// bytes, big-endian) followed by the body, at most <see cref="MaxHttpBody"/> bytes.
    /// </summary>
    private static int HttpPostStart(int url, int urlLength, int contentType, int contentTypeLength, int body, int bodyLength)
    {
        var instance = PluginInstance.Running;
        var memory = instance.View();
        var urlText = Encoding.UTF8.GetString(memory.Range("http_post_start", url, urlLength));
        var type = Encoding.UTF8.GetString(memory.Range("http_post_start", contentType, contentTypeLength));
        var content = memory.Range("http_post_start", body, bodyLength).ToArray();
        if (!MediaTypeHeaderValue.TryParse(type, out var mediaType)) return InvalidArgument;
        return StartHttp(instance, HttpMethod.Post, urlText, mediaType, content);
    }

    private static int StartHttp(PluginInstance instance, HttpMethod method, string urlText, MediaTypeHeaderValue? mediaType, byte[] content)
    {
        if (instance.Context is null) return NotAllowed;
        if (!Uri.TryCreate(urlText, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")) return InvalidArgument;
        if (!Allowed(instance, uri)) return NotAllowed;
        var client = instance.Version.Host.HttpClient;
        var timeout = instance.Version.Host.Options.MaxTimer;
        return instance.StartOperation(token => SendAsync(client, method, uri, mediaType, content, timeout, token));
    }

    /// <summary>Whether the URL's origin is on the plugin's http allow-list.</summary>
    public static bool Allowed(PluginInstance instance, Uri uri)
    {
        string origin = $"{uri.Scheme}://{uri.Authority}";
        foreach (var entry in instance.Version.Definition.HttpAllowList)
        {
            if (string.Equals(entry.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    private static async Task<byte[]?> SendAsync(HttpClient client, HttpMethod method, Uri uri, MediaTypeHeaderValue? type, byte[] content, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancel.CancelAfter(timeout);
        using var request = new HttpRequestMessage(method, uri);
        if (type is not null)
        {
            request.Content = new ByteArrayContent(content);
            request.Content.Headers.ContentType = type;
        }
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(cancel.Token).ConfigureAwait(false);
        var buffer = new byte[2 + MaxHttpBody + 1];
        int read = 2;
        while (read < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(read), cancel.Token).ConfigureAwait(false);
            if (n == 0) break;
            read += n;
        }
        // A body over the limit is cut off: the guest sees a 502 rather than a truncated answer.
        if (read > 2 + MaxHttpBody) return [0x01, 0xF6];
        BinaryPrimitives.WriteUInt16BigEndian(buffer, (ushort)response.StatusCode);
        return buffer[..read];
    }

    private static int OperationResult(int handle, int buffer, int capacity)
    {
        var instance = PluginInstance.Running;
        var destination = instance.View().Range("op_result", buffer, capacity);
        if (instance.OperationResult(handle) is not { } result) return NotFound;
        if (result.Length > capacity) return BufferTooSmall;
        result.CopyTo(destination);
        return result.Length;
    }
}

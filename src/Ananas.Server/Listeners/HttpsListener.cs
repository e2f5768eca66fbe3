using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Server.Listeners;

/// <summary>
/// DNS over HTTPS (RFC 8484) on Kestrel, HTTP/1.1 and HTTP/2 (h2 by ALPN), at <c>/dns-query</c>:
/// GET <c>?dns=</c> (base64url without padding) and POST <c>application/dns-message</c>; and the JSON API
/// (GET <c>?name=&amp;type=&amp;do=&amp;cd=</c>, <c>application/dns-json</c>, also at <c>/resolve</c>) in the shape
/// public resolvers use. Every query goes through the same <see cref="QueryPipeline"/> as a frame with
/// <see cref="Transport.Https"/> (answer cache, scheduler, recursor, RFC 8467 padding). The <c>tcp.*</c> bounds apply
/// as on DoT: connections overall and per client, the idle timeout (keep-alive, and the time to send a request's
/// headers), HTTP/2 streams per connection as the pipelining bound, and a body no larger than a DNS message.
/// </summary>
public sealed class HttpsListener : IListener
{
    public const string Path = "/dns-query";
    public const string JsonPath = "/resolve";
    private const string DnsMessageType = DohRequest.DnsMessageType;
    private const string DnsJsonType = "application/dns-json";
    private const int MaxMessage = DohRequest.MaxMessage;

    private readonly IPEndPoint _requested;
    private readonly QueryPipeline _pipeline;
    private readonly X509Certificate2 _certificate;
    private readonly ILogger _logger;
    private readonly ProxyOptions? _proxy;
    private readonly TcpListenerOptions _limits;
    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, int> _perClient = [];
    private WebApplication? _app;
    private readonly Help.HelpPage? _help;

    /// <param name="proxy">PROXY protocol v2 when given: connections only from its trusted sources, each starting with the header (before TLS).</param>
    /// <param name="help">The <c>/help</c> page, when served.</param>
    /// <param name="limits">The connection bounds and idle timeout (the <c>tcp.*</c> keys); the defaults when null.</param>
    public HttpsListener(IPEndPoint endPoint, QueryPipeline pipeline, X509Certificate2 certificate, ILogger? logger = null, ProxyOptions? proxy = null,
        TcpListenerOptions? limits = null, Help.HelpPage? help = null)
    {
        _help = help;
        _proxy = proxy;
        _limits = limits ?? new TcpListenerOptions();
        _requested = endPoint;
        _pipeline = pipeline;
        _certificate = certificate;
        _logger = logger ?? NullLogger.Instance;
        LocalEndPoint = endPoint;
    }

    public IPEndPoint LocalEndPoint { get; private set; }

    public string Address => $"https://{ListenerBindException.Format(LocalEndPoint)}{Path}{(_proxy is null ? "" : "?proxy=v2")}";

    public void Start()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Limits.MaxRequestBodySize = MaxMessage + 1;
            options.Limits.MaxConcurrentConnections = _limits.MaxConnections;
            options.Limits.KeepAliveTimeout = _limits.IdleTimeout;
            options.Limits.RequestHeadersTimeout = _limits.IdleTimeout;
            options.Limits.Http2.MaxStreamsPerConnection = _limits.MaxOutstandingPerConnection;
            options.Listen(_requested, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                // Behind a proxy every connection comes from the proxy: only the overall bound applies (as on DoT).
                if (_proxy is null) listen.Use(next => connection => LimitPerClientAsync(connection, next));
                // Before TLS: the header comes first on the wire; the client it names becomes the connection's remote end.
                if (_proxy is { } proxy) listen.Use(next => connection => AcceptProxiedAsync(connection, proxy, next));
                listen.UseHttps(https =>
                {
                    https.ServerCertificate = _certificate;
                    https.SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13;
                });
            });
        });
        var app = builder.Build();
        app.Run(HandleAsync);
        try
        {
            app.StartAsync().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw ListenerBindException.FromKestrel("https", _requested, e);
        }
        _app = app;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        var bound = addresses?.Select(a => new Uri(a)).FirstOrDefault();
        LocalEndPoint = new IPEndPoint(_requested.Address, bound?.Port ?? _requested.Port);
    }

    /// <summary>Closes a connection beyond <see cref="TcpListenerOptions.MaxConnectionsPerClient"/> from its address.</summary>
    private async Task LimitPerClientAsync(Microsoft.AspNetCore.Connections.ConnectionContext connection, Microsoft.AspNetCore.Connections.ConnectionDelegate next)
    {
        if (connection.RemoteEndPoint is not IPEndPoint remote)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }
        lock (_lock)
        {
            _perClient.TryGetValue(remote.Address, out int open);
            if (open >= _limits.MaxConnectionsPerClient)
            {
                _logger.LogDebug(ServerEvents.ConnectionRejected, "DoH connection from {Client} refused: connection limit per client", remote);
                connection.Abort();
                return;
            }
            _perClient[remote.Address] = open + 1;
        }
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            lock (_lock)
            {
                if (_perClient.TryGetValue(remote.Address, out int open) && open > 1) _perClient[remote.Address] = open - 1;
                else _perClient.Remove(remote.Address);
            }
        }
    }

    private async Task AcceptProxiedAsync(Microsoft.AspNetCore.Connections.ConnectionContext connection, ProxyOptions proxy, Microsoft.AspNetCore.Connections.ConnectionDelegate next)
    {
        if (connection.RemoteEndPoint is not IPEndPoint remote || !proxy.Trusts(remote))
        {
            _logger.LogDebug(ServerEvents.ConnectionRejected, "connection from {Client} refused: not a trusted PROXY source (proxy.trusted-sources)", connection.RemoteEndPoint);
            connection.Abort();
            return;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
        timeout.CancelAfter(proxy.HeaderTimeout);
        IPEndPoint? client;
        try
        {
            client = await ProxyProtocol.ReadAsync(connection.Transport.Input, remote, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
        {
            client = null;
        }
        if (client is null)
        {
            _logger.LogDebug(ServerEvents.ConnectionRejected, "connection from {Proxy} closed: no valid PROXY v2 header", remote);
            connection.Abort();
            return;
        }
        connection.RemoteEndPoint = client;
        await next(connection).ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        if (_help is not null && Help.HelpPage.Owns(request.Path.Value ?? ""))
        {
            await _help.ServeAsync(context).ConfigureAwait(false);
            return;
        }
        bool dohPath = request.Path.Equals(Path, StringComparison.Ordinal);
        bool jsonPath = request.Path.Equals(JsonPath, StringComparison.Ordinal);
        // Not an RFC 8484 or JSON query (another path or media type): plugins at phase frame may take it.
        if (_pipeline.HttpFrames is { } frames && (!(dohPath || jsonPath) || (HttpMethods.IsPost(request.Method) && !IsDnsMessage(request.ContentType)))
            && await HandleFrameAsync(context, frames).ConfigureAwait(false))
            return;
        if (!dohPath && !jsonPath)
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        var read = DohRequest.Read(request.Method, dohPath, request.Query, request.ContentType, request.ContentLength);
        byte[] wire;
        switch (read.Kind)
        {
            case DohRequestKind.Refused:
                if (read.JsonError) await JsonError(response, read.Error!).ConfigureAwait(false);
                else if (read.Error is not null) await Fail(response, read.StatusCode, read.Error).ConfigureAwait(false);
                else response.StatusCode = read.StatusCode;
                if (read.StatusCode == StatusCodes.Status405MethodNotAllowed) response.Headers.Allow = dohPath ? "GET, POST" : "GET";
                return;
            case DohRequestKind.JsonQuery:
                await HandleJsonAsync(context, read.Wire!).ConfigureAwait(false);
                return;
            case DohRequestKind.WireBody:
                var body = await ReadBodyAsync(request, context.RequestAborted).ConfigureAwait(false);
                if (body is null)
                {
                    response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                    return;
                }
                wire = body;
                break;
            default:
                wire = read.Wire!;
                break;
        }

        var shape = QueryShape.Read(wire);
        if (shape.Status is not (QueryStatus.Ok or QueryStatus.NotImplemented))
        {
            await Fail(response, StatusCodes.Status400BadRequest, "not a DNS query").ConfigureAwait(false);
            return;
        }
        var reply = await ResolveAsync(context, wire).ConfigureAwait(false);
        if (reply is null)
        {
            if (!context.RequestAborted.IsCancellationRequested) response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = DnsMessageType;
        response.Headers.CacheControl = CacheControl(reply);
        response.ContentLength = reply.Length;
        if (!HttpMethods.IsHead(request.Method)) await response.Body.WriteAsync(reply, context.RequestAborted).ConfigureAwait(false);
    }

    private static bool IsDnsMessage(string? contentType) =>
        contentType is not null && contentType.Split(';')[0].Trim().Equals(DnsMessageType, StringComparison.OrdinalIgnoreCase);

    /// <summary>Hands the request to the frame phase; true when a plugin replied (the reply is sent).</summary>
    private async Task<bool> HandleFrameAsync(HttpContext context, IHttpFrameHandler frames)
    {
        var request = context.Request;
        byte[] body = [];
        if (HttpMethods.IsPost(request.Method))
        {
            if (request.ContentLength > MaxMessage || await ReadBodyAsync(request, context.RequestAborted).ConfigureAwait(false) is not { } read)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                return true;
            }
            body = read;
        }
        var connection = context.Connection;
        var client = new IPEndPoint(connection.RemoteIpAddress ?? IPAddress.IPv6None, connection.RemotePort);
        var frame = new HttpFrameRequest(request.Method, request.Path.Value + request.QueryString.Value, request.ContentType ?? "", body, client);
        var reply = await frames.HandleAsync(frame, (wire, _) => ResolveAsync(context, wire.ToArray()), context.RequestAborted).ConfigureAwait(false);
        if (reply is null) return false;
        var response = context.Response;
        response.StatusCode = reply.Status;
        response.ContentType = reply.ContentType;
        // RFC 9230 §4.3: oblivious responses are not cached by intermediaries (they are unique per query).
        response.Headers.CacheControl = "no-cache, no-store";
        response.ContentLength = reply.Body.Length;
        if (!HttpMethods.IsHead(request.Method)) await response.Body.WriteAsync(reply.Body, context.RequestAborted).ConfigureAwait(false);
        return true;
    }

    /// <summary>The JSON API (the shape of the public resolvers' <c>application/dns-json</c>).</summary>
    private async Task HandleJsonAsync(HttpContext context, byte[] query)
    {
        var reply = await ResolveAsync(context, query).ConfigureAwait(false);
        var response = context.Response;
        if (reply is null)
        {
            if (!context.RequestAborted.IsCancellationRequested) response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }
        DnsMessage answer;
        try
        {
            answer = DnsMessage.Parse(reply);
        }
        catch (DnsFormatException e)
        {
            await Fail(response, StatusCodes.Status502BadGateway, e.Message).ConfigureAwait(false);
            return;
        }
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = DnsJsonType;
        response.Headers.CacheControl = CacheControl(answer);
        var json = ToJson(answer);
        response.ContentLength = json.Length; // one framed body, as for the wire format (no chunked encoding)
        await response.Body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The JSON rendering: Status, TC, RD, RA, AD, CD, Question[], Answer[], Authority[].</summary>
    public static byte[] ToJson(DnsMessage answer)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteNumber("Status", (int)answer.Rcode);
            json.WriteBoolean("TC", answer.Has(HeaderFlags.TC));
            json.WriteBoolean("RD", answer.Has(HeaderFlags.RD));
            json.WriteBoolean("RA", answer.Has(HeaderFlags.RA));
            json.WriteBoolean("AD", answer.Has(HeaderFlags.AD));
            json.WriteBoolean("CD", answer.Has(HeaderFlags.CD));
            json.WriteStartArray("Question");
            foreach (var q in answer.Questions)
            {
                json.WriteStartObject();
                json.WriteString("name", q.Name.ToString());
                json.WriteNumber("type", (ushort)q.Type);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            WriteRecords(json, "Answer", answer.Answers);
            WriteRecords(json, "Authority", answer.Authority);
            json.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static void WriteRecords(Utf8JsonWriter json, string section, List<Dns.Records.ResourceRecord> records)
    {
        if (records.Count == 0) return;
        json.WriteStartArray(section);
        foreach (var rr in records)
        {
            json.WriteStartObject();
            json.WriteString("name", rr.Name.ToString());
            json.WriteNumber("type", (ushort)rr.Type);
            json.WriteNumber("TTL", rr.Ttl);
            var data = new StringBuilder();
            rr.Data.AppendPresentation(data);
            json.WriteString("data", data.ToString());
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    /// <summary>Runs one query through the pipeline; the reply bytes, or null when it was dropped.</summary>
    private async Task<byte[]?> ResolveAsync(HttpContext context, byte[] wire)
    {
        var connection = context.Connection;
        var client = new IPEndPoint(connection.RemoteIpAddress ?? IPAddress.IPv6None, connection.RemotePort);
        var sink = new HttpReplySink(context.RequestAborted);
        // The frame borrows the request's bytes; a miss is detached (copied) by the pipeline before Handle returns.
        var frame = Frame.CreateReusable(wire, Transport.Https, sink, client);
        frame.Length = wire.Length;
        frame.ArrivalTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
        _pipeline.Handle(frame);
        return await sink.Reply.ConfigureAwait(false);
    }

    /// <summary><c>max-age</c> = the smallest TTL in the reply (RFC 8484 §5.1); 0 when it has no records.</summary>
    private static string CacheControl(byte[] reply)
    {
        try
        {
            return CacheControl(DnsMessage.Parse(reply));
        }
        catch (DnsFormatException)
        {
            return "no-store";
        }
    }

    private static string CacheControl(DnsMessage reply)
    {
        uint min = uint.MaxValue;
        foreach (var rr in reply.Answers) min = Math.Min(min, rr.Ttl);
        foreach (var rr in reply.Authority) min = Math.Min(min, rr.Ttl);
        foreach (var rr in reply.Additional) min = Math.Min(min, rr.Ttl);
        return min == uint.MaxValue ? "max-age=0" : $"max-age={min}";
    }

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxMessage + 1);
        try
        {
            int read = 0;
            while (true)
            {
                int n = await request.Body.ReadAsync(buffer.AsMemory(read, MaxMessage + 1 - read), cancellationToken).ConfigureAwait(false);
                if (n == 0) break;
                read += n;
                if (read > MaxMessage) return null;
            }
            return buffer.AsSpan(0, read).ToArray();
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException)
        {
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Task Fail(HttpResponse response, int status, string why)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(why + "\n");
    }

    private static Task JsonError(HttpResponse response, string why)
    {
        response.StatusCode = StatusCodes.Status400BadRequest;
        response.ContentType = DnsJsonType;
        return response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, string> { ["error"] = why }));
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            try
            {
                await app.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token).ConfigureAwait(false);
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
        try
        {
            await app.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>One HTTP request's reply: completed by the pipeline's Send (copied) or Drop.</summary>
    private sealed class HttpReplySink(CancellationToken clientGone) : IReplySink
    {
        private readonly TaskCompletionSource<byte[]?> _reply = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<byte[]?> Reply => _reply.Task;

        public CancellationToken ClientGone => clientGone;

        public int MaxReplySize(int clientUdpPayload) => ushort.MaxValue;

        public void Send(Frame frame, ReadOnlySpan<byte> reply) => _reply.TrySetResult(reply.ToArray());

        public void Drop(Frame frame) => _reply.TrySetResult(null);
    }
}

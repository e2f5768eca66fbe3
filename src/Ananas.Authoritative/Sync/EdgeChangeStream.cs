using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Ananas.Authoritative.Sync;

/// <summary>
/// The one JetStream stream that carries every <see cref="Changes.EdgeChange"/> from the pipeline's publisher to
/// the edges: file storage (it survives a NATS restart), messages deduplicated by <c>Nats-Msg-Id</c> = the change's
/// sequence within <see cref="DuplicateWindow"/>. Publisher and edges both declare it, so either may start first.
/// </summary>
public static class EdgeChangeStream
{
    public const string Name = "ANANAS_EDGE";

    public const string Subject = "ananas.edge.changes";

    /// <summary>How long NATS remembers a message id: a change published again within it is stored once.</summary>
    public static readonly TimeSpan DuplicateWindow = TimeSpan.FromMinutes(2);

    /// <summary>How long changes stay: an edge down longer than this bootstraps from a snapshot again.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromDays(7);

    /// <summary>The longest wait between two attempts to reconnect to a NATS server that is down.</summary>
    public static readonly TimeSpan ReconnectWaitMax = TimeSpan.FromMilliseconds(250);

    public static async Task<INatsJSStream> EnsureAsync(INatsJSContext js, CancellationToken cancellationToken) =>
        await js.CreateOrUpdateStreamAsync(new StreamConfig(Name, [Subject])
        {
            Storage = StreamConfigStorage.File,
            DuplicateWindow = DuplicateWindow,
            MaxAge = MaxAge,
            Retention = StreamConfigRetention.Limits,
        }, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Client options for a <c>nats://HOST:PORT</c> URL: reconnect forever, named for the server's logs. The wait
    /// between attempts starts at 50 ms and doubles to at most <see cref="ReconnectWaitMax"/> (plus up to 50 ms of
    /// jitter), so a restarted server is found within about a quarter second of coming back, while a server that
    /// stays down costs each client at most about four connection attempts a second.
    /// </summary>
    public static NatsOpts Options(string url, string name, TimeSpan? requestTimeout = null) => NatsOpts.Default with
    {
        Url = url,
        Name = name,
        MaxReconnectRetry = -1,
        ReconnectWaitMin = TimeSpan.FromMilliseconds(50),
        ReconnectWaitMax = ReconnectWaitMax,
        ReconnectJitter = TimeSpan.FromMilliseconds(50),
        ConnectTimeout = TimeSpan.FromSeconds(2),
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(5),
    };

    /// <summary>Checks a <c>nats://HOST:PORT</c> URL; an error message, or null.</summary>
    public static string? Validate(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "nats" or "tls" && uri.Port > 0 && uri.Host.Length > 0
            ? null
            : $"'{url}' is not nats://HOST:PORT";
}

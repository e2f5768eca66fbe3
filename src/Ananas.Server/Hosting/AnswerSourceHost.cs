using Ananas.Server.Configuration;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;
using Microsoft.Extensions.Logging;

namespace Ananas.Server.Hosting;

/// <summary>
/// The running server of the authoritative role: the listeners, ACL, rate limiting, cookies, metrics and query
/// log of a <see cref="ServerConfig"/> over a pipeline that an <see cref="IAnswerSource"/> answers. Unlike
/// <see cref="ResolverHost"/> it builds no cache, recursor, trust anchors or control API (they would never be used).
/// </summary>
public sealed class AnswerSourceHost : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly List<IListener> _listeners = [];
    private readonly Timer? _cookieRotation;

    public AnswerSourceHost(ServerConfig config, IAnswerSource source, ILoggerFactory loggerFactory)
    {
        Config = config;
        _logger = loggerFactory.CreateLogger("Ananas.Server");
        Pipeline = new QueryPipeline(ResolverStackBuilder.PipelineOptions(config), source, logger: loggerFactory.CreateLogger("Ananas.Server.Pipeline"));
        _cookieRotation = ListenerFactory.AddProtections(Pipeline, config);
        var factory = new ListenerFactory(Pipeline, _logger);
        foreach (var address in config.Listen) _listeners.Add(factory.Create(address, config));
        if (config.MetricsListen.Length > 0)
        {
            Metrics = new MetricsListener(MetricsListener.ParseAddress(config.MetricsListen), Pipeline, () => Plugins, null);
            _listeners.Add(Metrics);
        }
    }

    public ServerConfig Config { get; }

    public QueryPipeline Pipeline { get; }

    /// <summary>The plugin runtime (set by the composition root once the configured plugins loaded), for <c>/metrics</c>.</summary>
    public IPluginControl? Plugins { get; set; }

    public MetricsListener? Metrics { get; }

    /// <summary>DNS listeners first, then metrics.</summary>
    public IReadOnlyList<IListener> Listeners => _listeners;

    /// <summary>Binds every listener (all or none: on a failure the bound ones are closed) and starts serving.</summary>
    public Task StartAsync() => ListenerFactory.StartAllAsync(_listeners, _logger);

    /// <summary>Stops taking queries, answers those in flight (waiting at most <paramref name="drain"/>), closes.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        _logger.LogInformation(ServerEvents.Stopping, "stopping: answering {InFlight} queries in flight (at most {Drain} s)", Pipeline.InFlight, drain.TotalSeconds);
        var stopListeners = Task.WhenAll(_listeners.Select(l => l.StopAsync()));
        await Pipeline.DrainAsync(drain).ConfigureAwait(false);
        try
        {
            await stopListeners.WaitAsync(drain).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        await DisposeAsync().ConfigureAwait(false);
        _logger.LogInformation(ServerEvents.Stopped, "stopped");
    }

    public async ValueTask DisposeAsync()
    {
        if (_cookieRotation is not null) await _cookieRotation.DisposeAsync().ConfigureAwait(false);
        foreach (var listener in _listeners) await listener.DisposeAsync().ConfigureAwait(false);
        if (Pipeline.QueryLog is { } queryLog) await queryLog.DisposeAsync().ConfigureAwait(false);
    }
}

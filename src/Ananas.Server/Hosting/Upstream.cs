using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Conductor;
using Ananas.Resolver.Iteration;
using Ananas.Server.Configuration;

namespace Ananas.Server.Hosting;

/// <summary>
/// Where the resolver's queries go: an exchanger, the selector that orders a zone's servers, and the exchanger's
/// counters for /metrics. <see cref="FromConfig"/> builds the production conductor (dedup, RTT choice, TCP/TLS,
/// hold-downs) from the configuration; <see cref="Of"/> wraps another exchanger (tests, the authoritative role).
/// </summary>
public sealed class Upstream : IDisposable
{
    private Conductor? _owned;

    private Upstream(IExchanger exchanger, IServerSelector selector, ConductorMetrics? metrics, Conductor? owned)
    {
        Exchanger = exchanger;
        Selector = selector;
        Metrics = metrics;
        _owned = owned;
    }

    public IExchanger Exchanger { get; }

    public IServerSelector Selector { get; }

    /// <summary>The conductor's counters (null: the exchanger keeps none).</summary>
    public ConductorMetrics? Metrics { get; }

    /// <summary>The conductor the configuration describes; a bad TLS bundle is a <see cref="ConfigException"/>.</summary>
    public static Upstream FromConfig(ServerConfig config)
    {
        var conductorOptions = UpstreamSettings.Conductor(config);
        var conductor = new Conductor(conductorOptions, new InfrastructureCache(UpstreamSettings.Infrastructure(config), SystemClock.Instance));
        return new Upstream(conductor, conductor.CreateSelector(SecureRandom.Instance), conductor.Metrics, conductor);
    }

    /// <summary>Another exchanger; servers are ordered at random unless <paramref name="selector"/> is given.</summary>
    public static Upstream Of(IExchanger exchanger, IServerSelector? selector = null) =>
        new(exchanger, selector ?? new RandomServerSelector(SecureRandom.Instance), null, null);

    public void Dispose() => Interlocked.Exchange(ref _owned, null)?.Dispose();
}

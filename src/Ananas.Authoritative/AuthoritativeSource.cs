using System.Text;
using Ananas.Authoritative.Answering;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Authoritative;

/// <summary>
/// The authoritative role behind the pipeline's <see cref="IAnswerSource"/> seam: every query is answered by
/// the <see cref="AuthoritativeAnswerer"/> on the listener's thread. A timer checks the store's generation, so
/// zones imported by another process are served without a restart.
/// </summary>
public sealed class AuthoritativeSource : IAnswerSource, IDisposable
{
    private static readonly EventId ZonesReloaded = new(3010, "ZonesReloaded");
    private static readonly EventId RefreshFailed = new(3011, "RefreshFailed");

    private readonly ILogger _logger;
    private readonly Timer _refresh;
    private int _refreshing;

    public AuthoritativeSource(AuthoritativeAnswerer answerer, ILogger? logger = null)
    {
        Answerer = answerer;
        _logger = logger ?? NullLogger.Instance;
        var interval = answerer.Options.RefreshInterval;
        _refresh = new Timer(_ => Refresh(), null, interval, interval);
    }

    public AuthoritativeAnswerer Answerer { get; }

    public int Answer(ReadOnlySpan<byte> query, Transport transport, Span<byte> reply, int limit) =>
        Answerer.Answer(query, reply, limit, out _);

    public void AppendMetrics(StringBuilder sb)
    {
        var zones = Answerer.Zones;
        Answerer.Counters.AppendPrometheus(sb, zones.Count, zones.Generation);
        Answerer.Signer.AppendPrometheus(sb);
    }

    private void Refresh()
    {
        if (Interlocked.Exchange(ref _refreshing, 1) == 1) return;
        try
        {
            if (Answerer.Refresh())
                _logger.LogInformation(ZonesReloaded, "store changed (generation {Generation}): {Zones} zones", Answerer.Zones.Generation, Answerer.Zones.Count);
        }
        catch (Exception e)
        {
            // The old index keeps serving; the next tick tries again.
            _logger.LogError(RefreshFailed, e, "reading the store's zones failed");
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    public void Dispose() => _refresh.Dispose();
}

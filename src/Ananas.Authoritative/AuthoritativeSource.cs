using System.Text;
using Ananas.Authoritative.Answering;
using Ananas.Authoritative.Transfer;
using Ananas.Dns.Messages;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Authoritative;

/// <summary>
/// The authoritative role behind the pipeline's <see cref="IAnswerSource"/> seam: every query is answered by
/// the <see cref="AuthoritativeAnswerer"/> on the listener's thread. A timer checks the store's generation, so
/// zones imported by another process are served without a restart, and a changed serial is sent to the
/// secondaries as NOTIFY. Zone transfers (AXFR, IXFR) are taken over from the pipeline by <see cref="ZoneTransfer"/>.
/// </summary>
public sealed class AuthoritativeSource : IAnswerSource, IDisposable
{
    private static readonly EventId ZonesReloaded = new(3010, "ZonesReloaded");
    private static readonly EventId RefreshFailed = new(3011, "RefreshFailed");

    private readonly ILogger _logger;
    private readonly Timer _refresh;
    private int _refreshing;

    private readonly ZoneTransfer? _transfer;
    private readonly NotifySender? _notify;

    /// <param name="transfer">Zone transfers out (null: AXFR and IXFR are answered REFUSED by the answerer).</param>
    /// <param name="notify">NOTIFY to secondaries when a serial changes (null: none).</param>
    public AuthoritativeSource(AuthoritativeAnswerer answerer, ILogger? logger = null, ZoneTransfer? transfer = null, NotifySender? notify = null)
    {
        Answerer = answerer;
        _logger = logger ?? NullLogger.Instance;
        _transfer = transfer;
        _notify = notify;
        var interval = answerer.Options.RefreshInterval;
        _refresh = new Timer(_ => Refresh(), null, interval, interval);
    }

    public AuthoritativeAnswerer Answerer { get; }

    public int Answer(ReadOnlySpan<byte> query, Transport transport, Span<byte> reply, int limit) =>
        Answerer.Answer(query, reply, limit, out _);

    public int Answer(ReadOnlySpan<byte> query, in QueryView view, Transport transport, Span<byte> reply, int limit) =>
        Answerer.Answer(view, reply, limit, out _);

    public bool TryTakeOver(Frame frame, in QueryShape shape) => _transfer is not null && _transfer.TryTakeOver(frame, shape);

    public void AppendMetrics(StringBuilder sb)
    {
        var zones = Answerer.Zones;
        Answerer.Counters.AppendPrometheus(sb, zones.Count, zones.Generation, Answerer.Replies);
        Answerer.Signer.AppendPrometheus(sb);
        Answerer.Replies?.AppendPrometheus(sb);
        _transfer?.Counters.AppendPrometheus(sb);
        _notify?.AppendPrometheus(sb);
        Sync?.AppendMetrics(sb);
    }

    /// <summary>The edge's sync with the zone pipeline, when it follows one (its metrics go out with ours).</summary>
    public Sync.NatsEdgeSync? Sync { get; set; }

    private void Refresh()
    {
        if (Interlocked.Exchange(ref _refreshing, 1) == 1) return;
        try
        {
            var before = Answerer.Zones;
            if (Answerer.Refresh())
            {
                _logger.LogInformation(ZonesReloaded, "store changed (generation {Generation}): {Zones} zones", Answerer.Zones.Generation, Answerer.Zones.Count);
                _notify?.Changed(before, Answerer.Zones);
            }
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

    public void Dispose()
    {
        _refresh.Dispose();
        _notify?.Dispose();
    }
}

using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Ananas.Authoritative.Changes;
using Ananas.Authoritative.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Ananas.Authoritative.Sync;

/// <summary>
/// An edge's side of the zone pipeline: a durable JetStream consumer named for the edge that applies every change
/// of <see cref="EdgeChangeStream"/> in order into the store with <see cref="EdgeChangeApplier"/> (a batch of what
/// has arrived per write transaction) and acknowledges after the commit. The store's applied sequence, not the
/// consumer's state on the server, decides where a session starts: each session (start, reconnect after an error,
/// a skipped stream message) re-creates the consumer at the first stream message after it, so nothing is lost or
/// applied twice whatever NATS remembers. An empty store first loads the pipeline's snapshot.
/// </summary>
public sealed class NatsEdgeSync : IAsyncDisposable
{
    private static readonly EventId Bootstrapped = new(3020, "EdgeBootstrapped");
    private static readonly EventId ChangeRejected = new(3021, "EdgeChangeRejected");
    private static readonly EventId SessionFailed = new(3022, "EdgeSyncSessionFailed");
    private static readonly EventId SessionStarted = new(3023, "EdgeSyncSessionStarted");
    private static readonly EventId StreamGap = new(3024, "EdgeSyncStreamGap");
    private static readonly EventId Reconnected = new(3025, "EdgeSyncReconnected");

    /// <summary>Most changes applied in one write transaction.</summary>
    public const int MaxBatch = 512;

    // A session that fails right after NATS came back (JetStream still recovering its streams answers no request)
    // is tried again soon: at most every half second, a few requests each, while it keeps failing.
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(500);

    private readonly EdgeStore _store;
    private readonly string _edgeId;
    private readonly IEdgeSnapshotSource? _snapshots;
    private readonly ILogger _logger;
    private readonly NatsConnection _connection;
    private readonly NatsJSContext _js;
    private CancellationTokenSource? _session;
    private int _disconnected;

    public NatsEdgeSync(EdgeStore store, string url, string edgeId, IEdgeSnapshotSource? snapshots, ILogger? logger = null)
    {
        if (EdgeChangeStream.Validate(url) is { } error) throw new ArgumentException(error, nameof(url));
        if (!IsValidName(edgeId)) throw new ArgumentException($"edge id '{edgeId}': use letters, digits, '-' and '_' (at most 64)", nameof(edgeId));
        _store = store;
        _edgeId = edgeId;
        _snapshots = snapshots;
        _logger = logger ?? NullLogger.Instance;
        _connection = new NatsConnection(EdgeChangeStream.Options(url, "ananas-edge-" + edgeId));
        _js = new NatsJSContext(_connection);
        // After a reconnect (NATS restarted) the pull requests in flight are gone: resync at once rather than after missed heartbeats.
        _connection.ConnectionDisconnected += (_, _) =>
        {
            Volatile.Write(ref _disconnected, 1);
            return ValueTask.CompletedTask;
        };
        _connection.ConnectionOpened += (_, _) =>
        {
            if (Interlocked.Exchange(ref _disconnected, 0) == 1) Volatile.Read(ref _session)?.Cancel();
            return ValueTask.CompletedTask;
        };
        Counters.AppliedSequence = EdgeChangeApplier.AppliedSequence(store);
    }

    public EdgeSyncCounters Counters { get; } = new();

    /// <summary>Called after a committed batch that added, removed or re-headed a zone (the server reloads its zone index).</summary>
    public Action? ZonesChanged { get; set; }

    /// <summary>A consumer (durable) name: what NATS accepts in a subject token.</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>Consumes until cancelled, starting a new session after any failure (backing off from 50 ms up to 0.5 s).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = MinBackoff;
        while (!cancellationToken.IsCancellationRequested)
        {
            long before = Interlocked.Read(ref Counters.Applied);
            try
            {
                await SessionAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (OperationCanceledException)
            {
                // Reconnected: a new session starts now.
                _logger.LogInformation(Reconnected, "edge {Edge}: reconnected to NATS; resuming from sequence {Sequence}", _edgeId, EdgeChangeApplier.AppliedSequence(_store));
                backoff = MinBackoff;
                continue;
            }
            catch (Exception e)
            {
                Volatile.Write(ref Counters.Connected, 0);
                _logger.LogWarning(SessionFailed, "edge {Edge}: sync session ended ({Error}); resuming from sequence {Sequence} in {Delay} ms",
                    _edgeId, e.Message, EdgeChangeApplier.AppliedSequence(_store), (int)backoff.TotalMilliseconds);
            }
            Volatile.Write(ref Counters.Connected, 0);
            if (Interlocked.Read(ref Counters.Applied) > before) backoff = MinBackoff;
            try
            {
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    private async Task SessionAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Counters.Sessions);
        await _connection.ConnectAsync().ConfigureAwait(false);
        var stream = await EdgeChangeStream.EnsureAsync(_js, cancellationToken).ConfigureAwait(false);
        long applied = EdgeChangeApplier.AppliedSequence(_store);
        if (applied == 0 && _snapshots is not null) applied = await BootstrapAsync(cancellationToken).ConfigureAwait(false);
        ulong start = await EdgeStreamPosition.FirstAfterAsync(stream, applied, cancellationToken).ConfigureAwait(false);
        try
        {
            await stream.DeleteConsumerAsync(_edgeId, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            // A new edge: nothing to replace.
        }
        var consumer = await stream.CreateOrUpdateConsumerAsync(new ConsumerConfig(_edgeId)
        {
            AckPolicy = ConsumerConfigAckPolicy.All,
            DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
            OptStartSeq = start,
            AckWait = TimeSpan.FromSeconds(30),
            MaxAckPending = 20_000,
        }, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation(SessionStarted, "edge {Edge}: consuming {Stream} from stream message {Start} (store at sequence {Sequence})",
            _edgeId, EdgeChangeStream.Name, start, applied);
        Volatile.Write(ref Counters.Connected, 1);

        using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Volatile.Write(ref _session, session);
        var inbox = Channel.CreateBounded<(INatsJSMsg<byte[]> Msg, long ReceivedUnixMs)>(new BoundedChannelOptions(4 * MaxBatch) { SingleReader = true, SingleWriter = true });
        var pump = PumpAsync(consumer, inbox.Writer, session.Token);
        try
        {
            ulong expected = start;
            var batch = new List<(INatsJSMsg<byte[]> Msg, long ReceivedUnixMs)>(MaxBatch);
            while (await inbox.Reader.WaitToReadAsync(session.Token).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && inbox.Reader.TryRead(out var msg)) batch.Add(msg);
                expected = await ApplyBatchAsync(batch, expected, session.Token).ConfigureAwait(false);
            }
        }
        finally
        {
            Volatile.Write(ref _session, null);
            session.Cancel();
            try
            {
                await pump.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private static async Task PumpAsync(INatsJSConsumer consumer, ChannelWriter<(INatsJSMsg<byte[]>, long)> writer, CancellationToken cancellationToken)
    {
        try
        {
            var opts = new NatsJSConsumeOpts { MaxMsgs = 2 * MaxBatch, Expires = TimeSpan.FromSeconds(30), IdleHeartbeat = TimeSpan.FromSeconds(1) };
            await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: opts, cancellationToken: cancellationToken).ConfigureAwait(false))
                await writer.WriteAsync((msg, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), cancellationToken).ConfigureAwait(false);
            writer.TryComplete(new IOException("the consumer stopped delivering"));
        }
        catch (Exception e)
        {
            writer.TryComplete(e);
            throw;
        }
    }

    /// <summary>Applies the batch's next stream messages in one transaction, then acknowledges up to the last; returns the next expected stream sequence.</summary>
    private async Task<ulong> ApplyBatchAsync(List<(INatsJSMsg<byte[]> Msg, long ReceivedUnixMs)> batch, ulong expected, CancellationToken cancellationToken)
    {
        var changes = new List<EdgeChange>(batch.Count);
        INatsJSMsg<byte[]>? last = null;
        ulong gapAt = 0;
        foreach (var (msg, receivedUnixMs) in batch)
        {
            ulong sequence = msg.Metadata?.Sequence.Stream ?? 0;
            if (sequence < expected) continue; // delivered again
            if (sequence > expected)
            {
                gapAt = sequence;
                break;
            }
            expected++;
            last = msg;
            try
            {
                var change = EdgeChange.Decode(msg.Data ?? []);
                EdgeSyncCounters.ObserveSince(Counters.ReceiveDelay, change.CommittedUnixMs, receivedUnixMs);
                changes.Add(change);
            }
            catch (InvalidDataException e)
            {
                Interlocked.Increment(ref Counters.Rejected);
                _logger.LogError(ChangeRejected, "edge {Edge}: stream message {Message} is not a change ({Error}); skipped", _edgeId, sequence, e.Message);
            }
        }
        if (changes.Count > 0) Apply(changes);
        if (last is { } acked)
        {
            await acked.AckAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref Counters.Pending, (long)(acked.Metadata?.NumPending ?? 0));
        }
        if (gapAt != 0)
        {
            Interlocked.Increment(ref Counters.Gaps);
            _logger.LogWarning(StreamGap, "edge {Edge}: stream message {Got} arrived while {Expected} was due; resyncing", _edgeId, gapAt, expected);
            throw new IOException($"stream message {expected} was not delivered");
        }
        return expected;
    }

    private void Apply(List<EdgeChange> changes)
    {
        long started = Stopwatch.GetTimestamp();
        int applied;
        try
        {
            applied = EdgeChangeApplier.ApplyAll(_store, changes);
        }
        catch (InvalidDataException)
        {
            // One change does not fit: apply them one by one so that only that one is left out.
            applied = 0;
            foreach (var change in changes)
            {
                try
                {
                    if (EdgeChangeApplier.Apply(_store, change)) applied++;
                }
                catch (InvalidDataException e)
                {
                    Interlocked.Increment(ref Counters.Rejected);
                    _logger.LogError(ChangeRejected, "edge {Edge}: change {Sequence} not applied: {Error}", _edgeId, change.Sequence, e.Message);
                }
            }
        }
        Counters.ApplyLatency.Observe(started);
        Interlocked.Add(ref Counters.Applied, applied);
        Interlocked.Add(ref Counters.Skipped, changes.Count - applied);
        Interlocked.Exchange(ref Counters.AppliedSequence, EdgeChangeApplier.AppliedSequence(_store));
        bool zones = false;
        foreach (var change in changes)
        {
            Counters.ObserveDelay(change.CommittedUnixMs);
            zones |= change.Kind != EdgeChangeKind.SetNodes || change.Nodes.Any(n => n.Owner.Equals(change.Apex));
        }
        if (zones && applied > 0) ZonesChanged?.Invoke();
    }

    private async Task<long> BootstrapAsync(CancellationToken cancellationToken)
    {
        var snapshot = await _snapshots!.FetchAsync(cancellationToken).ConfigureAwait(false);
        EdgeChangeApplier.Bootstrap(_store, snapshot.Sequence, snapshot.Zones);
        Interlocked.Increment(ref Counters.Bootstraps);
        Interlocked.Exchange(ref Counters.AppliedSequence, snapshot.Sequence);
        _logger.LogInformation(Bootstrapped, "edge {Edge}: loaded the snapshot at sequence {Sequence} ({Zones} zones)", _edgeId, snapshot.Sequence, snapshot.Zones.Count);
        ZonesChanged?.Invoke();
        return snapshot.Sequence;
    }

    public void AppendMetrics(StringBuilder sb) => Counters.AppendPrometheus(sb);

    public ValueTask DisposeAsync()
    {
        (_snapshots as IDisposable)?.Dispose();
        return _connection.DisposeAsync();
    }
}

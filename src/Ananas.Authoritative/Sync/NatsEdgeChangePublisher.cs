using System.Globalization;
using Ananas.Authoritative.Changes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Ananas.Authoritative.Sync;

/// <summary>
/// Publishes the pipeline's changes onto <see cref="EdgeChangeStream"/>: the change's sequence is the message id, so
/// a change published twice (a publisher restarted before it marked the change published) is stored once, and
/// <see cref="PublishAsync"/> returns only after JetStream acknowledged the message as stored.
/// </summary>
public sealed class NatsEdgeChangePublisher : IEdgeChangePublisher, IAsyncDisposable
{
    private readonly NatsConnection _connection;
    private readonly NatsJSContext _js;
    private volatile bool _streamReady;

    public NatsEdgeChangePublisher(string url, string name = "ananas-pipeline")
    {
        if (EdgeChangeStream.Validate(url) is { } error) throw new ArgumentException(error, nameof(url));
        // A short ack timeout: a publish lost in a NATS restart is sent again soon, and the message id makes the second one a no-op.
        _connection = new NatsConnection(EdgeChangeStream.Options(url, name, TimeSpan.FromSeconds(1)));
        _js = new NatsJSContext(_connection);
        // What was sent before the connection dropped, or while it was down, may never be acknowledged: fail it now
        // (the publisher sends it again at once, deduplicated) instead of after the acknowledgement timeout.
        _connection.ConnectionDisconnected += (_, _) =>
        {
            _streamReady = false; // a NATS restarted without its store has no stream
            FailInFlight();
            return ValueTask.CompletedTask;
        };
        _connection.ConnectionOpened += (_, _) =>
        {
            FailInFlight();
            return ValueTask.CompletedTask;
        };
    }

    /// <summary>Cancelled when the connection drops or opens again: every acknowledgement awaited then.</summary>
    private CancellationTokenSource _inFlight = new();

    private void FailInFlight() => Interlocked.Exchange(ref _inFlight, new CancellationTokenSource()).Cancel();

    public bool ChainsBatches => true;

    /// <summary>
    /// Sends every change without waiting, the first with <paramref name="follows"/> and each next one with its
    /// predecessor as the expected last message id (JetStream refuses a message whose predecessor is not the stream's
    /// last, so a batch that overtook a failed one stores nothing); the task returned awaits the acknowledgements in
    /// order and stops at the first failure, leaving the rest to the caller's retry (no one-at-a-time fallback here:
    /// later batches may already be on their way).
    /// </summary>
    public async Task<Task<(int Published, Exception? Failure)>> SendChainedAsync(IReadOnlyList<EdgeChange> changes, long follows, CancellationToken cancellationToken)
    {
        await EnsureStreamAsync(cancellationToken).ConfigureAwait(false);
        var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Volatile.Read(ref _inFlight).Token);
        var acks = new Task<PubAckResponse>[changes.Count];
        for (int i = 0; i < changes.Count; i++)
            acks[i] = SendAsync(changes[i], i > 0 ? Id(changes[i - 1]) : follows > 0 ? follows.ToString(CultureInfo.InvariantCulture) : null, linked.Token);
        return AcknowledgedAsync(acks, linked);
    }

    private async Task<(int Published, Exception? Failure)> AcknowledgedAsync(Task<PubAckResponse>[] acks, CancellationTokenSource linked)
    {
        using (linked)
        {
            for (int done = 0; done < acks.Length; done++)
            {
                try
                {
                    Count(await acks[done].ConfigureAwait(false));
                }
                catch (Exception e)
                {
                    linked.Cancel(); // the rest follow the failed one: refused, or stored and deduplicated when sent again
                    for (int i = done + 1; i < acks.Length; i++) _ = acks[i].ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
                    return (done, e);
                }
            }
            return (acks.Length, null);
        }
    }

    /// <summary>Changes the stream stored for the first time (not duplicates).</summary>
    public long Published => Interlocked.Read(ref _published);

    private long _published;

    public async Task PublishAsync(EdgeChange change, CancellationToken cancellationToken)
    {
        await EnsureStreamAsync(cancellationToken).ConfigureAwait(false);
        Count(await SendAsync(change, null, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Pipelined: sends every change without waiting, then awaits the acknowledgements in order. Each change after the
    /// first carries the previous one's id as the expected last message id, so JetStream refuses one that overtook
    /// its predecessor (it stores nothing out of order); from the first refusal or failure on, the rest are sent one
    /// at a time, each awaited, which is the order-safe way that needs no expectation.
    /// </summary>
    public async Task<(int Published, Exception? Failure)> PublishAllAsync(IReadOnlyList<EdgeChange> changes, CancellationToken cancellationToken)
    {
        await EnsureStreamAsync(cancellationToken).ConfigureAwait(false);
        var acks = new Task<PubAckResponse>[changes.Count];
        for (int i = 0; i < changes.Count; i++)
            acks[i] = SendAsync(changes[i], i == 0 ? null : Id(changes[i - 1]), cancellationToken);
        int done = 0;
        for (; done < acks.Length; done++)
        {
            try
            {
                Count(await acks[done].ConfigureAwait(false));
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }
        // Observe the acknowledgements not awaited above (their failures are expected after the first one).
        for (int i = done; i < acks.Length; i++) _ = acks[i].ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        for (; done < changes.Count; done++)
        {
            try
            {
                await PublishAsync(changes[done], cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return (done, e);
            }
        }
        return (done, null);
    }

    private async Task EnsureStreamAsync(CancellationToken cancellationToken)
    {
        if (_streamReady) return;
        await EdgeChangeStream.EnsureAsync(_js, cancellationToken).ConfigureAwait(false);
        _streamReady = true;
    }

    private static string Id(EdgeChange change) => change.Sequence.ToString(CultureInfo.InvariantCulture);

    private async Task<PubAckResponse> SendAsync(EdgeChange change, string? expectedLastId, CancellationToken cancellationToken) =>
        await _js.PublishAsync(EdgeChangeStream.Subject, change.Encode(),
            opts: new NatsJSPubOpts { MsgId = Id(change), ExpectedLastMsgId = expectedLastId },
            cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>Throws unless JetStream stored the message (now or before: a duplicate id is what the message id is for).</summary>
    private void Count(PubAckResponse ack)
    {
        if (ack.Duplicate) return;
        ack.EnsureSuccess();
        Interlocked.Increment(ref _published);
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}

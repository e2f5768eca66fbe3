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
    private bool _streamReady;

    public NatsEdgeChangePublisher(string url, string name = "ananas-pipeline")
    {
        if (EdgeChangeStream.Validate(url) is { } error) throw new ArgumentException(error, nameof(url));
        // A short ack timeout: a publish lost in a NATS restart is sent again soon, and the message id makes the second one a no-op.
        _connection = new NatsConnection(EdgeChangeStream.Options(url, name, TimeSpan.FromSeconds(1)));
        _js = new NatsJSContext(_connection);
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

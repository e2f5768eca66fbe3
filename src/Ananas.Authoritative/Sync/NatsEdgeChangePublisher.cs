using System.Globalization;
using Ananas.Authoritative.Changes;
using NATS.Client.Core;
using NATS.Client.JetStream;

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
        if (!_streamReady)
        {
            await EdgeChangeStream.EnsureAsync(_js, cancellationToken).ConfigureAwait(false);
            _streamReady = true;
        }
        var ack = await _js.PublishAsync(EdgeChangeStream.Subject, change.Encode(),
            opts: new NatsJSPubOpts { MsgId = change.Sequence.ToString(CultureInfo.InvariantCulture) },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        if (ack.Duplicate) return; // stored before: what the message id is for
        ack.EnsureSuccess();
        Interlocked.Increment(ref _published);
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}

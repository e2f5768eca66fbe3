using System.Threading.Channels;
using Ananas.Authoritative.Changes;
using Ananas.Pipeline.Database;
using Ananas.Server.Pipeline;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Ananas.Pipeline.Changes;

/// <summary>
/// Reads the outbox in sequence order a batch at a time, turns the batch into <see cref="EdgeChange"/>s from one
/// snapshot (<see cref="ChangeTransformer"/>), publishes them in order (the target may pipeline them) and only then
/// marks what was published; running, it reads and sends the next batches while the ones before await their acknowledgements. A failure (database or publish target) stops at that entry and
/// retries it after a back-off, so nothing is skipped or reordered; after a crash between publishing and marking, the
/// entry is published again (at least once; edges ignore a sequence they already applied). Woken by changes committed
/// in this process, by PostgreSQL NOTIFY for other processes, and by a poll.
/// </summary>
public sealed class OutboxPublisher(CentralDatabase database, IEdgeChangePublisher target, TimeSpan pollInterval, ILogger logger) : IAsyncDisposable
{
    /// <summary>Published entries older than this are removed (the outbox's bound; <c>api.outbox-retention</c>).</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(7);

    private static readonly TimeSpan PruneInterval = TimeSpan.FromMinutes(1);
    private long _lastPruneMs;

    /// <summary>Entries read per database round trip.</summary>
    public const int BatchSize = 256;

    /// <summary>With PostgreSQL, NOTIFY wakes the publisher; this poll only covers a lost notification.</summary>
    public static readonly TimeSpan NotifiedPollInterval = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan MinRetryDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>The wait before the next retry; back to <see cref="MinRetryDelay"/> after a batch goes through.</summary>
    private TimeSpan _retryDelay = MinRetryDelay;

    /// <summary>
    /// How long a woken publisher waits before reading, so that changes committed close together share one round
    /// (about ten statements however many entries it carries) instead of one round each; the wakes they send meanwhile
    /// are absorbed. Zero: read at once.
    /// </summary>
    public TimeSpan GatherDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private Task? _listener;

    /// <summary>On PostgreSQL, only the publisher holding the outbox's advisory lock publishes (several API servers may share a database).</summary>
    private volatile bool _holdsOutbox;

    /// <summary>The session advisory lock that makes one publisher per PostgreSQL database.</summary>
    public const long PublisherLockKey = 4242002;

    /// <summary>The last sequence published and marked.</summary>
    public long PublishedThrough { get; private set; }

    /// <summary>Publishes counted since start (a republished entry counts again).</summary>
    public long PublishedCount { get; private set; }

    /// <summary>Batches sent since start: one outbox round each (sequencing and read, transform, send).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    private long _batches;

    /// <summary>Publish or database failures since start.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    private long _failures;

    /// <summary>From a change's commit to the publisher reading it from the outbox (the wait for a publisher round).</summary>
    public LatencyHistogram ReadDelay { get; } = new(LatencyHistogram.PropagationBounds);

    /// <summary>From a change's commit to the target holding it (JetStream's acknowledgement, or the local store's commit).</summary>
    public LatencyHistogram PublishDelay { get; } = new(LatencyHistogram.PropagationBounds);

    public void Start()
    {
        database.Committed += Wake;
        _loop = Task.Run(() => RunAsync(_stop.Token));
        if (database.Dialect is PostgresDialect postgres) _listener = Task.Run(() => ListenAsync(postgres, _stop.Token));
    }

    public void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0) _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken.
        }
    }

    /// <summary>A batch read and transformed, to be published; <see cref="Epoch"/> is the publisher's epoch when it was read.</summary>
    private sealed record Round(long Epoch, List<OutboxEntry> Entries, List<EdgeChange> Changes);

    /// <summary>
    /// Publishes everything waiting now, in order, one batch after the other; returns how many entries were
    /// published. Entries are marked once per batch (and up to the last one published when a publish fails), so a
    /// crash republishes at most a batch.
    /// </summary>
    public async Task<int> PublishPendingAsync(CancellationToken cancellationToken)
    {
        int published = 0;
        while (true)
        {
            var round = await ReadAsync(0, 0, cancellationToken);
            if (round.Entries.Count == 0) return published;
            published += await PublishAsync(round, cancellationToken);
            if (round.Entries.Count < BatchSize) return published;
        }
    }

    /// <summary>Gives pending changes their sequences, reads the next batch after <paramref name="after"/> and transforms it.</summary>
    private async Task<Round> ReadAsync(long epoch, long after, CancellationToken cancellationToken)
    {
        var batch = await database.UnpublishedAsync(BatchSize, cancellationToken, after);
        if (batch.Count == 0) return new Round(epoch, batch, []);
        ObserveSinceCommit(ReadDelay, batch, batch.Count);
        return new Round(epoch, batch, await ChangeTransformer.TransformAllAsync(database, batch, cancellationToken));
    }

    /// <summary>Publishes a batch and marks what the target holds; throws the failure that stopped it after marking the part before.</summary>
    private async Task<int> PublishAsync(Round round, CancellationToken cancellationToken)
    {
        var (count, failure) = await target.PublishAllAsync(round.Changes, cancellationToken);
        if (count > 0)
        {
            // Marked only after the target holds them: a crash before this republishes them (edges skip what they applied).
            ObserveSinceCommit(PublishDelay, round.Entries, count);
            long done = round.Changes[count - 1].Sequence;
            await database.MarkPublishedThroughAsync(done, CancellationToken.None);
            PublishedThrough = done;
            PublishedCount += count;
        }
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        return count;
    }

    private static void ObserveSinceCommit(LatencyHistogram histogram, List<OutboxEntry> entries, int count)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (int i = 0; i < count; i++) histogram.Observe(TimeSpan.FromMilliseconds(Math.Max(0, now - entries[i].CommittedMs)));
    }

    // The running publisher is three loops: one reads and transforms the next batch, one sends it, one awaits the
    // acknowledgements and marks, so that reading, sending and waiting for the target overlap instead of adding up.
    // A target that chains batches (NATS: each message names its predecessor) gets the next batch while the ones
    // before still await their acknowledgements; another one gets it once the one before is durable. Batches pass
    // in sequence order through bounded queues. When a publish fails, the epoch moves on: the batches sent or read
    // after it are dropped (a chained target refused them, or stored them in order and deduplicates them when they
    // are sent again) and reading starts again from the first unmarked entry, so nothing is skipped or reordered.
    private long _epoch;

    /// <summary>Batches sent whose acknowledgements are awaited at most (chaining targets).</summary>
    public const int MaxBatchesInFlight = 8;

    /// <summary>A batch sent; <see cref="Durable"/> completes with how many of it the target holds.</summary>
    private sealed record Sent(Round Round, Task<(int Published, Exception? Failure)> Durable);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var read = Channel.CreateBounded<Round>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        var sent = Channel.CreateBounded<Sent>(new BoundedChannelOptions(target.ChainsBatches ? MaxBatchesInFlight : 1) { SingleReader = true, SingleWriter = true });
        var sending = SendLoopAsync(read.Reader, sent.Writer, cancellationToken);
        var acknowledging = AcknowledgeLoopAsync(sent.Reader, cancellationToken);
        try
        {
            await ReadLoopAsync(read.Writer, cancellationToken);
        }
        finally
        {
            read.Writer.TryComplete();
            await sending;
            await acknowledging;
        }
    }

    private async Task ReadLoopAsync(ChannelWriter<Round> queue, CancellationToken cancellationToken)
    {
        bool postgres = database.Dialect is PostgresDialect;
        var interval = postgres ? NotifiedPollInterval : pollInterval;
        long epoch = -1, after = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (!postgres || _holdsOutbox)
                {
                    long now = Interlocked.Read(ref _epoch);
                    if (now != epoch) (epoch, after) = (now, 0); // a publish failed: from the first unpublished entry again
                    var round = await ReadAsync(epoch, after, cancellationToken);
                    if (round.Entries.Count > 0)
                    {
                        await queue.WriteAsync(round, cancellationToken);
                        after = round.Entries[^1].Sequence;
                        if (round.Entries.Count == BatchSize) continue;
                    }
                }
                if (await _wake.WaitAsync(interval, cancellationToken) && GatherDelay > TimeSpan.Zero)
                {
                    await Task.Delay(GatherDelay, cancellationToken);
                    // What commits from here on wakes the next round; what committed before is read by this one.
                    _wake.Wait(0, CancellationToken.None);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                if (!await FailedAsync(e, cancellationToken)) return;
            }
        }
    }

    private async Task SendLoopAsync(ChannelReader<Round> queue, ChannelWriter<Sent> sent, CancellationToken cancellationToken)
    {
        long epoch = -1, follows = 0, stopped = -1;
        try
        {
            await foreach (var round in queue.ReadAllAsync(cancellationToken))
            {
                long now = Interlocked.Read(ref _epoch);
                // Read before a failure, or after a batch this loop saw fail: it follows the failed entry.
                if (round.Epoch != now || round.Epoch == stopped) continue;
                if (epoch != now) (epoch, follows) = (now, 0); // the first batch after a failure follows whatever the target holds
                Task<(int Published, Exception? Failure)> durable;
                try
                {
                    durable = Settled(await target.SendChainedAsync(round.Changes, follows, cancellationToken));
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    durable = Task.FromResult<(int, Exception?)>((0, e));
                }
                // A target that does not chain gets the next batch only once this one is durable; one that failed
                // gets nothing more of this epoch (the acknowledging loop starts the next from the failed entry).
                if ((!target.ChainsBatches || durable.IsCompleted) && (await durable).Failure is not null) stopped = epoch;
                follows = round.Changes[^1].Sequence;
                Interlocked.Increment(ref _batches);
                await sent.WriteAsync(new Sent(round, durable), CancellationToken.None); // drained even when stopping
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            sent.TryComplete();
        }
    }

    /// <summary>The target's outcome, a failure thrown included (never throws).</summary>
    private static async Task<(int Published, Exception? Failure)> Settled(Task<(int Published, Exception? Failure)> durable)
    {
        try
        {
            return await durable;
        }
        catch (Exception e)
        {
            return (0, e);
        }
    }

    /// <summary>Marks what the target acknowledged; drains the queue when stopping, so that a stop marks all that is durable.</summary>
    private async Task AcknowledgeLoopAsync(ChannelReader<Sent> sent, CancellationToken cancellationToken)
    {
        long unmarked = 0; // the last sequence the target holds that is not marked yet
        await foreach (var batch in sent.ReadAllAsync(CancellationToken.None))
        {
            var (count, failure) = await batch.Durable;
            if (batch.Round.Epoch != Interlocked.Read(ref _epoch)) continue; // sent before a failure: sent again
            try
            {
                if (count > 0)
                {
                    ObserveSinceCommit(PublishDelay, batch.Round.Entries, count);
                    unmarked = batch.Round.Changes[count - 1].Sequence;
                    PublishedCount += count;
                }
                // One mark covers the batches already acknowledged behind this one; a crash republishes them (deduplicated).
                bool more = failure is null && sent.TryPeek(out var next) && next.Durable.IsCompleted;
                if (unmarked > PublishedThrough && !more)
                {
                    await database.MarkPublishedThroughAsync(unmarked, CancellationToken.None);
                    PublishedThrough = unmarked;
                }
                if (cancellationToken.IsCancellationRequested) continue;
                if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
                _retryDelay = MinRetryDelay;
                await PruneAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                Interlocked.Increment(ref _epoch);
                if (await FailedAsync(e, cancellationToken)) Wake(); // the reading loop starts again from the first unmarked entry
            }
        }
    }

    /// <summary>
    /// Counts and logs a failure, then waits before the retry: 50 ms after a first failure (a NATS restart fails the
    /// batches in flight, which go out again as soon as it is back), doubling up to 0.5 s while failures go on.
    /// False when stopped meanwhile.
    /// </summary>
    private async Task<bool> FailedAsync(Exception e, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _failures);
        var delay = _retryDelay;
        _retryDelay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
        logger.LogWarning(4001, "outbox publisher: {Message}; retrying in {Delay} ms", e.Message, (int)delay.TotalMilliseconds);
        try
        {
            await Task.Delay(delay, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task PruneAsync(CancellationToken cancellationToken)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (now - _lastPruneMs < PruneInterval.TotalMilliseconds) return;
        _lastPruneMs = now;
        int removed = await database.PruneOutboxAsync(now - (long)Retention.TotalMilliseconds, cancellationToken);
        if (removed > 0) logger.LogDebug(4005, "outbox publisher: removed {Count} entries published more than {Retention} ago", removed, Retention);
    }

    /// <summary>LISTENs on the outbox channel, waking the loop on each NOTIFY; reconnects after a failure.</summary>
    private async Task ListenAsync(PostgresDialect postgres, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(postgres.ConnectionString);
                await connection.OpenAsync(cancellationToken);
                await using (var take = new NpgsqlCommand($"SELECT pg_try_advisory_lock({PublisherLockKey})", connection))
                {
                    if (await take.ExecuteScalarAsync(cancellationToken) is not true)
                    {
                        logger.LogInformation(4004, "outbox publisher: another publisher holds the outbox; standing by");
                        await Task.Delay(NotifiedPollInterval, cancellationToken);
                        continue;
                    }
                }
                _holdsOutbox = true;
                connection.Notification += (_, _) => Wake();
                await using (var listen = new NpgsqlCommand($"LISTEN {PostgresDialect.Channel}", connection))
                    await listen.ExecuteNonQueryAsync(cancellationToken);
                Wake(); // anything committed while not listening
                while (!cancellationToken.IsCancellationRequested) await connection.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                _holdsOutbox = false;
                return;
            }
            catch (Exception e)
            {
                // The lock went with the connection: another publisher may take over.
                _holdsOutbox = false;
                logger.LogWarning(4002, "outbox publisher: LISTEN failed ({Message}); polling every {Interval} until it reconnects", e.Message, NotifiedPollInterval);
                try
                {
                    await Task.Delay(MaxRetryDelay, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        database.Committed -= Wake;
        await _stop.CancelAsync();
        if (_loop is not null) await _loop;
        if (_listener is not null) await _listener;
        _stop.Dispose();
        _wake.Dispose();
    }
}

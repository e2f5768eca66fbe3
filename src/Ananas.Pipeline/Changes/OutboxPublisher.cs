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
/// marks what was published; running, it reads the next batch while the one before is published. A failure (database or publish target) stops at that entry and
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

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

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

    // The running publisher is two loops: one reads and transforms the next batch while the other publishes the one
    // before and awaits its acknowledgement (the two waits overlap instead of adding up). Batches reach the publishing
    // loop in sequence order through a queue of one. When a publish fails, the epoch moves on: the publishing loop
    // drops the batches read before (they follow the failed entry) and the reading loop starts again from the first
    // unpublished entry, so nothing is skipped, reordered or, past what JetStream deduplicates, sent twice.
    private long _epoch;

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var queue = Channel.CreateBounded<Round>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        var publishing = PublishLoopAsync(queue.Reader, cancellationToken);
        try
        {
            await ReadLoopAsync(queue.Writer, cancellationToken);
        }
        finally
        {
            queue.Writer.TryComplete();
            await publishing;
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

    private async Task PublishLoopAsync(ChannelReader<Round> queue, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var round in queue.ReadAllAsync(cancellationToken))
            {
                if (round.Epoch != Interlocked.Read(ref _epoch)) continue; // read before a failure: follows the failed entry
                try
                {
                    await PublishAsync(round, cancellationToken);
                    // Here, not in the reading loop: the entries read are only marked published now.
                    await PruneAsync(cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref _epoch);
                    Wake(); // the reading loop starts again from the failed entry
                    if (!await FailedAsync(e, cancellationToken)) return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Counts and logs a failure, then waits before the retry; false when stopped meanwhile.</summary>
    private async Task<bool> FailedAsync(Exception e, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _failures);
        logger.LogWarning(4001, "outbox publisher: {Message}; retrying in {Delay}", e.Message, RetryDelay);
        try
        {
            await Task.Delay(RetryDelay, cancellationToken);
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
                    await Task.Delay(RetryDelay, cancellationToken);
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

using Ananas.Authoritative.Changes;
using Ananas.Pipeline.Database;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Ananas.Pipeline.Changes;

/// <summary>
/// Reads the outbox in sequence order a batch at a time, turns the batch into <see cref="EdgeChange"/>s from one
/// snapshot (<see cref="ChangeTransformer"/>), publishes them in order (the target may pipeline them) and only then
/// marks what was published. A failure (database or publish target) stops at that entry and
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
    public long Failures { get; private set; }

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

    /// <summary>
    /// Publishes everything waiting now, in order; returns how many entries were published. Entries are marked once
    /// per batch (and up to the last one published when a publish fails), so a crash republishes at most a batch.
    /// </summary>
    public async Task<int> PublishPendingAsync(CancellationToken cancellationToken)
    {
        int published = 0;
        while (true)
        {
            var batch = await database.UnpublishedAsync(BatchSize, cancellationToken);
            if (batch.Count == 0) return published;
            var changes = await ChangeTransformer.TransformAllAsync(database, batch, cancellationToken);
            var (count, failure) = await target.PublishAllAsync(changes, cancellationToken);
            if (count > 0)
            {
                // Marked only after the target holds them: a crash before this republishes them (edges skip what they applied).
                long done = changes[count - 1].Sequence;
                await database.MarkPublishedThroughAsync(done, CancellationToken.None);
                PublishedThrough = done;
                PublishedCount += count;
                published += count;
            }
            if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            if (batch.Count < BatchSize) return published;
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        bool postgres = database.Dialect is PostgresDialect;
        var interval = postgres ? NotifiedPollInterval : pollInterval;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (!postgres || _holdsOutbox)
                {
                    await PublishPendingAsync(cancellationToken);
                    await PruneAsync(cancellationToken);
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
                Failures++;
                logger.LogWarning(4001, "outbox publisher: {Message}; retrying in {Delay}", e.Message, RetryDelay);
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

using Ananas.Authoritative.Changes;
using Ananas.Dns;
using Ananas.Pipeline.Changes;
using Ananas.Pipeline.Database;
using Ananas.Pipeline.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Pipeline.Tests;

/// <summary>The running publisher reads the next batch while the one before awaits its acknowledgement, and keeps order and exactly-once through a failure.</summary>
public sealed class PublisherPipeliningTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<(CentralDatabase Database, string Zone)> ZoneAsync()
    {
        var database = await TestDatabases.OpenAsync(TestDatabases.Sqlite());
        var records = ZoneText.NewZone(DnsName.Parse("example.com."), ["ns1.example.net"], null).Value!;
        var zone = await database.CreateZoneAsync(DnsName.Parse("example.com."), records, None);
        return (database, zone.Value!.Id);
    }

    private static async Task AddAsync(CentralDatabase database, string zone, params string[] names)
    {
        foreach (var name in names) Assert.Null((await database.AddRecordAsync(zone, new RecordInput(name, "A", "192.0.2.1", 300), None)).Failure);
    }

    /// <summary>Waits (at most 10 s) until no committed change is left without its sequence: the publisher has read them.</summary>
    private static async Task<bool> AllSequencedAsync(CentralDatabase database)
    {
        for (int i = 0; i < 400; i++)
        {
            if (await DatabaseState.ScalarAsync(database, "SELECT COUNT(*) FROM outbox_pending") == 0) return true;
            await Task.Delay(25);
        }
        return false;
    }

    [Fact]
    public async Task The_running_publisher_reads_the_next_batch_while_the_one_before_awaits_its_acknowledgement()
    {
        var (database, zone) = await ZoneAsync();
        var target = new GatedPublisher();
        await using (var publisher = new OutboxPublisher(database, target, TimeSpan.FromMilliseconds(20), NullLogger.Instance))
        {
            publisher.Start();
            await target.FirstCalled.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the zone's creation, not acknowledged yet
            // One change per read, each read before the next commits: how changes committed back to back fall into
            // batches depends on how fast the host commits them (the gathering has its own test), and [1] held leaves
            // room for two batches read ahead (one queued, one waiting to be).
            await AddAsync(database, zone, "a");
            Assert.True(await AllSequencedAsync(database), "the next batch was not read while the first one was being published");
            await AddAsync(database, zone, "b");
            Assert.True(await AllSequencedAsync(database), "the batch after it was not read while the first one was being published");
            Assert.Empty(Assert.Single(target.Batches)); // still only the first publish, held

            target.Open();
            for (int i = 0; i < 400 && target.Published.Count < 3; i++) await Task.Delay(25);
        }
        Assert.Equal([1L, 2, 3], target.Published);
        Assert.Equal(["1", "2", "3"], target.Batches.Select(b => string.Join(",", b))); // the batches read ahead, each sent once, in order
        Assert.Empty(await database.UnpublishedAsync(10, None));
    }

    [Fact]
    public async Task A_failed_publish_drops_the_batches_read_after_it_and_sends_everything_again_from_the_failed_entry_in_order()
    {
        var (database, zone) = await ZoneAsync();
        var target = new GatedPublisher { FailOnceAt = 2 };
        await using (var publisher = new OutboxPublisher(database, target, TimeSpan.FromMilliseconds(20), NullLogger.Instance))
        {
            publisher.Start();
            await target.FirstCalled.Task.WaitAsync(TimeSpan.FromSeconds(10));
            // While sequence 1 awaits its acknowledgement: [2] is read and queued, then [3] is read behind it (one
            // change per read, each read before the next commits: back-to-back commits may or may not share a read).
            await AddAsync(database, zone, "a");
            Assert.True(await AllSequencedAsync(database));
            await AddAsync(database, zone, "b");
            Assert.True(await AllSequencedAsync(database));

            target.Open(); // 1 is stored, the batch [2] fails; [3] must not go out before 2
            for (int i = 0; i < 400 && target.Published.Count < 3; i++) await Task.Delay(25);
            Assert.Equal(1, publisher.Failures);
        }
        Assert.Equal([1L, 2, 3], target.Published);
        Assert.Empty(await database.UnpublishedAsync(10, None));
    }

    [Fact]
    public async Task The_publisher_records_each_change_s_time_from_its_commit_to_its_read_and_to_its_publish()
    {
        var (database, zone) = await ZoneAsync();
        await AddAsync(database, zone, "a");
        // Committed at least 300 ms before the publisher reads them: the wait is 320 ms, as a timer may fire a tick
        // (a millisecond or two) early against the clock that stamps commits.
        await Task.Delay(320);
        var publisher = new OutboxPublisher(database, new RecordingPublisher(), TimeSpan.FromMilliseconds(20), NullLogger.Instance);
        Assert.Equal(2, await publisher.PublishPendingAsync(None));
        foreach (var histogram in new[] { publisher.ReadDelay, publisher.PublishDelay })
        {
            var counts = histogram.Snapshot();
            Assert.Equal(2, counts.Sum());
            int firstAbove = Array.FindIndex(histogram.BoundsSeconds, b => b >= 0.3);
            Assert.Equal(0, counts[..firstAbove].Sum()); // none in a bucket that ends before 300 ms
            Assert.InRange(histogram.SumSeconds, 0.6, 60);
        }
    }

    [Fact]
    public async Task A_chaining_target_gets_the_next_batch_following_the_one_before_while_that_one_still_awaits_its_acknowledgement()
    {
        var (database, zone) = await ZoneAsync();
        var target = new ChainingPublisher();
        await using (var publisher = new OutboxPublisher(database, target, TimeSpan.FromMilliseconds(20), NullLogger.Instance))
        {
            publisher.Start();
            Assert.True(await target.SentAtLeastAsync(1)); // the zone's creation, not acknowledged
            await AddAsync(database, zone, "a", "b");
            Assert.True(await target.SentAtLeastAsync(2), "the next batch waited for the acknowledgement of the one before");
            Assert.Equal(["[1] after 0", "[2,3] after 1"], target.Sent.Select(Show));
            Assert.Empty(target.Stored);

            target.Open();
            for (int i = 0; i < 400 && (await database.UnpublishedAsync(10, None)).Count > 0; i++) await Task.Delay(25);
            Assert.Equal(0, publisher.Failures);
            Assert.Equal(3, publisher.PublishedThrough);
        }
        Assert.Equal([1L, 2, 3], target.Stored);
        Assert.Empty(await database.UnpublishedAsync(10, None));
    }

    [Fact]
    public async Task When_a_chained_batch_fails_the_batches_sent_after_it_are_dropped_and_everything_goes_again_from_the_failed_entry_in_order()
    {
        var (database, zone) = await ZoneAsync();
        var target = new ChainingPublisher { FailOnceAt = 2 };
        await using (var publisher = new OutboxPublisher(database, target, TimeSpan.FromMilliseconds(20), NullLogger.Instance))
        {
            publisher.Start();
            Assert.True(await target.SentAtLeastAsync(1));
            await AddAsync(database, zone, "a", "b");
            Assert.True(await target.SentAtLeastAsync(2));
            await AddAsync(database, zone, "c", "d");
            Assert.True(await target.SentAtLeastAsync(3)); // [4, 5] on its way behind [2, 3], which is about to fail at 2

            target.Open(); // 1 stored; 2 fails; [4, 5] follows 3, which the target does not hold: refused
            for (int i = 0; i < 400 && target.Stored.Count < 5; i++) await Task.Delay(25);
            Assert.Equal(1, publisher.Failures);
        }
        Assert.Equal([1L, 2, 3, 4, 5], target.Stored);
        // The retry follows nothing (whatever the target holds) and starts at the failed entry.
        Assert.Equal(["[1] after 0", "[2,3] after 1", "[4,5] after 3", "[2,3,4,5] after 0"], target.Sent.Select(Show));
        Assert.Empty(await database.UnpublishedAsync(10, None));
    }

    private static string Show((long[] Sequences, long Follows) batch) => $"[{string.Join(',', batch.Sequences)}] after {batch.Follows}";

    /// <summary>
    /// A target that chains batches, as JetStream with expected last message ids does: a batch is stored only when it
    /// follows the last change stored (or follows nothing); acknowledgements are held until opened; fails once at a chosen sequence.
    /// </summary>
    private sealed class ChainingPublisher : IEdgeChangePublisher
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<(long[] Sequences, long Follows)> _sent = [];
        private readonly List<long> _stored = [];
        private Task _previous = Task.CompletedTask;

        public long? FailOnceAt { get; set; }

        public void Open() => _gate.TrySetResult();

        public List<(long[] Sequences, long Follows)> Sent
        {
            get
            {
                lock (_sent) return [.. _sent];
            }
        }

        public List<long> Stored
        {
            get
            {
                lock (_stored) return [.. _stored];
            }
        }

        public async Task<bool> SentAtLeastAsync(int batches)
        {
            for (int i = 0; i < 400; i++)
            {
                if (Sent.Count >= batches) return true;
                await Task.Delay(25);
            }
            return false;
        }

        public bool ChainsBatches => true;

        public Task PublishAsync(EdgeChange change, CancellationToken cancellationToken) => throw new InvalidOperationException("published one by one");

        public Task<(int Published, Exception? Failure)> PublishAllAsync(IReadOnlyList<EdgeChange> changes, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("published without a chain");

        public Task<Task<(int Published, Exception? Failure)>> SendChainedAsync(IReadOnlyList<EdgeChange> changes, long follows, CancellationToken cancellationToken)
        {
            var sequences = changes.Select(c => c.Sequence).ToArray();
            lock (_sent) _sent.Add((sequences, follows));
            // Acknowledged in the order sent, once opened.
            var durable = StoreAsync(_previous, sequences, follows);
            _previous = durable;
            return Task.FromResult(durable);
        }

        private async Task<(int, Exception?)> StoreAsync(Task previous, long[] sequences, long follows)
        {
            await previous;
            await _gate.Task;
            lock (_stored)
            {
                if (follows != 0 && (_stored.Count == 0 || _stored[^1] != follows))
                    return (0, new IOException($"batch from {sequences[0]} follows {follows}, not the last stored (test)"));
                for (int i = 0; i < sequences.Length; i++)
                {
                    if (sequences[i] == FailOnceAt)
                    {
                        FailOnceAt = null;
                        return (i, new IOException($"publish of {sequences[i]} failed (test)"));
                    }
                    if (_stored.Count > 0 && _stored[^1] >= sequences[i]) continue; // a duplicate id: stored once
                    _stored.Add(sequences[i]);
                }
                return (sequences.Length, null);
            }
        }
    }

    /// <summary>Holds its first publish until opened; fails once at a chosen sequence (what came before it in the batch is stored).</summary>
    private sealed class GatedPublisher : IEdgeChangePublisher
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<List<long>> _batches = [];
        private int _calls;

        public TaskCompletionSource FirstCalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long? FailOnceAt { get; set; }

        public void Open() => _gate.TrySetResult();

        /// <summary>The sequences stored, per publish call (a call still held shows as empty).</summary>
        public List<List<long>> Batches
        {
            get
            {
                lock (_batches) return [.. _batches.Select(b => b.ToList())];
            }
        }

        public List<long> Published => [.. Batches.SelectMany(b => b)];

        public Task PublishAsync(EdgeChange change, CancellationToken cancellationToken) => throw new InvalidOperationException("published one by one");

        public async Task<(int Published, Exception? Failure)> PublishAllAsync(IReadOnlyList<EdgeChange> changes, CancellationToken cancellationToken)
        {
            var stored = new List<long>();
            lock (_batches) _batches.Add(stored);
            if (Interlocked.Increment(ref _calls) == 1)
            {
                FirstCalled.TrySetResult();
                await _gate.Task.WaitAsync(cancellationToken);
            }
            foreach (var change in changes)
            {
                if (change.Sequence == FailOnceAt)
                {
                    FailOnceAt = null;
                    return (stored.Count, new IOException($"publish of {change.Sequence} failed (test)"));
                }
                lock (_batches) stored.Add(change.Sequence);
            }
            return (changes.Count, null);
        }
    }
}

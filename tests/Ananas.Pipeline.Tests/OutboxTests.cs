using Ananas.Authoritative.Changes;
using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Pipeline.Changes;
using Ananas.Pipeline.Database;
using Ananas.Pipeline.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Pipeline.Tests;

/// <summary>Change capture on both databases: a change and its outbox row commit together, in order, and are published once each, in order.</summary>
public sealed class OutboxTests(PostgresCluster postgres) : IClassFixture<PostgresCluster>
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static RecordInput A(string name, string address) => new(name, "A", address, 300);

    private static async Task<(CentralDatabase Database, string Zone)> ZoneAsync(SqlDialect dialect)
    {
        var database = await TestDatabases.OpenAsync(dialect);
        var records = ZoneText.NewZone(DnsName.Parse("example.com."), ["ns1.example.net", "ns2.example.net"], null).Value!;
        var zone = await database.CreateZoneAsync(DnsName.Parse("example.com."), records, None);
        return (database, zone.Value!.Id);
    }

    [Fact]
    public Task A_change_and_its_outbox_row_commit_together_on_sqlite() => ChangeAndOutboxCommitTogether(TestDatabases.Sqlite());

    [FactWhenPostgresInstalled]
    public async Task A_change_and_its_outbox_row_commit_together_on_postgresql() => await ChangeAndOutboxCommitTogether(await postgres.NewDatabaseAsync());

    private static async Task ChangeAndOutboxCommitTogether(SqlDialect dialect)
    {
        var (database, zone) = await ZoneAsync(dialect);
        var added = await database.AddRecordAsync(zone, A("www", "192.0.2.1"), None);
        Assert.Null(added.Failure);
        var entries = await database.UnpublishedAsync(10, None);
        Assert.Equal([(1L, "replace", ""), (2L, "set", "www.example.com.")], entries.Select(e => (e.Sequence, e.Kind, string.Join(",", e.Owners))));

        // A change refused by validation, and one that fails half-way through its writes, leave no row and no sequence.
        string before = await DatabaseState.ReadAsync(database);
        Assert.NotNull((await database.AddRecordAsync(zone, A("www", "192.0.2.1"), None)).Failure);
        await Assert.ThrowsAsync<IOException>(() => database.ChangeAsync<int>(async change =>
        {
            await change.ExecuteAsync("INSERT INTO zones (id, name, records, created_ms, modified_ms) VALUES ('x', 'half.example.', 0, 0, 0)", None);
            throw new IOException("the disk is gone (test)");
        }, None));
        Assert.Equal(before, await DatabaseState.ReadAsync(database));
        Assert.Null((await database.AddRecordAsync(zone, A("next", "192.0.2.2"), None)).Failure);
        Assert.Equal(3, (await database.UnpublishedAsync(10, None))[^1].Sequence);
    }

    [Fact]
    public Task Concurrent_changes_get_gapless_sequences_in_commit_order_on_sqlite() => GaplessUnderConcurrency(TestDatabases.Sqlite());

    [FactWhenPostgresInstalled]
    public async Task Concurrent_changes_get_gapless_sequences_in_commit_order_on_postgresql() => await GaplessUnderConcurrency(await postgres.NewDatabaseAsync());

    private static async Task GaplessUnderConcurrency(SqlDialect dialect)
    {
        var (database, zone) = await ZoneAsync(dialect);
        var others = new List<string>();
        foreach (var name in new[] { "two.example.", "three.example." })
        {
            var records = ZoneText.NewZone(DnsName.Parse(name), ["ns1.example.net"], null).Value!;
            others.Add((await database.CreateZoneAsync(DnsName.Parse(name), records, None)).Value!.Id);
        }
        string[] zones = [zone, .. others];
        var results = await Task.WhenAll(Enumerable.Range(0, 36).Select(i => Task.Run(() => database.AddRecordAsync(zones[i % 3], A($"host{i}", "192.0.2.1"), None))));
        Assert.All(results, r => Assert.Null(r.Failure));
        var entries = await database.UnpublishedAsync(100, None);
        Assert.Equal(Enumerable.Range(1, 39).Select(i => (long)i), entries.Select(e => e.Sequence));
        Assert.Equal(36, entries.Skip(3).Select(e => e.Owners[0]).Distinct().Count());
        // Changes to one zone take turns: their sequence order is their commit order (commit times never go backwards).
        foreach (var group in entries.GroupBy(e => e.Zone))
            Assert.Equal(group.Select(e => e.CommittedMs).Order(), group.Select(e => e.CommittedMs));
        Assert.Equal((39L, 0L, 39), await database.OutboxStateAsync(None));
    }

    [FactWhenPostgresInstalled]
    public async Task A_change_that_commits_after_a_later_numbered_one_gets_the_next_sequence_and_is_never_skipped_on_postgresql()
    {
        var (database, zone) = await ZoneAsync(await postgres.NewDatabaseAsync());
        await database.UnpublishedAsync(10, None); // the zone's creation: sequence 1
        await database.MarkPublishedThroughAsync(1, None);
        var other = (await database.CreateZoneAsync(DnsName.Parse("other.example."), ZoneText.NewZone(DnsName.Parse("other.example."), ["ns1.example.net"], null).Value!, None)).Value!;
        var inserted = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        // A change that numbers its pending row first and commits last.
        var slow = database.ChangeAsync<int>(async change =>
        {
            await change.ExecuteAsync("INSERT INTO outbox_pending (zone, kind, owners, committed_ms) VALUES ('example.com.', 'set', 'slow.example.com.', 0)", None);
            change.Recorded = true;
            inserted.SetResult();
            await release.Task;
            return new(1, null);
        }, None);
        await inserted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null((await database.AddRecordAsync(other.Id, A("fast", "192.0.2.1"), None)).Failure);

        var first = await database.UnpublishedAsync(10, None);
        Assert.Equal([(2L, "other.example."), (3L, "fast.other.example.")], first.Select(e => (e.Sequence, e.Kind == "set" ? e.Owners[0].ToString() : e.Zone.ToString())));
        Assert.Equal((3L, 1L, 2), await database.OutboxStateAsync(None));

        release.SetResult();
        await slow.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((4L, 1L, 3), await database.OutboxStateAsync(None));
        var all = await database.UnpublishedAsync(10, None);
        Assert.Equal([2L, 3, 4], all.Select(e => e.Sequence));
        Assert.Equal("slow.example.com.", all[^1].Owners[0].ToString());
        Assert.Equal(0, await DatabaseState.ScalarAsync(database, "SELECT COUNT(*) FROM outbox_pending"));
    }

    [Fact]
    public Task The_publisher_publishes_in_order_marks_after_publishing_and_resumes_after_a_failure_on_sqlite() => PublisherOrderAndRestart(TestDatabases.Sqlite());

    [FactWhenPostgresInstalled]
    public async Task The_publisher_publishes_in_order_marks_after_publishing_and_resumes_after_a_failure_on_postgresql() =>
        await PublisherOrderAndRestart(await postgres.NewDatabaseAsync());

    private static async Task PublisherOrderAndRestart(SqlDialect dialect)
    {
        var (database, zone) = await ZoneAsync(dialect);
        for (int i = 0; i < 5; i++) Assert.Null((await database.AddRecordAsync(zone, A($"h{i}", "192.0.2.1"), None)).Failure);
        var target = new RecordingPublisher { FailAt = 4 };
        var first = new OutboxPublisher(database, target, TimeSpan.FromMilliseconds(50), NullLogger.Instance);
        await Assert.ThrowsAsync<IOException>(() => first.PublishPendingAsync(None));
        Assert.Equal([1L, 2, 3], target.Changes.Select(c => c.Sequence));
        Assert.Equal(4, (await database.UnpublishedAsync(10, None))[0].Sequence);

        // A new publisher (a restart) continues at the failed entry: nothing lost, nothing published twice, in order.
        target.FailAt = null;
        var second = new OutboxPublisher(database, target, TimeSpan.FromMilliseconds(50), NullLogger.Instance);
        Assert.Equal(3, await second.PublishPendingAsync(None));
        Assert.Equal([1L, 2, 3, 4, 5, 6], target.Changes.Select(c => c.Sequence));
        Assert.Empty(await database.UnpublishedAsync(10, None));
        Assert.Equal((6L, 6L, 0), await database.OutboxStateAsync(None));
    }

    [Fact]
    public async Task The_running_publisher_sends_each_committed_change_to_the_edge_store_once_even_when_republished()
    {
        var (database, zone) = await ZoneAsync(TestDatabases.Sqlite());
        using var store = new EdgeStore(Path.Combine(TestDatabases.TempDirectory(), "edge"));
        var local = new LocalEdgePublisher(store);
        await using (var publisher = new OutboxPublisher(database, local, TimeSpan.FromMilliseconds(20), NullLogger.Instance))
        {
            publisher.Start();
            Assert.Null((await database.AddRecordAsync(zone, A("www", "192.0.2.1"), None)).Failure);
            for (int i = 0; i < 200 && local.AppliedSequence < 2; i++) await Task.Delay(25);
        }
        Assert.Equal(2, local.AppliedSequence);
        ulong generation = store.ReadGeneration();

        // As after a crash between publishing and marking: the entries go out again, and the store skips them.
        Assert.Equal(2, await database.RepublishAfterAsync(0, None));
        await new OutboxPublisher(database, local, TimeSpan.FromMilliseconds(20), NullLogger.Instance).PublishPendingAsync(None);
        Assert.Equal(generation, store.ReadGeneration());
        Assert.Equal(2, local.AppliedSequence);
    }

    [FactWhenPostgresInstalled]
    public async Task On_postgresql_one_publisher_holds_the_outbox_and_notify_wakes_it_for_a_change_made_by_another_process()
    {
        var dialect = await postgres.NewDatabaseAsync();
        var (database, zone) = await ZoneAsync(dialect);
        var other = await TestDatabases.OpenAsync(new PostgresDialect(dialect.ConnectionString)); // another API server
        var leaderTarget = new RecordingPublisher();
        var standbyTarget = new RecordingPublisher();
        await using var leader = new OutboxPublisher(database, leaderTarget, TimeSpan.FromMilliseconds(50), NullLogger.Instance);
        leader.Start();
        for (int i = 0; i < 200 && leaderTarget.Changes.Count == 0; i++) await Task.Delay(25);
        Assert.Single(leaderTarget.Changes);
        await using var standby = new OutboxPublisher(other, standbyTarget, TimeSpan.FromMilliseconds(50), NullLogger.Instance);
        standby.Start();

        var start = System.Diagnostics.Stopwatch.StartNew();
        Assert.Null((await other.AddRecordAsync(zone, A("www", "192.0.2.1"), None)).Failure);
        while (leaderTarget.Changes.Count < 2 && start.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(10);
        // Woken by NOTIFY: well before its 5 s poll. The standby published nothing.
        Assert.Equal([1L, 2], leaderTarget.Changes.Select(c => c.Sequence));
        Assert.True(start.Elapsed < OutboxPublisher.NotifiedPollInterval * 0.8, $"published after {start.Elapsed}");
        Assert.Empty(standbyTarget.Changes);
    }

    [Fact]
    public async Task Published_entries_past_the_retention_are_removed_and_a_store_behind_them_loads_the_snapshot_instead()
    {
        var (database, zone) = await ZoneAsync(TestDatabases.Sqlite());
        Assert.Null((await database.AddRecordAsync(zone, A("www", "192.0.2.1"), None)).Failure);
        await using (var publisher = new OutboxPublisher(database, new RecordingPublisher(), TimeSpan.FromMilliseconds(20), NullLogger.Instance) { Retention = TimeSpan.Zero })
        {
            publisher.Start();
            for (int i = 0; i < 200 && (await database.CountAsync(None)).Outbox > 0; i++) await Task.Delay(25);
        }
        Assert.Equal(0, (await database.CountAsync(None)).Outbox);
        Assert.False(await database.CanReplayAfterAsync(0, None));
        Assert.True(await database.CanReplayAfterAsync(2, None));

        // Unpublished entries are never removed, and a store at the last published sequence can follow them.
        Assert.Null((await database.AddRecordAsync(zone, A("web", "192.0.2.2"), None)).Failure);
        Assert.Equal(0, await database.PruneOutboxAsync(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 60_000, None));
        Assert.True(await database.CanReplayAfterAsync(2, None));
        Assert.False(await database.CanReplayAfterAsync(1, None));

        // A new store cannot replay from the outbox any more: it loads the snapshot (at 3), then nothing is left to send.
        using var store = new EdgeStore(Path.Combine(TestDatabases.TempDirectory(), "edge"));
        var local = new LocalEdgePublisher(store);
        Assert.Equal((true, 0), await local.CatchUpAsync(database, None));
        Assert.Equal(3, local.AppliedSequence);
        var text = new StringWriter();
        Assert.True(Authoritative.Zones.ZoneExporter.Export(store, DnsName.Parse("example.com."), text));
        Assert.Contains("192.0.2.2", text.ToString());
    }

    [Fact]
    public async Task Migrations_run_once_and_a_database_newer_than_the_build_is_refused()
    {
        var dialect = TestDatabases.Sqlite();
        var database = await TestDatabases.OpenAsync(dialect);
        Assert.Equal(Migrations.Latest, await database.SchemaVersionAsync(None));
        await TestDatabases.OpenAsync(dialect);
        Assert.Equal(Migrations.All.Count, await DatabaseState.ScalarAsync(database, "SELECT COUNT(*) FROM schema_migrations"));
        await using (var connection = await dialect.OpenAsync(None))
        using (var command = CentralDatabase.Command(connection, null, "INSERT INTO schema_migrations (version, applied_ms) VALUES (@v, 0)", ("v", Migrations.Latest + 1)))
            await command.ExecuteNonQueryAsync();
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => TestDatabases.OpenAsync(dialect));
        Assert.Contains("newer than this build", e.Message);
    }
}

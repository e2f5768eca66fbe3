using System.Security.Cryptography;
using Ananas.Dns;

namespace Ananas.Pipeline.Database;

/// <summary>One outbox row: a committed change, numbered, not yet (or already) published.</summary>
public sealed record OutboxEntry(long Sequence, DnsName Zone, string Kind, IReadOnlyList<DnsName> Owners, long CommittedMs);

/// <summary>An API token as stored: only the SHA-256 of the secret, and the zone it is limited to (null: all zones).</summary>
public sealed record TokenRow(string Id, DnsName? Zone, long CreatedMs);

/// <summary>
/// The outbox as the publisher reads it, and API tokens. A change commits an outbox_pending row (numbered by the
/// database, CentralDatabase.Changes.cs); <see cref="SequencePendingAsync"/> moves pending rows in id order into the
/// outbox with the next gapless sequences, in one transaction that holds the counter row's lock, so two publishers
/// never hand out a sequence twice. A pending row with a lower id that commits after a higher one was moved is moved
/// by a later call, after it: unrelated changes may swap places, changes that conflict never do.
/// </summary>
public sealed partial class CentralDatabase
{
    /// <summary>Moves up to <paramref name="limit"/> pending changes into the outbox with the next sequences; returns how many.</summary>
    public async Task<int> SequencePendingAsync(int limit, CancellationToken cancellationToken) =>
        (await SequenceAndReadAsync(limit, null, cancellationToken)).Moved;

    /// <summary>
    /// The oldest unpublished entries after <paramref name="after"/> (0: from the first), in sequence order, after
    /// giving pending changes their sequences. A publisher reading the next batch while the one before it is still
    /// being published (not yet marked) passes that batch's last sequence.
    /// </summary>
    public async Task<List<OutboxEntry>> UnpublishedAsync(int limit, CancellationToken cancellationToken, long after = 0) =>
        (await SequenceAndReadAsync(limit, after, cancellationToken)).Entries!;

    private const string UnpublishedSql =
        "SELECT sequence, zone, kind, owners, committed_ms FROM outbox WHERE published_ms IS NULL AND sequence > @after ORDER BY sequence LIMIT @limit";

    /// <summary>
    /// Sequences pending changes and, when <paramref name="readAfter"/> is given, reads the unpublished entries after
    /// it, in one transaction of two round trips: the counter row's lock with the pending ids, then the move, the
    /// read (which sees the move) and, on PostgreSQL, the COMMIT (<see cref="SqlDialect.CommitsWithLastStatement"/>).
    /// </summary>
    private async Task<(int Moved, List<OutboxEntry>? Entries)> SequenceAndReadAsync(int limit, long? readAfter, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenForPublisherAsync(cancellationToken);
        await using var transaction = await Dialect.BeginWriteAsync(connection, cancellationToken);
        long last = 0;
        var ids = new List<long>();
        // The UPDATE takes the counter row's lock (PostgreSQL) first: what the SELECT after it reads (a statement of its
        // own, with its own snapshot) is what no other publisher is moving.
        using (var take = Command(connection, transaction,
                   "UPDATE outbox_counter SET last_sequence = last_sequence WHERE id = 1 RETURNING last_sequence; SELECT id FROM outbox_pending ORDER BY id LIMIT @limit",
                   ("limit", limit)))
        {
            await using var reader = await take.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken)) last = Convert.ToInt64(reader.GetValue(0));
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) ids.Add(reader.GetInt64(0));
        }
        var sql = new System.Text.StringBuilder();
        var parameters = new List<(string Name, object? Value)>();
        if (ids.Count > 0)
        {
            // The ids read, not a range: a lower id that commits meanwhile is left for the next call.
            var (idIn, idParameters) = SqlDialect.AnyOf(connection, "id", "p", ids);
            parameters.Add(("last", last));
            parameters.AddRange(idParameters);
            sql.Append("INSERT INTO outbox (sequence, zone, kind, owners, committed_ms, published_ms) ")
                .Append("SELECT @last + ROW_NUMBER() OVER (ORDER BY id), zone, kind, owners, committed_ms, NULL FROM outbox_pending WHERE ").Append(idIn).Append("; ")
                .Append("DELETE FROM outbox_pending WHERE ").Append(idIn).Append("; ")
                .Append("UPDATE outbox_counter SET last_sequence = @next WHERE id = 1; ");
            parameters.Add(("next", last + ids.Count));
        }
        List<OutboxEntry>? entries = null;
        if (readAfter is { } after)
        {
            sql.Append(UnpublishedSql).Append("; ");
            parameters.Add(("after", after));
            parameters.Add(("limit", limit));
            entries = [];
        }
        bool commitInBatch = Dialect.CommitsWithLastStatement && sql.Length > 0;
        if (commitInBatch) sql.Append("COMMIT");
        if (sql.Length > 0)
        {
            using var command = Command(connection, transaction, sql.ToString(), [.. parameters]);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (entries is not null) await ReadEntriesAsync(reader, entries, cancellationToken);
            while (await reader.NextResultAsync(cancellationToken))
            {
                // The statements after the read (COMMIT) return nothing; read to the end so that their errors surface.
            }
        }
        if (!commitInBatch)
        {
            if (ids.Count > 0) await transaction.CommitAsync(cancellationToken);
            else await transaction.RollbackAsync(cancellationToken);
        }
        return (ids.Count, entries);
    }

    private static async Task ReadEntriesAsync(System.Data.Common.DbDataReader reader, List<OutboxEntry> entries, CancellationToken cancellationToken)
    {
        while (await reader.ReadAsync(cancellationToken))
        {
            string owners = reader.GetString(3);
            entries.Add(new OutboxEntry(reader.GetInt64(0), DnsName.Parse(reader.GetString(1)), reader.GetString(2),
                owners.Length == 0 ? [] : [.. owners.Split('\n').Select(DnsName.Parse)], reader.GetInt64(4)));
        }
    }

    /// <summary>Marks every entry up to <paramref name="sequence"/> published (the publisher publishes in order).</summary>
    public async Task MarkPublishedThroughAsync(long sequence, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenForPublisherAsync(cancellationToken);
        using var command = Command(connection, null, "UPDATE outbox SET published_ms = @t WHERE sequence <= @s AND published_ms IS NULL", ("t", NowMs()), ("s", sequence));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Makes every entry after <paramref name="sequence"/> unpublished again: a local edge store that is behind the
    /// outbox (new, or restored from a backup) gets them again, in order.
    /// </summary>
    public async Task<int> RepublishAfterAsync(long sequence, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        using var command = Command(connection, null, "UPDATE outbox SET published_ms = NULL WHERE sequence > @s AND published_ms IS NOT NULL", ("s", sequence));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Removes entries published at or before <paramref name="cutoffMs"/> (the outbox's bound; "at" too, so a zero retention removes what was published in the same millisecond); returns how many.</summary>
    public async Task<int> PruneOutboxAsync(long cutoffMs, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenForPublisherAsync(cancellationToken);
        using var command = Command(connection, null, "DELETE FROM outbox WHERE published_ms IS NOT NULL AND published_ms <= @cut", ("cut", cutoffMs));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// True when every entry after <paramref name="sequence"/> is still in the outbox (none pruned), so a store at that
    /// sequence can catch up from the outbox alone.
    /// </summary>
    public async Task<bool> CanReplayAfterAsync(long sequence, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        using var command = Command(connection, null,
            "SELECT (SELECT last_sequence FROM outbox_counter WHERE id = 1), (SELECT COUNT(*) FROM outbox WHERE sequence > @s)", ("s", sequence));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        long last = Convert.ToInt64(reader.GetValue(0));
        return sequence >= last || Convert.ToInt64(reader.GetValue(1)) == last - sequence;
    }

    /// <summary>
    /// (the sequence the last change committed so far has or will have, last published in order, entries waiting):
    /// one statement, so one consistent state.
    /// </summary>
    public async Task<(long Committed, long Published, int Waiting)> OutboxStateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        using var command = Command(connection, null, "SELECT (SELECT last_sequence FROM outbox_counter WHERE id = 1), (SELECT COUNT(*) FROM outbox_pending), " +
            "(SELECT COUNT(*) FROM outbox WHERE published_ms IS NULL), (SELECT MIN(sequence) FROM outbox WHERE published_ms IS NULL)");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        long sequenced = Convert.ToInt64(reader.GetValue(0));
        int pending = Convert.ToInt32(reader.GetValue(1));
        int unpublished = Convert.ToInt32(reader.GetValue(2));
        long published = reader.IsDBNull(3) ? sequenced : Convert.ToInt64(reader.GetValue(3)) - 1;
        return (sequenced + pending, published, unpublished + pending);
    }

    // --- API tokens ---

    /// <summary>Stores a new token's hash; returns the secret, shown once and never stored.</summary>
    public async Task<(TokenRow Row, string Secret)> CreateTokenAsync(DnsName? zone, CancellationToken cancellationToken)
    {
        string secret = "ananas_" + Base64Url(RandomNumberGenerator.GetBytes(32));
        var row = new TokenRow(NewId(), zone?.ToLowerCase(), NowMs());
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        using var command = Command(connection, null, "INSERT INTO api_tokens (id, sha256, zone, created_ms) VALUES (@id, @hash, @zone, @t)",
            ("id", row.Id), ("hash", Hash(secret)), ("zone", row.Zone?.ToString()), ("t", row.CreatedMs));
        await command.ExecuteNonQueryAsync(cancellationToken);
        return (row, secret);
    }

    /// <summary>The token whose secret this is, or null.</summary>
    public async Task<TokenRow?> FindTokenAsync(string secret, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        using var command = Command(connection, null, "SELECT id, zone, created_ms FROM api_tokens WHERE sha256 = @hash", ("hash", Hash(secret)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        return new TokenRow(reader.GetString(0), reader.IsDBNull(1) ? null : DnsName.Parse(reader.GetString(1)), reader.GetInt64(2));
    }

    private static byte[] Hash(string secret) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

using System.Security.Cryptography;
using Ananas.Dns;

namespace Ananas.Pipeline.Database;

/// <summary>One outbox row: a committed change, numbered, not yet (or already) published.</summary>
public sealed record OutboxEntry(long Sequence, DnsName Zone, string Kind, IReadOnlyList<DnsName> Owners, long CommittedMs);

/// <summary>An API token as stored: only the SHA-256 of the secret, and the zone it is limited to (null: all zones).</summary>
public sealed record TokenRow(string Id, DnsName? Zone, long CreatedMs);

/// <summary>The outbox as the publisher reads it, and API tokens.</summary>
public sealed partial class CentralDatabase
{
    /// <summary>The oldest unpublished entries, in sequence order.</summary>
    public async Task<List<OutboxEntry>> UnpublishedAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        using var command = Command(connection, null,
            "SELECT sequence, zone, kind, owners, committed_ms FROM outbox WHERE published_ms IS NULL ORDER BY sequence LIMIT @limit", ("limit", limit));
        var entries = new List<OutboxEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            string owners = reader.GetString(3);
            entries.Add(new OutboxEntry(reader.GetInt64(0), DnsName.Parse(reader.GetString(1)), reader.GetString(2),
                owners.Length == 0 ? [] : [.. owners.Split('\n').Select(DnsName.Parse)], reader.GetInt64(4)));
        }
        return entries;
    }

    /// <summary>Marks every entry up to <paramref name="sequence"/> published (the publisher publishes in order).</summary>
    public async Task MarkPublishedThroughAsync(long sequence, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
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
        await using var connection = await Dialect.OpenAsync(cancellationToken);
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

    /// <summary>(last sequence committed, last published in order, entries waiting).</summary>
    public async Task<(long Committed, long Published, int Waiting)> OutboxStateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        using var last = Command(connection, null, "SELECT last_sequence FROM outbox_counter WHERE id = 1");
        long committed = Convert.ToInt64(await last.ExecuteScalarAsync(cancellationToken));
        using var waiting = Command(connection, null, "SELECT COUNT(*), MIN(sequence) FROM outbox WHERE published_ms IS NULL");
        await using var reader = await waiting.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        int count = Convert.ToInt32(reader.GetValue(0));
        long published = reader.IsDBNull(1) ? committed : reader.GetInt64(1) - 1;
        return (committed, published, count);
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

using System.Data.Common;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Wire;

namespace Ananas.Pipeline.Database;

/// <summary>A zone as stored: its id (32 hex digits) and lowercase apex.</summary>
public sealed record ZoneRow(string Id, DnsName Name, long CreatedMs, long ModifiedMs, long Records = 0);

/// <summary>A record as stored: the owner (lowercase), type, TTL, RDATA as text (normalised) and as uncompressed wire form.</summary>
public sealed record RecordRow(string Id, string ZoneId, DnsName Name, RRType Type, uint Ttl, string Content, byte[] Rdata, long CreatedMs, long ModifiedMs)
{
    public ResourceRecord ToRecord()
    {
        var reader = new WireReader(Rdata);
        return new ResourceRecord(Name, Ttl, RData.Read(Type, ref reader, Rdata.Length));
    }
}

/// <summary>
/// The pipeline's central database (SQLite or PostgreSQL, <see cref="SqlDialect"/>): zones, records, API tokens
/// and the outbox. Opening it runs the pending <see cref="Migrations"/>. Every change to zones or records commits
/// together with its outbox row, in one transaction (CentralDatabase.Changes.cs).
/// </summary>
public sealed partial class CentralDatabase
{
    private CentralDatabase(SqlDialect dialect) => Dialect = dialect;

    public SqlDialect Dialect { get; }

    /// <summary>Records one zone may hold (<c>api.max-records-per-zone</c>): a bound on what a zone's token can make us store.</summary>
    public long MaxRecordsPerZone { get; init; } = 1_000_000;

    /// <summary>Raised after a change committed in this process (the publisher wakes on it; other processes wake by polling or NOTIFY).</summary>
    public event Action? Committed;

    /// <summary>
    /// The database a setting names: <c>""</c> is SQLite at <paramref name="defaultSqlitePath"/>, <c>sqlite:PATH</c>
    /// SQLite at PATH, <c>postgresql:CONNECTION-STRING</c> PostgreSQL (Npgsql keywords, e.g. <c>Host=/run/postgresql;Database=ananas</c>).
    /// </summary>
    public static SqlDialect DialectFor(string setting, string defaultSqlitePath)
    {
        if (setting.Length == 0) return new SqliteDialect(defaultSqlitePath);
        if (setting.StartsWith("sqlite:", StringComparison.Ordinal) && setting.Length > 7) return new SqliteDialect(Path.GetFullPath(setting[7..]));
        if (setting.StartsWith("postgresql:", StringComparison.Ordinal) && setting.Length > 11)
        {
            try
            {
                return new PostgresDialect(setting[11..]);
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"not a PostgreSQL connection string: {e.Message}", e);
            }
        }
        throw new FormatException($"'{setting}' is not \"\", sqlite:PATH or postgresql:CONNECTION-STRING");
    }

    /// <summary>Opens the database and brings its schema up to <see cref="Migrations.Latest"/>.</summary>
    public static async Task<CentralDatabase> OpenAsync(SqlDialect dialect, CancellationToken cancellationToken, long maxRecordsPerZone = 1_000_000)
    {
        if (dialect is SqliteDialect sqlite && Path.GetDirectoryName(sqlite.Path) is { Length: > 0 } directory) Directory.CreateDirectory(directory);
        var database = new CentralDatabase(dialect) { MaxRecordsPerZone = maxRecordsPerZone };
        await database.MigrateAsync(cancellationToken);
        return database;
    }

    /// <summary>The schema version now in the database.</summary>
    public async Task<int> SchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        using var command = Command(connection, null, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken));
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        using (var create = Command(connection, null, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)"))
            await create.ExecuteNonQueryAsync(cancellationToken);
        await using var transaction = await Dialect.BeginWriteAsync(connection, cancellationToken);
        if (Dialect.MigrationLockSql is { } lockSql)
        {
            // Two servers starting at once: the second waits here and then finds nothing to do.
            using var lockCommand = Command(connection, transaction, lockSql);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }
        int current;
        using (var version = Command(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
            current = Convert.ToInt32(await version.ExecuteScalarAsync(cancellationToken));
        if (current > Migrations.Latest)
            throw new InvalidDataException($"the database's schema is version {current}, newer than this build's {Migrations.Latest}");
        foreach (var (number, sql) in Migrations.All)
        {
            if (number <= current) continue;
            using (var apply = Command(connection, transaction, sql.Replace("{binary}", Dialect.BinaryType, StringComparison.Ordinal).Replace("{serial}", Dialect.SerialKeyType, StringComparison.Ordinal)))
                await apply.ExecuteNonQueryAsync(cancellationToken);
            using var record = Command(connection, transaction, "INSERT INTO schema_migrations (version, applied_ms) VALUES (@v, @t)",
                ("v", number), ("t", NowMs()));
            await record.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    internal static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        return command;
    }

    internal static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>A new id: 32 random hex digits (the form the v4 API uses).</summary>
    internal static string NewId() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    internal void OnCommitted()
    {
        Committed?.Invoke();
        if (Dialect.NotifySql is not null && Interlocked.Exchange(ref _notifyScheduled, 1) == 0) _ = NotifyAsync();
    }

    private int _notifyScheduled;

    /// <summary>How long commits are gathered into one NOTIFY for publishers in other processes.</summary>
    internal static readonly TimeSpan NotifyCoalescing = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// One NOTIFY, on its own, for the commits of the last <see cref="NotifyCoalescing"/> (a commit after the flag is
    /// cleared schedules the next). A lost one is covered by the publisher's poll.
    /// </summary>
    private async Task NotifyAsync()
    {
        try
        {
            await Task.Delay(NotifyCoalescing);
            Volatile.Write(ref _notifyScheduled, 0);
            await using var connection = await Dialect.OpenAsync(CancellationToken.None);
            using var command = Command(connection, null, Dialect.NotifySql!);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException)
        {
            // The database is unreachable: the publishers' poll finds the changes.
        }
    }

    private static ZoneRow ReadZone(DbDataReader reader) =>
        new(reader.GetString(0), DnsName.Parse(reader.GetString(1)), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));

    internal const string RecordColumns = "id, zone_id, name, type, ttl, content, rdata, created_ms, modified_ms";

    internal static RecordRow ReadRecord(DbDataReader reader)
    {
        RRTypeText.TryParse(reader.GetString(3), out var type);
        return new RecordRow(reader.GetString(0), reader.GetString(1), DnsName.Parse(reader.GetString(2)), type, (uint)reader.GetInt64(4),
            reader.GetString(5), (byte[])reader.GetValue(6), reader.GetInt64(7), reader.GetInt64(8));
    }

    internal static async Task<List<RecordRow>> ReadRecordsAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<RecordRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) rows.Add(ReadRecord(reader));
        return rows;
    }

    internal static async Task<ZoneRow?> ReadZoneAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadZone(reader) : null;
    }

    internal static async Task<List<ZoneRow>> ReadZonesAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<ZoneRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) rows.Add(ReadZone(reader));
        return rows;
    }
}

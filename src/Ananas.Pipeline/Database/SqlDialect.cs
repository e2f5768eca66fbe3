using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Ananas.Pipeline.Database;

/// <summary>
/// Everything that differs between the two databases the pipeline runs on, in one place: how to connect, the
/// column types the migrations use, how writers are serialised, how a reader gets a consistent snapshot, and how a
/// committed change wakes the publisher. All other SQL is written once, in the subset both understand.
/// </summary>
public abstract class SqlDialect
{
    /// <summary>For messages: "SQLite" or "PostgreSQL".</summary>
    public abstract string Name { get; }

    /// <summary>A binary column (SQLite BLOB, PostgreSQL BYTEA).</summary>
    public abstract string BinaryType { get; }

    /// <summary>An integer primary key the database numbers in the order rows are inserted (never reused).</summary>
    public abstract string SerialKeyType { get; }

    /// <summary>Opens a new connection, ready for use.</summary>
    public abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Opens a connection for the outbox publisher, from a pool of its own where there is a pool: under load the API's
    /// requests take every pooled connection, and a publisher queued behind them delays every change's propagation.
    /// </summary>
    public virtual Task<DbConnection> OpenForPublisherAsync(CancellationToken cancellationToken) => OpenAsync(cancellationToken);

    /// <summary>A transaction that writes (SQLite: one writer at a time; PostgreSQL: row locks order the writers that conflict).</summary>
    public abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>A transaction that only reads and sees one consistent state of every table.</summary>
    public abstract Task<DbTransaction> BeginSnapshotAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>
    /// The statement that wakes publishers in other processes after changes committed (sent on its own, after the
    /// commits, coalesced: never inside a change, where PostgreSQL's NOTIFY would take a lock that orders every commit).
    /// </summary>
    public abstract string? NotifySql { get; }

    /// <summary>
    /// A change sends its COMMIT with its last statement instead of on its own (one round trip less while it holds
    /// its zone's lock). PostgreSQL: the server runs the batch in order and skips the rest after an error; Npgsql sees
    /// the transaction end and its transaction object then has nothing to roll back.
    /// </summary>
    public virtual bool CommitsWithLastStatement => false;

    /// <summary>
    /// A change's writes go as data-modifying WITH parts of its outbox row's INSERT: one statement instead of one each
    /// (PostgreSQL; the parts touch different rows, and an error in any aborts the whole statement).
    /// </summary>
    public virtual bool WritesAsCommonTables => false;

    /// <summary>Run first in the migration transaction so that two servers starting at once migrate one after the other (null: the write lock does it).</summary>
    public virtual string? MigrationLockSql => null;

    /// <summary>
    /// A statement that takes a lock on the zone <c>@zone</c> (its id) until the commit, run first in a change (null
    /// when the write transaction already excludes other writers).
    /// </summary>
    public virtual string? ZoneLockSql => null;

    /// <summary>The channel a PostgreSQL publisher LISTENs on (null: the dialect has no notifications).</summary>
    public virtual string? NotifyChannel => null;

    /// <summary>
    /// "<paramref name="column"/> is one of <paramref name="values"/>" for a statement on <paramref name="connection"/>:
    /// PostgreSQL <c>column = ANY(@name)</c> with one array parameter, so the statement's text is the same whatever
    /// the count and is parsed, planned and prepared once; SQLite <c>column IN (@name0, …)</c>, a parameter per value.
    /// Empty values match nothing.
    /// </summary>
    public static (string Sql, (string Name, object? Value)[] Parameters) AnyOf<T>(DbConnection connection, string column, string name, IReadOnlyCollection<T> values)
    {
        if (connection is NpgsqlConnection) return ($"{column} = ANY(@{name})", [(name, values.ToArray())]);
        if (values.Count == 0) return ("1 = 0", []);
        var parameters = new (string Name, object? Value)[values.Count];
        var sql = new System.Text.StringBuilder(column).Append(" IN (");
        int i = 0;
        foreach (var value in values)
        {
            string parameter = name + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            sql.Append(i == 0 ? "@" : ", @").Append(parameter);
            parameters[i++] = (parameter, value);
        }
        return (sql.Append(')').ToString(), parameters);
    }
}

/// <summary>The embedded default: one database file, WAL journal, writers serialised by BEGIN IMMEDIATE.</summary>
public sealed class SqliteDialect(string path) : SqlDialect
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    public string Path { get; } = path;

    public override string Name => "SQLite";

    public override string BinaryType => "BLOB";

    public override string SerialKeyType => "INTEGER PRIMARY KEY AUTOINCREMENT";

    public override string? NotifySql => null;

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        using var pragma = connection.CreateCommand();
        // WAL: readers (the publisher, list requests) never block the writer; busy_timeout waits for the write lock.
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    public override Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // Microsoft.Data.Sqlite begins IMMEDIATE unless deferred: the write lock is taken at once (SQLite has no async API).
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    public override async Task<DbTransaction> BeginSnapshotAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var transaction = ((SqliteConnection)connection).BeginTransaction(deferred: true);
        // A deferred transaction takes its WAL snapshot at the first read; read now so every later query shares it.
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT count(*) FROM schema_migrations";
        await command.ExecuteScalarAsync(cancellationToken);
        return transaction;
    }
}

/// <summary>PostgreSQL through Npgsql: writers of one zone serialised by the zone's row lock, NOTIFY after commits.</summary>
public sealed class PostgresDialect(string connectionString) : SqlDialect
{
    public const string Channel = "ananas_outbox";

    // Pooled connections, unless the connection string says otherwise: statements used again and again (every change
    // runs the same few) prepared on the server once per connection; no reset round trip when a connection goes back
    // to the pool (nothing here leaves session state behind: locks are transaction-scoped, LISTEN has its own
    // connection); and at most 32 connections: more requests wait in the pool (cheap) rather than as server
    // processes (PostgreSQL's default max_connections is 100, which Npgsql's default pool of 100 would exhaust).
    private readonly NpgsqlDataSource _source = NpgsqlDataSource.Create(Tuned(connectionString));

    // The publisher's own few connections (a different connection string is a different pool): it reads, transforms
    // and marks while the next batch's publish is awaited, so it holds at most a few at once.
    private readonly NpgsqlDataSource _publisherSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(Tuned(connectionString))
    {
        MaxPoolSize = PublisherPoolSize,
        ApplicationName = "ananas-publisher",
    }.ConnectionString);

    /// <summary>Connections in the publisher's own pool.</summary>
    public const int PublisherPoolSize = 4;

    private static string Tuned(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Names(connectionString, "Max Auto Prepare", "MaxAutoPrepare")) builder.MaxAutoPrepare = 64;
        if (!Names(connectionString, "Maximum Pool Size", "MaxPoolSize", "Max Pool Size")) builder.MaxPoolSize = 32;
        if (!Names(connectionString, "No Reset On Close", "NoResetOnClose")) builder.NoResetOnClose = true;
        return builder.ConnectionString;
    }

    private static bool Names(string connectionString, params string[] keywords)
    {
        foreach (var keyword in keywords)
            if (connectionString.Contains(keyword, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    public string ConnectionString { get; } = connectionString;

    public override string Name => "PostgreSQL";

    public override string BinaryType => "BYTEA";

    public override string SerialKeyType => "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY";

    public override string? NotifySql => $"NOTIFY {Channel}";

    public override string? NotifyChannel => Channel;

    public override bool CommitsWithLastStatement => true;

    public override bool WritesAsCommonTables => true;

    public override string? MigrationLockSql => "SELECT pg_advisory_xact_lock(4242001)";

    // An advisory lock, not SELECT … FOR UPDATE: locking the row writes to it, and every change doing that to the
    // same few rows of the zones table left dead row versions faster than PostgreSQL could prune them (its CPU grew
    // through a run). Ids that hash alike share a lock, which only makes them take turns.
    public override string? ZoneLockSql => "SELECT pg_advisory_xact_lock(4242003, hashtext(@zone))";

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _source.OpenConnectionAsync(cancellationToken);

    public override async Task<DbConnection> OpenForPublisherAsync(CancellationToken cancellationToken) =>
        await _publisherSource.OpenConnectionAsync(cancellationToken);

    public override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        // READ COMMITTED; a change locks its zone's row (SELECT … FOR UPDATE), which orders the writers of that zone.
        await ((NpgsqlConnection)connection).BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, cancellationToken);

    public override async Task<DbTransaction> BeginSnapshotAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await ((NpgsqlConnection)connection).BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
}

using System.Diagnostics;
using Ananas.Pipeline.Database;
using Npgsql;

namespace Ananas.Pipeline.Tests;

/// <summary>
/// A throwaway PostgreSQL cluster (scripts/postgres.sh) shared by the tests of a class; each test gets its own
/// database in it. Started on first use, stopped and removed with the fixture.
/// </summary>
public sealed class PostgresCluster : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"ananas-pg-{Guid.NewGuid():N}");
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _connectionString;
    private int _databases;

    /// <summary>True when the script finds initdb, pg_ctl, postgres and psql.</summary>
    public static bool Installed { get; } =
        Directory.Exists("/usr/lib/postgresql") && Directory.EnumerateFiles("/usr/lib/postgresql", "initdb", SearchOption.AllDirectories).Any()
        || (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(p => File.Exists(Path.Combine(p, "initdb")));

    public static string Script => Path.Combine(RepositoryRoot(), "scripts", "postgres.sh");

    /// <summary>A dialect on a new, empty database of the cluster.</summary>
    public async Task<PostgresDialect> NewDatabaseAsync()
    {
        await _gate.WaitAsync();
        try
        {
            _connectionString ??= await StartAsync();
        }
        finally
        {
            _gate.Release();
        }
        string name = $"t{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}"[..20];
        await using (var connection = new NpgsqlConnection(_connectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }
        return new PostgresDialect(new NpgsqlConnectionStringBuilder(_connectionString) { Database = name, Pooling = false }.ToString());
    }

    private async Task<string> StartAsync()
    {
        var (code, output, error) = await RunScriptAsync("start", _directory);
        if (code != 0) throw new InvalidOperationException($"scripts/postgres.sh start failed ({code}): {error}");
        return output.Trim();
    }

    private static async Task<(int Code, string Output, string Error)> RunScriptAsync(string command, string directory)
    {
        using var process = Process.Start(new ProcessStartInfo("bash", [Script, command, directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await output, await error);
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Ananas.slnx"))) return dir.FullName;
        throw new InvalidOperationException("the repository root (Ananas.slnx) is not above the test binaries");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_connectionString is not null) await RunScriptAsync("stop", _directory);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        _gate.Dispose();
    }
}

/// <summary>A fact that reports skipped (not passed) when PostgreSQL is not installed.</summary>
public sealed class FactWhenPostgresInstalledAttribute : FactAttribute
{
    public FactWhenPostgresInstalledAttribute()
    {
        if (!PostgresCluster.Installed) Skip = "PostgreSQL is not installed: run scripts/setup.sh (it installs the Debian package postgresql)";
    }
}

/// <summary>Databases for tests: a fresh SQLite file, or a fresh database in the shared PostgreSQL cluster.</summary>
public static class TestDatabases
{
    public static string TempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"ananas-pipeline-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static SqliteDialect Sqlite() => new(Path.Combine(TempDirectory(), "pipeline.db"));

    public static async Task<CentralDatabase> OpenAsync(SqlDialect dialect, long maxRecordsPerZone = 1_000_000) =>
        await CentralDatabase.OpenAsync(dialect, CancellationToken.None, maxRecordsPerZone);
}

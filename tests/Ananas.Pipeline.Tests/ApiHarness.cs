using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Ananas.Authoritative.Changes;
using Ananas.Pipeline.Api;
using Ananas.Pipeline.Changes;
using Ananas.Pipeline.Database;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Pipeline.Tests;

/// <summary>Changes published, in the order they arrived (a publish target for tests; it can be told to fail).</summary>
internal sealed class RecordingPublisher : IEdgeChangePublisher
{
    private readonly List<EdgeChange> _changes = [];

    /// <summary>Fail every publish of this sequence (null: none).</summary>
    public long? FailAt { get; set; }

    public List<EdgeChange> Changes
    {
        get
        {
            lock (_changes) return [.. _changes];
        }
    }

    public Task PublishAsync(EdgeChange change, CancellationToken cancellationToken)
    {
        if (change.Sequence == FailAt) throw new IOException($"publish of {change.Sequence} failed (test)");
        lock (_changes) _changes.Add(change);
        return Task.CompletedTask;
    }
}

/// <summary>An API server on a free loopback port over a fresh database, with a token for all zones.</summary>
internal sealed class ApiHarness : IAsyncDisposable
{
    private ApiHarness(CentralDatabase database, ApiServer server, string token)
    {
        Database = database;
        Server = server;
        Token = token;
        Client = new HttpClient { BaseAddress = new Uri(server.BaseAddress), Timeout = TimeSpan.FromSeconds(30) };
    }

    public CentralDatabase Database { get; }

    public ApiServer Server { get; }

    public HttpClient Client { get; }

    /// <summary>A token for all zones.</summary>
    public string Token { get; }

    public static async Task<ApiHarness> StartAsync(SqlDialect? dialect = null, long maxBodyBytes = 64 << 10, long maxRecordsPerZone = 1_000_000)
    {
        var database = await TestDatabases.OpenAsync(dialect ?? TestDatabases.Sqlite(), maxRecordsPerZone);
        var (_, token) = await database.CreateTokenAsync(null, CancellationToken.None);
        var server = new ApiServer(database, new ApiOptions(new IPEndPoint(IPAddress.Loopback, 0)) { MaxBodyBytes = maxBodyBytes });
        await server.StartAsync();
        return new ApiHarness(database, server, token);
    }

    /// <summary>Sends a request; returns the status and the parsed JSON body.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? json = null, string? token = null,
        HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token ?? Token);
        if (token == "") request.Headers.Authorization = null;
        request.Content = content ?? (json is null ? null : new StringContent(json, Encoding.UTF8, "application/json"));
        using var response = await Client.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text);
        return (response.StatusCode, document.RootElement.Clone());
    }

    /// <summary>Creates a zone with two out-of-zone name servers; returns its id.</summary>
    public async Task<string> CreateZoneAsync(string name)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/zones", $$"""{"name":"{{name}}","name_servers":["ns1.example.net","ns2.example.net"]}""");
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        return body.GetProperty("result").GetProperty("id").GetString()!;
    }

    public async Task<string> AddRecordAsync(string zoneId, string name, string type, string content, int ttl = 300)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, $"/zones/{zoneId}/dns_records",
            JsonSerializer.Serialize(new { name, type, content, ttl }));
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        return body.GetProperty("result").GetProperty("id").GetString()!;
    }

    /// <summary>Every row of zones, records and the outbox, as text: equal before and after means nothing changed.</summary>
    public Task<string> StateAsync() => DatabaseState.ReadAsync(Database);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}

internal static class DatabaseState
{
    public static async Task<string> ReadAsync(CentralDatabase database)
    {
        await using var connection = await database.Dialect.OpenAsync(CancellationToken.None);
        var text = new StringBuilder();
        foreach (var sql in new[]
        {
            "SELECT id, name, records, modified_ms FROM zones ORDER BY id",
            "SELECT id, zone_id, name, type, ttl, content, modified_ms FROM dns_records ORDER BY id",
            "SELECT sequence, zone, kind, owners FROM outbox ORDER BY sequence",
            "SELECT last_sequence FROM outbox_counter",
            "SELECT id, zone, kind, owners FROM outbox_pending ORDER BY id",
        })
        {
            using var command = CentralDatabase.Command(connection, null, sql);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                for (int i = 0; i < reader.FieldCount; i++) text.Append(reader.GetValue(i)).Append('|');
                text.Append('\n');
            }
        }
        return text.ToString();
    }

    public static async Task<long> ScalarAsync(CentralDatabase database, string sql)
    {
        await using var connection = await database.Dialect.OpenAsync(CancellationToken.None);
        using var command = CentralDatabase.Command(connection, null, sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}

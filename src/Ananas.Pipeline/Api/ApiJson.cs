using System.Text.Json;
using System.Text.Json.Serialization;
using Ananas.Dns;
using Ananas.Pipeline.Database;
using Ananas.Pipeline.Records;

namespace Ananas.Pipeline.Api;

/// <summary>The v4 response envelope.</summary>
public sealed record Envelope(bool Success, IReadOnlyList<ApiError> Errors, IReadOnlyList<string> Messages, object? Result, ResultInfo? ResultInfo = null);

/// <summary>Pagination of a list result.</summary>
public sealed record ResultInfo(int Page, int PerPage, int Count, int TotalCount, int TotalPages);

public sealed record ZoneJson(string Id, string Name, string Status, long Records, DateTimeOffset CreatedOn, DateTimeOffset ModifiedOn);

public sealed record RecordJson(string Id, string ZoneId, string ZoneName, string Name, string Type, string Content, long Ttl, DateTimeOffset CreatedOn, DateTimeOffset ModifiedOn);

/// <summary>POST /zones: the name, and either name servers or a zone file (or both).</summary>
public sealed record ZoneCreateJson(string? Name, List<string>? NameServers, string? ZoneFile);

/// <summary>JSON as the API writes and reads it: snake_case, nulls left out.</summary>
public static class ApiJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Numbers as strings are a client's mistake we report, not guess at.
        NumberHandling = JsonNumberHandling.Strict,
        MaxDepth = 8,
        // Messages quote names and RDATA; plain quotes and apostrophes read better than \u0027 (the body is never HTML).
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static ZoneJson Zone(ZoneRow zone) =>
        new(zone.Id, RecordReader.Show(zone.Name), "active", zone.Records, Time(zone.CreatedMs), Time(zone.ModifiedMs));

    public static RecordJson Record(RecordRow row, ZoneRow zone) =>
        new(row.Id, zone.Id, RecordReader.Show(zone.Name), RecordReader.Show(row.Name), RRTypeText.ToText(row.Type), row.Content, row.Ttl,
            Time(row.CreatedMs), Time(row.ModifiedMs));

    private static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}

using System.Data.Common;
using System.Text;
using Ananas.Dns;

namespace Ananas.Pipeline.Database;

/// <summary>A page of rows and how many match in all.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, int Total);

/// <summary>Filters of a record list; null fields do not filter. Matches are exact (names and content ignoring case).</summary>
public sealed record RecordFilter(DnsName? Name = null, string? Type = null, string? Content = null);

/// <summary>Reads that are not part of a change.</summary>
public sealed partial class CentralDatabase
{
    internal const string ZoneColumns = "id, name, created_ms, modified_ms, records";

    public async Task<Page<ZoneRow>> ListZonesAsync(DnsName? name, int page, int perPage, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        string where = name is null ? "" : " WHERE name = @name";
        var filter = ("name", (object?)name?.ToString());
        using var count = Command(connection, null, "SELECT COUNT(*) FROM zones" + where, filter);
        int total = Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken));
        using var list = Command(connection, null, $"SELECT {ZoneColumns} FROM zones{where} ORDER BY name, id LIMIT @limit OFFSET @offset",
            filter, ("limit", perPage), ("offset", (long)(page - 1) * perPage));
        return new Page<ZoneRow>(await ReadZonesAsync(list, cancellationToken), total);
    }

    public async Task<ZoneRow?> GetZoneAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        return await GetZoneAsync(connection, null, id, cancellationToken);
    }

    internal static async Task<ZoneRow?> GetZoneAsync(DbConnection connection, DbTransaction? transaction, string id, CancellationToken cancellationToken)
    {
        using var command = Command(connection, transaction, $"SELECT {ZoneColumns} FROM zones WHERE id = @id", ("id", id));
        return await ReadZoneAsync(command, cancellationToken);
    }

    internal static async Task<ZoneRow?> GetZoneByNameAsync(DbConnection connection, DbTransaction? transaction, DnsName name, CancellationToken cancellationToken)
    {
        using var command = Command(connection, transaction, $"SELECT {ZoneColumns} FROM zones WHERE name = @name", ("name", name.ToLowerCase().ToString()));
        return await ReadZoneAsync(command, cancellationToken);
    }

    public async Task<Page<RecordRow>> ListRecordsAsync(string zoneId, RecordFilter filter, int page, int perPage, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        var where = new StringBuilder(" WHERE zone_id = @zone");
        var parameters = new List<(string, object?)> { ("zone", zoneId) };
        if (filter.Name is { } name)
        {
            where.Append(" AND name = @name");
            parameters.Add(("name", name.ToLowerCase().ToString()));
        }
        if (filter.Type is { } type)
        {
            where.Append(" AND type = @type");
            parameters.Add(("type", type));
        }
        if (filter.Content is { } content)
        {
            where.Append(" AND lower(content) = @content");
            parameters.Add(("content", content.ToLowerInvariant()));
        }
        using var count = Command(connection, null, "SELECT COUNT(*) FROM dns_records" + where, [.. parameters]);
        int total = Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken));
        parameters.Add(("limit", perPage));
        parameters.Add(("offset", (long)(page - 1) * perPage));
        using var list = Command(connection, null, $"SELECT {RecordColumns} FROM dns_records{where} ORDER BY name, type, id LIMIT @limit OFFSET @offset", [.. parameters]);
        return new Page<RecordRow>(await ReadRecordsAsync(list, cancellationToken), total);
    }

    public async Task<RecordRow?> GetRecordAsync(string zoneId, string id, CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        using var command = Command(connection, null, $"SELECT {RecordColumns} FROM dns_records WHERE zone_id = @zone AND id = @id", ("zone", zoneId), ("id", id));
        var rows = await ReadRecordsAsync(command, cancellationToken);
        return rows.Count > 0 ? rows[0] : null;
    }

    /// <summary>The zones of these names that exist, in one query.</summary>
    internal static async Task<List<ZoneRow>> ZonesNamedAsync(DbConnection connection, DbTransaction? transaction, IEnumerable<DnsName> names, CancellationToken cancellationToken)
    {
        var distinct = names.Select(n => n.ToLowerCase().ToString()).Distinct().ToList();
        if (distinct.Count == 0) return [];
        var (nameIn, parameters) = SqlDialect.AnyOf(connection, "name", "name", distinct);
        using var command = Command(connection, transaction, $"SELECT {ZoneColumns} FROM zones WHERE {nameIn}", parameters);
        return await ReadZonesAsync(command, cancellationToken);
    }

    /// <summary>Every record at any of the owners <paramref name="names"/> in any of the zones, in one query.</summary>
    internal static async Task<List<RecordRow>> RecordsAtAsync(DbConnection connection, DbTransaction? transaction, IEnumerable<string> zoneIds, IEnumerable<DnsName> names,
        CancellationToken cancellationToken)
    {
        var zones = zoneIds.Distinct().ToList();
        var owners = names.Select(n => n.ToLowerCase().ToString()).Distinct().ToList();
        if (zones.Count == 0 || owners.Count == 0) return [];
        var (zoneIn, zoneParameters) = SqlDialect.AnyOf(connection, "zone_id", "zone", zones);
        var (nameIn, nameParameters) = SqlDialect.AnyOf(connection, "name", "name", owners);
        using var command = Command(connection, transaction, $"SELECT {RecordColumns} FROM dns_records WHERE {zoneIn} AND {nameIn}", [.. zoneParameters, .. nameParameters]);
        return await ReadRecordsAsync(command, cancellationToken);
    }

    /// <summary>Every record of the owners <paramref name="names"/> in the zone.</summary>
    internal static Task<List<RecordRow>> RecordsAtAsync(DbConnection connection, DbTransaction? transaction, string zoneId, IEnumerable<DnsName> names,
        CancellationToken cancellationToken) => RecordsAtAsync(connection, transaction, [zoneId], names, cancellationToken);

    internal static async Task<List<RecordRow>> ZoneRecordsAsync(DbConnection connection, DbTransaction? transaction, string zoneId, CancellationToken cancellationToken)
    {
        using var command = Command(connection, transaction, $"SELECT {RecordColumns} FROM dns_records WHERE zone_id = @zone ORDER BY name, type, id", ("zone", zoneId));
        return await ReadRecordsAsync(command, cancellationToken);
    }

    /// <summary>Counts for tests and status: zones, records, outbox rows (pending ones too).</summary>
    public async Task<(int Zones, int Records, int Outbox)> CountAsync(CancellationToken cancellationToken)
    {
        await using var connection = await Dialect.OpenAsync(cancellationToken);
        using var command = Command(connection, null,
            "SELECT (SELECT COUNT(*) FROM zones), (SELECT COUNT(*) FROM dns_records), (SELECT COUNT(*) FROM outbox) + (SELECT COUNT(*) FROM outbox_pending)");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (Convert.ToInt32(reader.GetValue(0)), Convert.ToInt32(reader.GetValue(1)), Convert.ToInt32(reader.GetValue(2)));
    }
}

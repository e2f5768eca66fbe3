using Ananas.Authoritative.Changes;
using Ananas.Dns;
using Ananas.Pipeline.Changes;
using Ananas.Pipeline.Database;
using Ananas.Pipeline.Records;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Ananas.Pipeline.Api;

/// <summary>The routes (docs/PIPELINE.md, "API").</summary>
public sealed partial class ApiServer
{
    private void MapRoutes(WebApplication app)
    {
        app.MapGet("/metrics", MetricsAsync);
        app.MapGet("/zones", ListZonesAsync);
        app.MapPost("/zones", CreateZoneAsync);
        app.MapGet("/zones/{zoneId}", (HttpContext c, string zoneId) => WithZoneAsync(c, zoneId, zone => OkAsync(c, ApiJson.Zone(zone))));
        app.MapDelete("/zones/{zoneId}", DeleteZoneAsync);
        app.MapGet("/zones/{zoneId}/dns_records", ListRecordsAsync);
        app.MapPost("/zones/{zoneId}/dns_records", AddRecordAsync);
        app.MapPost("/zones/{zoneId}/dns_records/import", ImportAsync);
        app.MapGet("/zones/{zoneId}/dns_records/{recordId}", GetRecordAsync);
        app.MapPut("/zones/{zoneId}/dns_records/{recordId}", (HttpContext c, string zoneId, string recordId) => UpdateRecordAsync(c, zoneId, recordId, patch: false));
        app.MapPatch("/zones/{zoneId}/dns_records/{recordId}", (HttpContext c, string zoneId, string recordId) => UpdateRecordAsync(c, zoneId, recordId, patch: true));
        app.MapDelete("/zones/{zoneId}/dns_records/{recordId}", DeleteRecordAsync);
        app.MapGet("/edge/snapshot", SnapshotAsync);
        app.MapGet("/edge/status", StatusAsync);
        app.MapFallback((HttpContext c) => FailAsync(c, new ApiFailure(404, ErrorCodes.NotFound, $"no route {c.Request.Method} {c.Request.Path}")));
    }

    private async Task ListZonesAsync(HttpContext context)
    {
        var (page, perPage, failure) = Paging(context);
        if (failure is not null)
        {
            await FailAsync(context, failure);
            return;
        }
        DnsName? name = null;
        if (context.Request.Query.TryGetValue("name", out var text))
        {
            string value = text.ToString();
            if (!DnsName.TryParse(value.EndsWith('.') ? value : value + ".", null, out var parsed, out var error))
            {
                await FailAsync(context, new ApiFailure(400, ErrorCodes.InvalidZoneName, $"name '{value}' is not a domain name: {error}", "name"));
                return;
            }
            name = parsed;
        }
        // A token limited to one zone sees only that zone.
        if (Token(context).Zone is { } scope)
        {
            if (name is not null && name != scope)
            {
                await OkAsync(context, Array.Empty<ZoneJson>(), Info(page, perPage, 0, 0));
                return;
            }
            name = scope;
        }
        var result = await database.ListZonesAsync(name, page, perPage, context.RequestAborted);
        await OkAsync(context, result.Items.Select(ApiJson.Zone).ToList(), Info(page, perPage, result.Items.Count, result.Total));
    }

    private async Task CreateZoneAsync(HttpContext context)
    {
        var (input, failure) = await ReadJsonAsync<ZoneCreateJson>(context);
        if (input is null)
        {
            await FailAsync(context, failure!);
            return;
        }
        string error = "";
        if (string.IsNullOrWhiteSpace(input.Name) || input.Name.Length > 1024
            || !DnsName.TryParse(input.Name.EndsWith('.') ? input.Name : input.Name + ".", null, out var apex, out error) || apex.IsRoot)
        {
            await FailAsync(context, new ApiFailure(400, ErrorCodes.InvalidZoneName, $"name '{input.Name}' is not a zone name{(error.Length > 0 ? ": " + error : "")}", "name"));
            return;
        }
        apex = apex.ToLowerCase();
        if (Forbidden(context, apex) is { } forbidden)
        {
            await FailAsync(context, forbidden);
            return;
        }
        var records = ZoneText.NewZone(apex, input.NameServers, input.ZoneFile);
        if (records.Failure is not null)
        {
            await FailAsync(context, records.Failure);
            return;
        }
        var created = await database.CreateZoneAsync(apex, records.Value!, context.RequestAborted);
        if (created.Failure is not null) await FailAsync(context, created.Failure);
        else await OkAsync(context, ApiJson.Zone(created.Value!));
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the zone if it exists and the token may act on it; else the 404 or 403. A
    /// <paramref name="write"/> may take the zone from the cache: the change reads it again, locked.
    /// </summary>
    private async Task WithZoneAsync(HttpContext context, string zoneId, Func<ZoneRow, Task> action, bool write = false)
    {
        ZoneRow? zone = null;
        if (zoneId.Length <= 64 && !(write && _zones.TryGetValue(zoneId, out zone)))
        {
            zone = await database.GetZoneAsync(zoneId, context.RequestAborted);
            if (zone is not null)
            {
                if (_zones.Count >= MaxCachedZones) _zones.Clear();
                _zones[zone.Id] = zone;
            }
        }
        if (zone is null) await FailAsync(context, new ApiFailure(404, ErrorCodes.ZoneNotFound, $"no zone with id '{Truncate(zoneId)}'", "zone_id"));
        else if (Forbidden(context, zone.Name) is { } forbidden) await FailAsync(context, forbidden);
        else await action(zone);
    }

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "...";

    private Task DeleteZoneAsync(HttpContext context, string zoneId) => WithZoneAsync(context, zoneId, async _ =>
    {
        var deleted = await database.DeleteZoneAsync(zoneId, context.RequestAborted);
        _zones.TryRemove(zoneId, out ZoneRow? _);
        if (deleted.Failure is not null) await FailAsync(context, deleted.Failure);
        else await OkAsync(context, new { id = zoneId });
    }, write: true);

    private Task ListRecordsAsync(HttpContext context, string zoneId) => WithZoneAsync(context, zoneId, async zone =>
    {
        var (page, perPage, failure) = Paging(context);
        var query = context.Request.Query;
        var errors = new List<ApiError>();
        DnsName? name = query.TryGetValue("name", out var n) ? RecordReader.ParseOwner(n.ToString(), zone.Name, errors) : null;
        string? type = null;
        if (query.TryGetValue("type", out var t))
        {
            if (Dns.RRTypeText.TryParse(t.ToString(), out var parsed)) type = Dns.RRTypeText.ToText(parsed);
            else errors.Add(new ApiError(ErrorCodes.InvalidType, $"type '{t}' is not a record type", "type"));
        }
        string? content = query.TryGetValue("content", out var c) ? c.ToString() : null;
        if (failure is not null || errors.Count > 0)
        {
            await FailAsync(context, failure ?? new ApiFailure(400, errors));
            return;
        }
        var result = await database.ListRecordsAsync(zone.Id, new RecordFilter(name, type, content), page, perPage, context.RequestAborted);
        await OkAsync(context, result.Items.Select(r => ApiJson.Record(r, zone)).ToList(), Info(page, perPage, result.Items.Count, result.Total));
    });

    private Task GetRecordAsync(HttpContext context, string zoneId, string recordId) => WithZoneAsync(context, zoneId, async zone =>
    {
        var row = recordId.Length <= 64 ? await database.GetRecordAsync(zone.Id, recordId, context.RequestAborted) : null;
        if (row is null) await FailAsync(context, new ApiFailure(404, ErrorCodes.RecordNotFound, $"no record with id '{Truncate(recordId)}' in this zone", "id"));
        else await OkAsync(context, ApiJson.Record(row, zone));
    });

    private Task AddRecordAsync(HttpContext context, string zoneId) => WithZoneAsync(context, zoneId, async zone =>
    {
        var (input, failure) = await ReadJsonAsync<RecordInput>(context);
        if (input is null)
        {
            await FailAsync(context, failure!);
            return;
        }
        var added = await database.AddRecordAsync(zone.Id, input, context.RequestAborted);
        if (added.Failure is not null) await FailAsync(context, added.Failure);
        else await OkAsync(context, ApiJson.Record(added.Value!, zone));
    }, write: true);

    /// <summary>PUT replaces the record (every field as given, a missing TTL is the default); PATCH changes the fields given.</summary>
    private Task UpdateRecordAsync(HttpContext context, string zoneId, string recordId, bool patch) => WithZoneAsync(context, zoneId, async zone =>
    {
        var (input, failure) = await ReadJsonAsync<RecordInput>(context);
        if (input is null)
        {
            await FailAsync(context, failure!);
            return;
        }
        var updated = await database.UpdateRecordAsync(zone.Id, recordId, old => patch
            ? new RecordInput(input.Name ?? old.Name.ToString(), input.Type ?? Dns.RRTypeText.ToText(old.Type), input.Content ?? old.Content, input.Ttl ?? old.Ttl)
            : input, context.RequestAborted);
        if (updated.Failure is not null) await FailAsync(context, updated.Failure);
        else await OkAsync(context, ApiJson.Record(updated.Value!, zone));
    }, write: true);

    private Task DeleteRecordAsync(HttpContext context, string zoneId, string recordId) => WithZoneAsync(context, zoneId, async zone =>
    {
        var deleted = await database.DeleteRecordAsync(zone.Id, recordId, context.RequestAborted);
        if (deleted.Failure is not null) await FailAsync(context, deleted.Failure);
        else await OkAsync(context, new { id = recordId });
    }, write: true);

    /// <summary>
    /// POST a zone file: as the body (any text type) or as the <c>file</c> part of a multipart form. Its records are
    /// added to the zone (identical ones skipped, an SOA replaces the zone's), all or nothing.
    /// </summary>
    private Task ImportAsync(HttpContext context, string zoneId) => WithZoneAsync(context, zoneId, async zone =>
    {
        var (body, failure) = await ReadBodyAsync(context);
        if (body is null)
        {
            await FailAsync(context, failure!);
            return;
        }
        string? text = await ZoneFileFromBodyAsync(context, body);
        if (text is null)
        {
            await FailAsync(context, new ApiFailure(400, ErrorCodes.InvalidRequest, "expected a zone file as the body, or as the 'file' part of multipart/form-data", "file"));
            return;
        }
        var imported = await database.ImportAsync(zone.Id, apex => ZoneText.Parse(text, apex, "file"), context.RequestAborted);
        if (imported.Failure is not null) await FailAsync(context, imported.Failure);
        else await OkAsync(context, new { recs_added = imported.Value.Added, total_records_parsed = imported.Value.Parsed });
    }, write: true);

    private static async Task<string?> ZoneFileFromBodyAsync(HttpContext context, byte[] body)
    {
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            return DecodeText(body);
        string boundary = HeaderUtilities.RemoveQuotes(type.Boundary).ToString();
        if (boundary.Length is 0 or > 200) return null;
        var reader = new MultipartReader(boundary, new MemoryStream(body)) { HeadersCountLimit = 16, HeadersLengthLimit = 8192 };
        try
        {
            for (var section = await reader.ReadNextSectionAsync(context.RequestAborted); section is not null; section = await reader.ReadNextSectionAsync(context.RequestAborted))
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || HeaderUtilities.RemoveQuotes(disposition.Name).ToString() != "file")
                    continue;
                using var part = new MemoryStream();
                await section.Body.CopyToAsync(part, context.RequestAborted);
                return DecodeText(part.ToArray());
            }
        }
        catch (IOException)
        {
            // A malformed form: the caller reports it.
        }
        return null;
    }

    private static string? DecodeText(byte[] bytes)
    {
        try
        {
            return new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>Every zone as the edges store it, with the outbox sequence it is consistent with (tokens for all zones only).</summary>
    private async Task SnapshotAsync(HttpContext context)
    {
        if (Token(context).Zone is not null)
        {
            Interlocked.Increment(ref _authFailures);
            await FailAsync(context, new ApiFailure(403, ErrorCodes.NotPermitted, "the edge snapshot needs an API token for all zones (ananas api token create --all)"));
            return;
        }
        var snapshot = await ChangeTransformer.SnapshotAsync(database, context.RequestAborted);
        context.Response.ContentType = EdgeSnapshot.MediaType;
        context.Response.Headers["X-Ananas-Sequence"] = snapshot.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await context.Response.Body.WriteAsync(snapshot.Encode(), context.RequestAborted);
    }

    private async Task StatusAsync(HttpContext context)
    {
        var (committed, published, waiting) = await database.OutboxStateAsync(context.RequestAborted);
        await OkAsync(context, new { committed_sequence = committed, published_sequence = published, waiting });
    }
}

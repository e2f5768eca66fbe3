using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Pipeline.Api;
using Ananas.Pipeline.Database;

namespace Ananas.Pipeline.Records;

/// <summary>Zone file text from a client (bulk import, a zone created from a file), read by our zone parser.</summary>
public static class ZoneText
{
    /// <summary>At most this many parse errors are reported for one upload.</summary>
    public const int MaxReportedErrors = 20;

    /// <summary>
    /// The records of <paramref name="text"/> with <paramref name="apex"/> as the origin and default TTL 3600; parse
    /// errors, records outside the zone and classes other than IN are errors naming the line. <c>$INCLUDE</c> is refused.
    /// </summary>
    public static ChangeResult<IReadOnlyList<ResourceRecord>> Parse(string text, DnsName apex, string field)
    {
        var file = ZoneFileReader.Parse(text, field, apex, RecordReader.DefaultTtl, allowInclude: false);
        var errors = new List<ApiError>();
        foreach (var e in file.Errors) errors.Add(new ApiError(ErrorCodes.ImportInvalid, $"line {e.Line}:{e.Column}: {e.Detail}", field));
        var records = new List<ResourceRecord>(file.Records.Count);
        foreach (var zr in file.Records)
        {
            var record = zr.Record;
            if (!record.Name.IsSubdomainOf(apex))
                errors.Add(new ApiError(ErrorCodes.NameOutsideZone, $"line {zr.Line}:{zr.Column}: {record.Name} is outside the zone {apex}", field));
            else if (record.Class != RRClass.IN)
                errors.Add(new ApiError(ErrorCodes.ImportInvalid, $"line {zr.Line}:{zr.Column}: class {RRClassText.ToText(record.Class)} is not served (IN only)", field));
            else if (!RecordReader.IsZoneData(record.Type))
                errors.Add(new ApiError(ErrorCodes.InvalidType, $"line {zr.Line}:{zr.Column}: type {RRTypeText.ToText(record.Type)} is not zone data", field));
            else records.Add(record with { Name = record.Name.ToLowerCase() });
        }
        if (errors.Count > 0) return new ApiFailure(400, [.. errors.Take(MaxReportedErrors)]);
        return new(records, null);
    }

    /// <summary>
    /// The records of a new zone: a zone file's, plus NS records for <paramref name="nameServers"/>, plus an SOA
    /// when neither gave one (primary name server the first NS target, serial 1).
    /// </summary>
    public static ChangeResult<IReadOnlyList<ResourceRecord>> NewZone(DnsName apex, IReadOnlyList<string>? nameServers, string? zoneFile)
    {
        var records = new List<ResourceRecord>();
        if (zoneFile is not null)
        {
            var parsed = Parse(zoneFile, apex, "zone_file");
            if (parsed.Failure is not null) return parsed;
            records.AddRange(parsed.Value!);
        }
        var errors = new List<ApiError>();
        if (nameServers is { Count: > 13 }) return new ApiFailure(400, ErrorCodes.InvalidRequest, "at most 13 name_servers", "name_servers");
        foreach (var text in nameServers ?? [])
        {
            string absolute = text.EndsWith('.') ? text : text + ".";
            if (DnsName.TryParse(absolute, null, out var target, out var error) && !target.IsRoot)
                records.Add(new ResourceRecord(apex, RecordReader.DefaultTtl, new NameData(RRType.NS, target.ToLowerCase())));
            else errors.Add(new ApiError(ErrorCodes.InvalidName, $"name server '{text}' is not a host name: {error}", "name_servers"));
        }
        if (errors.Count > 0) return new ApiFailure(400, errors);
        if (!records.Exists(r => r.Type == RRType.SOA))
        {
            var primary = records.Find(r => r.Type == RRType.NS && r.Name == apex)?.Data is NameData ns ? ns.Target : apex;
            var soa = RecordText.Parse($"{apex} {RecordReader.DefaultTtl} IN SOA {primary} hostmaster.{apex} 1 7200 3600 1209600 3600", DnsName.Root);
            records.Insert(0, soa);
        }
        return new(records, null);
    }
}

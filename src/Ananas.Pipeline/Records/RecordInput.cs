using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Pipeline.Api;

namespace Ananas.Pipeline.Records;

/// <summary>A DNS record as a client sends it: <c>name</c>, <c>type</c>, <c>content</c> (the RDATA in presentation format), <c>ttl</c>.</summary>
public sealed record RecordInput(string? Name, string? Type, string? Content, long? Ttl);

/// <summary>
/// Turns client input into records with our zone parser. Owner names: <c>@</c> or empty is the apex, a name with a
/// trailing dot is absolute, a name ending in the zone's name is taken as written, any other is relative to the zone.
/// Names inside <c>content</c> are absolute (a hostname there never gets the zone appended).
/// </summary>
public static class RecordReader
{
    /// <summary>The longest <c>content</c> accepted (a TXT record of 32 strings of 255 octets, escaped, fits).</summary>
    public const int MaxContentLength = 16384;

    public const uint DefaultTtl = 3600;

    /// <summary>TTLs are 31-bit (RFC 2181 §8).</summary>
    public const long MaxTtl = int.MaxValue;

    public static DnsName? ParseOwner(string? text, DnsName apex, List<ApiError> errors)
    {
        text = text?.Trim() ?? "";
        if (text.Length > DnsName.MaxWireLength * 4)
        {
            errors.Add(new ApiError(ErrorCodes.InvalidName, "name is longer than any domain name", "name"));
            return null;
        }
        string apexText = apex.ToString().TrimEnd('.');
        string absolute = text switch
        {
            "" or "@" => apex.ToString(),
            _ when text.EndsWith('.') => text,
            _ when text.Equals(apexText, StringComparison.OrdinalIgnoreCase) || text.EndsWith("." + apexText, StringComparison.OrdinalIgnoreCase) => text + ".",
            _ => text + "." + apex,
        };
        if (!DnsName.TryParse(absolute, null, out var name, out var error))
        {
            errors.Add(new ApiError(ErrorCodes.InvalidName, $"name '{text}' is not a domain name: {error}", "name"));
            return null;
        }
        if (!name.IsSubdomainOf(apex))
        {
            errors.Add(new ApiError(ErrorCodes.NameOutsideZone, $"name {name} is outside the zone {apex}", "name"));
            return null;
        }
        return name.ToLowerCase();
    }

    /// <summary>The record, or null with the reasons added to <paramref name="errors"/>.</summary>
    public static ResourceRecord? Parse(RecordInput input, DnsName apex, List<ApiError> errors)
    {
        int before = errors.Count;
        var owner = input.Name is null
            ? Missing(errors, "name")
            : ParseOwner(input.Name, apex, errors);
        RRType type = RRType.None;
        if (string.IsNullOrWhiteSpace(input.Type)) errors.Add(new ApiError(ErrorCodes.InvalidType, "type is required", "type"));
        else if (!RRTypeText.TryParse(input.Type.Trim(), out type) || type == RRType.None)
            errors.Add(new ApiError(ErrorCodes.InvalidType, $"type '{input.Type}' is not a record type", "type"));
        else if (!IsZoneData(type))
            errors.Add(new ApiError(ErrorCodes.InvalidType, $"type {RRTypeText.ToText(type)} is not zone data (a query or transaction type, or DNSSEC data the signer makes)", "type"));
        long ttl = input.Ttl ?? DefaultTtl;
        if (ttl is < 0 or > MaxTtl) errors.Add(new ApiError(ErrorCodes.InvalidTtl, $"ttl {ttl} is not between 0 and {MaxTtl} (RFC 2181 §8)", "ttl"));
        string content = input.Content ?? "";
        if (content.Trim().Length == 0) errors.Add(new ApiError(ErrorCodes.InvalidContent, "content is required", "content"));
        else if (content.Length > MaxContentLength) errors.Add(new ApiError(ErrorCodes.InvalidContent, $"content is longer than {MaxContentLength} characters", "content"));
        else if (content.AsSpan().IndexOfAny('\r', '\n') >= 0)
            errors.Add(new ApiError(ErrorCodes.InvalidContent, "content must be one line", "content"));
        if (errors.Count > before || owner is null) return null;

        try
        {
            // Our zone parser, with the root as origin so that names in the RDATA are absolute.
            var record = RecordText.Parse($"{owner} {ttl} IN {RRTypeText.ToText(type)} {content}", DnsName.Root);
            return record;
        }
        catch (DnsFormatException e)
        {
            string detail = e is ZoneFileException z ? z.Detail : e.Message;
            errors.Add(new ApiError(ErrorCodes.InvalidContent, $"content is not valid {RRTypeText.ToText(type)} data: {detail}", "content"));
            return null;
        }
    }

    /// <summary>Types a zone may hold as data: not meta or query types (RFC 6895 §3.1), not signatures and denial (made by a signer).</summary>
    public static bool IsZoneData(RRType type) =>
        type is not (RRType.OPT or RRType.TKEY or RRType.TSIG or RRType.IXFR or RRType.AXFR or RRType.ANY
            or RRType.RRSIG or RRType.NSEC or RRType.NSEC3 or RRType.SIG or RRType.NXT)
        && (ushort)type is not (>= 128 and <= 255);

    private static DnsName? Missing(List<ApiError> errors, string field)
    {
        errors.Add(new ApiError(ErrorCodes.InvalidName, $"{field} is required", field));
        return null;
    }

    /// <summary>The name as the API shows it: without the trailing dot.</summary>
    public static string Show(DnsName name) => name.IsRoot ? "." : name.ToString().TrimEnd('.');
}

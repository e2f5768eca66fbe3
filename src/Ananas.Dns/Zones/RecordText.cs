using Ananas.Dns.Records;

namespace Ananas.Dns.Zones;

/// <summary>
/// Parses one resource record written in presentation format (a zone-file line without directives):
/// <c>owner [ttl] [class] type rdata</c>, TTL and class in either order, relative names completed with the origin.
/// Parentheses may spread it over several lines; <c>;</c> comments are ignored.
/// </summary>
public static class RecordText
{
    /// <summary>The file name that error messages give for record text.</summary>
    public const string SourceName = "<record>";

    public static ResourceRecord Parse(string text, DnsName origin, uint defaultTtl = 3600) =>
        Parse(text, origin, defaultTtl, keepMalformedGeneric: false);

    /// <param name="keepMalformedGeneric">Keep <c>\#</c> RDATA that is malformed for its (known) type as
    /// <see cref="UnknownData"/> instead of failing, e.g. <c>A \# 3 030405</c> in a test that serves broken answers.</param>
    public static ResourceRecord Parse(string text, DnsName origin, uint defaultTtl, bool keepMalformedGeneric)
    {
        var tokenizer = new ZoneTokenizer(text, SourceName);
        var tokens = new List<ZoneToken>();
        if (!tokenizer.ReadRecord(tokens, out var end))
            throw new ZoneFileException(SourceName, 1, 1, "expected a record, found nothing");
        if (tokens.Count < 2)
            throw new ZoneFileException(SourceName, end.Line, end.Column, $"expected an owner and a record type, found {end.Describe()}");
        var ctx = new RecordContext(SourceName, origin) { DefaultTtl = defaultTtl };
        var record = RecordParser.Parse(tokens, end, ctx, ownerAlwaysPresent: true, keepMalformedGeneric);
        // Only one record per text: anything after the first logical line is a mistake.
        var extra = new List<ZoneToken>();
        if (tokenizer.ReadRecord(extra, out _))
            throw new ZoneFileException(SourceName, extra[0].Line, extra[0].Column, $"expected end of text, found {extra[0].Describe()}");
        return record;
    }
}

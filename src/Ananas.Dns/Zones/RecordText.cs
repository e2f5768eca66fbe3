using System.Globalization;
using Ananas.Dns.Records;

namespace Ananas.Dns.Zones;

/// <summary>
/// Parses one resource record written in presentation format (a zone-file line without directives):
/// <c>owner [ttl] [class] type rdata</c>, TTL and class in either order, relative names completed with the origin.
/// </summary>
public static class RecordText
{
    public static ResourceRecord Parse(string text, DnsName origin, uint defaultTtl = 3600)
    {
        var tokens = Tokenize(text);
        if (tokens.Count < 2) throw new DnsFormatException($"record '{text}' needs at least an owner and a type");
        int i = 0;
        var owner = tokens[i] == "@" ? origin : DnsName.Parse(tokens[i], origin);
        i++;
        uint ttl = defaultTtl;
        var rrclass = RRClass.IN;
        for (int k = 0; k < 2 && i < tokens.Count; k++)
        {
            if (uint.TryParse(tokens[i], NumberStyles.None, CultureInfo.InvariantCulture, out uint t)) { ttl = t; i++; }
            else if (RRClassText.TryParse(tokens[i], out var c) && !RRTypeText.TryParse(tokens[i], out _)) { rrclass = c; i++; }
        }
        if (i >= tokens.Count || !RRTypeText.TryParse(tokens[i], out var type))
            throw new DnsFormatException($"record '{text}': expected a record type");
        i++;
        var data = ParseData(type, tokens, i, origin);
        return new ResourceRecord(owner, rrclass, ttl, data);
    }

    private static RData ParseData(RRType type, List<string> tokens, int i, DnsName origin)
    {
        int n = tokens.Count - i;
        if (n >= 1 && tokens[i] == "\\#") return ParseGeneric(type, tokens, i + 1);
        DnsName Name(int k) => tokens[i + k] == "@" ? origin : DnsName.Parse(tokens[i + k], origin);
        uint U32(int k) => uint.Parse(tokens[i + k], NumberStyles.None, CultureInfo.InvariantCulture);
        try
        {
            return type switch
            {
                RRType.A or RRType.AAAA => AddressData.Parse(tokens[i]),
                _ when NameData.IsNameType(type) => new NameData(type, Name(0)),
                RRType.SOA => new SoaData(Name(0), Name(1), U32(2), U32(3), U32(4), U32(5), U32(6)),
                _ => throw new DnsFormatException($"presentation format of {RRTypeText.ToText(type)} is not supported; use \\# generic form"),
            };
        }
        catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException or OverflowException)
        {
            throw new DnsFormatException($"bad {RRTypeText.ToText(type)} RDATA: {e.Message}", e);
        }
    }

    private static RData ParseGeneric(RRType type, List<string> tokens, int i)
    {
        if (i >= tokens.Count || !int.TryParse(tokens[i], NumberStyles.None, CultureInfo.InvariantCulture, out int length))
            throw new DnsFormatException("\\# must be followed by the RDATA length");
        var hex = string.Concat(tokens.Skip(i + 1));
        byte[] bytes;
        try { bytes = Convert.FromHexString(hex); }
        catch (FormatException e) { throw new DnsFormatException("bad hex in \\# RDATA", e); }
        if (bytes.Length != length) throw new DnsFormatException($"\\# length {length} does not match {bytes.Length} octets of hex");
        var reader = new Wire.WireReader(bytes);
        return RData.Read(type, ref reader, bytes.Length);
    }

    private static List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        int p = 0;
        while (p < text.Length)
        {
            char c = text[p];
            if (c == ';') break;
            if (char.IsWhiteSpace(c) || c == '(' || c == ')') { p++; continue; }
            int start = p;
            if (c == '"')
            {
                p++;
                while (p < text.Length && text[p] != '"') p += text[p] == '\\' ? 2 : 1;
                tokens.Add(text[(start + 1)..Math.Min(p, text.Length)]);
                p++;
                continue;
            }
            while (p < text.Length && !char.IsWhiteSpace(text[p]) && text[p] is not ('(' or ')' or ';')) p += text[p] == '\\' ? 2 : 1;
            tokens.Add(text[start..Math.Min(p, text.Length)]);
        }
        return tokens;
    }
}

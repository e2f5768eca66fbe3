using System.Globalization;

namespace Ananas.Dns;

/// <summary>Mnemonics for record types, with the RFC 3597 <c>TYPEnnn</c> form for the rest.</summary>
public static class RRTypeText
{
    private static readonly Dictionary<string, RRType> ByName = BuildNames();

    private static Dictionary<string, RRType> BuildNames()
    {
        var d = new Dictionary<string, RRType>(StringComparer.OrdinalIgnoreCase);
        foreach (RRType t in Enum.GetValues<RRType>())
        {
            if (t != RRType.None) d[t.ToString()] = t;
        }
        return d;
    }

    public static string ToText(RRType type) =>
        type != RRType.None && Enum.IsDefined(type) ? type.ToString() : "TYPE" + ((ushort)type).ToString(CultureInfo.InvariantCulture);

    public static bool TryParse(ReadOnlySpan<char> text, out RRType type)
    {
        if (text.Length > 4 && text.StartsWith("TYPE", StringComparison.OrdinalIgnoreCase) &&
            ushort.TryParse(text[4..], NumberStyles.None, CultureInfo.InvariantCulture, out ushort n))
        {
            type = (RRType)n;
            return true;
        }
        var lookup = ByName.GetAlternateLookup<ReadOnlySpan<char>>();
        return lookup.TryGetValue(text, out type);
    }

    public static RRType Parse(string text) =>
        TryParse(text, out var t) ? t : throw new DnsFormatException($"unknown record type '{text}'");
}

/// <summary>Mnemonics for record classes, with the RFC 3597 <c>CLASSnnn</c> form for the rest.</summary>
public static class RRClassText
{
    public static string ToText(RRClass c) =>
        Enum.IsDefined(c) ? c.ToString() : "CLASS" + ((ushort)c).ToString(CultureInfo.InvariantCulture);

    public static bool TryParse(ReadOnlySpan<char> text, out RRClass c)
    {
        if (text.Length > 5 && text.StartsWith("CLASS", StringComparison.OrdinalIgnoreCase) &&
            ushort.TryParse(text[5..], NumberStyles.None, CultureInfo.InvariantCulture, out ushort n))
        {
            c = (RRClass)n;
            return true;
        }
        return Enum.TryParse(text, ignoreCase: true, out c) && !char.IsAsciiDigit(text[0]);
    }
}

using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>TXT (RFC 1035 §3.3.14) and SPF (RFC 7208 §3.1, same format) RDATA: one or more character-strings.</summary>
public sealed class TxtData : RData
{
    private readonly byte[][] _strings;

    public TxtData(RRType type, IEnumerable<byte[]> strings)
    {
        if (type is not (RRType.TXT or RRType.SPF)) throw new ArgumentException($"{type} is not TXT or SPF", nameof(type));
        Type = type;
        _strings = [.. strings];
        foreach (var s in _strings)
            if (s.Length > 255) throw new DnsFormatException("character-string longer than 255 octets");
    }

    public TxtData(params string[] strings) : this(RRType.TXT, strings.Select(Encoding.UTF8.GetBytes)) { }

    public override RRType Type { get; }

    /// <summary>The character-strings, each at most 255 octets.</summary>
    public IReadOnlyList<byte[]> Strings => _strings;

    /// <summary>All strings joined, decoded as UTF-8 (how SPF and most consumers read a TXT record).</summary>
    public string Text => Encoding.UTF8.GetString(_strings.SelectMany(s => s).ToArray());

    public override void WriteTo(ref WireWriter writer)
    {
        foreach (var s in _strings) writer.WriteCharacterString(s);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        // Zero strings is malformed but seen on the wire; only the generic form can express it.
        if (_strings.Length == 0) { AppendGeneric(sb); return; }
        for (int i = 0; i < _strings.Length; i++)
        {
            if (i > 0) sb.Append(' ');
            PresentationText.AppendQuoted(sb, _strings[i]);
        }
    }

    internal static TxtData ReadFrom(RRType type, ref WireReader reader)
    {
        var list = new List<byte[]>();
        while (reader.Remaining > 0) list.Add(reader.ReadCharacterString().ToArray());
        return new TxtData(type, list);
    }

    internal static TxtData Parse(RRType type, RDataTextReader reader)
    {
        var list = new List<byte[]> { reader.ReadCharacterString("a character-string") };
        while (!reader.AtEnd) list.Add(reader.ReadCharacterString("a character-string"));
        return new TxtData(type, list);
    }
}

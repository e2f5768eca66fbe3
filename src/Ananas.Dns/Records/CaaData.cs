using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>CAA RDATA (RFC 8659 §4.1): flags, a property tag and its value (the rest of the RDATA, no length octet).</summary>
public sealed class CaaData : RData
{
    public CaaData(byte flags, string tag, byte[] value)
    {
        if (tag.Length is 0 or > 255) throw new DnsFormatException("CAA tag must be 1 to 255 characters");
        Flags = flags;
        Tag = tag;
        Value = value;
    }

    public override RRType Type => RRType.CAA;

    public byte Flags { get; }

    /// <summary>The Issuer Critical flag (bit 0, value 128): an issuer that does not understand the tag must not issue.</summary>
    public bool IsCritical => (Flags & 0x80) != 0;

    /// <summary>The property tag, e.g. <c>issue</c>, <c>issuewild</c>, <c>iodef</c>.</summary>
    public string Tag { get; }

    public ReadOnlyMemory<byte> Value { get; }

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteByte(Flags);
        Span<byte> tag = stackalloc byte[Tag.Length];
        for (int i = 0; i < Tag.Length; i++) tag[i] = (byte)Tag[i];
        writer.WriteCharacterString(tag);
        writer.WriteBytes(Value.Span);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        // A tag read from the wire may hold octets a presentation tag cannot; keep it readable back.
        foreach (char c in Tag)
        {
            if (!char.IsAsciiLetterOrDigit(c)) { AppendGeneric(sb); return; }
        }
        sb.Append(Flags).Append(' ').Append(Tag).Append(' ');
        PresentationText.AppendQuoted(sb, Value.Span);
    }

    internal static CaaData ReadFrom(ref WireReader reader)
    {
        byte flags = reader.ReadByte();
        var tag = reader.ReadCharacterString();
        if (tag.IsEmpty) throw new DnsFormatException("CAA tag is empty");
        var chars = new char[tag.Length];
        for (int i = 0; i < tag.Length; i++) chars[i] = (char)tag[i];
        return new CaaData(flags, new string(chars), reader.ReadToEnd().ToArray());
    }

    internal static CaaData Parse(RDataTextReader reader)
    {
        byte flags = reader.ReadUInt8("CAA flags");
        var t = reader.Next("a CAA tag");
        if (t.Kind != ZoneTokenKind.Word || t.Text.Length is 0 or > 15 || !t.Text.All(char.IsAsciiLetterOrDigit))
            throw reader.Error("a CAA tag (1 to 15 letters and digits)", t);
        var value = reader.Decode(reader.Next("a CAA value"), "a CAA value");
        return new CaaData(flags, t.Text, value);
    }
}

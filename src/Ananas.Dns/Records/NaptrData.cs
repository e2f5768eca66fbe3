using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>NAPTR RDATA (RFC 3403 §4.1). The replacement is never compressed but is lowercased in canonical form.</summary>
public sealed class NaptrData(ushort order, ushort preference, byte[] flags, byte[] services, byte[] regexp, DnsName replacement) : RData
{
    public override RRType Type => RRType.NAPTR;

    public ushort Order { get; } = order;

    public ushort Preference { get; } = preference;

    public ReadOnlyMemory<byte> Flags { get; } = Check(flags);

    public ReadOnlyMemory<byte> Services { get; } = Check(services);

    public ReadOnlyMemory<byte> Regexp { get; } = Check(regexp);

    public DnsName Replacement { get; } = replacement;

    private static byte[] Check(byte[] s) => s.Length <= 255 ? s : throw new DnsFormatException("NAPTR character-string longer than 255 octets");

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteUInt16(Order);
        writer.WriteUInt16(Preference);
        writer.WriteCharacterString(Flags.Span);
        writer.WriteCharacterString(Services.Span);
        writer.WriteCharacterString(Regexp.Span);
        writer.WriteName(Replacement, compressible: false);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        sb.Append(Order).Append(' ').Append(Preference).Append(' ');
        PresentationText.AppendQuoted(sb, Flags.Span);
        sb.Append(' ');
        PresentationText.AppendQuoted(sb, Services.Span);
        sb.Append(' ');
        PresentationText.AppendQuoted(sb, Regexp.Span);
        sb.Append(' ');
        Replacement.AppendTo(sb);
    }

    internal static NaptrData ReadFrom(ref WireReader reader) =>
        new(reader.ReadUInt16(), reader.ReadUInt16(), reader.ReadCharacterString().ToArray(),
            reader.ReadCharacterString().ToArray(), reader.ReadCharacterString().ToArray(), reader.ReadName());

    internal static NaptrData Parse(RDataTextReader reader) =>
        new(reader.ReadUInt16("a NAPTR order"), reader.ReadUInt16("a NAPTR preference"),
            reader.ReadCharacterString("NAPTR flags"), reader.ReadCharacterString("NAPTR services"),
            reader.ReadCharacterString("a NAPTR regexp"), reader.ReadName("a replacement name"));
}

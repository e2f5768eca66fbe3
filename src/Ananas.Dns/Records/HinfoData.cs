using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>HINFO RDATA (RFC 1035 §3.3.2; RFC 8482 answers ANY with it): CPU and OS character-strings.</summary>
public sealed class HinfoData(byte[] cpu, byte[] os) : RData
{
    public override RRType Type => RRType.HINFO;

    public ReadOnlyMemory<byte> Cpu { get; } = cpu.Length <= 255 ? cpu : throw new DnsFormatException("HINFO CPU longer than 255 octets");

    public ReadOnlyMemory<byte> Os { get; } = os.Length <= 255 ? os : throw new DnsFormatException("HINFO OS longer than 255 octets");

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteCharacterString(Cpu.Span);
        writer.WriteCharacterString(Os.Span);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        PresentationText.AppendQuoted(sb, Cpu.Span);
        sb.Append(' ');
        PresentationText.AppendQuoted(sb, Os.Span);
    }

    internal static HinfoData ReadFrom(ref WireReader reader) =>
        new(reader.ReadCharacterString().ToArray(), reader.ReadCharacterString().ToArray());

    internal static HinfoData Parse(RDataTextReader reader) =>
        new(reader.ReadCharacterString("a CPU character-string"), reader.ReadCharacterString("an OS character-string"));
}

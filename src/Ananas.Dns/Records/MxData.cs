using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>MX RDATA (RFC 1035 §3.3.9): a preference and a mail exchanger. An RFC 1035 type, so the name may be compressed.</summary>
public sealed class MxData(ushort preference, DnsName exchange) : RData
{
    public override RRType Type => RRType.MX;

    /// <summary>Lower is preferred.</summary>
    public ushort Preference { get; } = preference;

    public DnsName Exchange { get; } = exchange;

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteUInt16(Preference);
        writer.WriteName(Exchange, compressible: true);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        sb.Append(Preference).Append(' ');
        Exchange.AppendTo(sb);
    }

    internal static MxData ReadFrom(ref WireReader reader) => new(reader.ReadUInt16(), reader.ReadName());

    internal static MxData Parse(RDataTextReader reader) =>
        new(reader.ReadUInt16("an MX preference"), reader.ReadName("a mail exchanger name"));
}

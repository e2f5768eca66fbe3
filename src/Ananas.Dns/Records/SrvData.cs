using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>SRV RDATA (RFC 2782). The target is never compressed (RFC 2782, RFC 3597 §4) but is lowercased in canonical form.</summary>
public sealed class SrvData(ushort priority, ushort weight, ushort port, DnsName target) : RData
{
    public override RRType Type => RRType.SRV;

    public ushort Priority { get; } = priority;

    public ushort Weight { get; } = weight;

    public ushort Port { get; } = port;

    /// <summary>The host; <c>.</c> means the service is decidedly not available.</summary>
    public DnsName Target { get; } = target;

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteUInt16(Priority);
        writer.WriteUInt16(Weight);
        writer.WriteUInt16(Port);
        writer.WriteName(Target, compressible: false);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        sb.Append(Priority).Append(' ').Append(Weight).Append(' ').Append(Port).Append(' ');
        Target.AppendTo(sb);
    }

    internal static SrvData ReadFrom(ref WireReader reader) =>
        new(reader.ReadUInt16(), reader.ReadUInt16(), reader.ReadUInt16(), reader.ReadName());

    internal static SrvData Parse(RDataTextReader reader) =>
        new(reader.ReadUInt16("an SRV priority"), reader.ReadUInt16("an SRV weight"), reader.ReadUInt16("a port"),
            reader.ReadName("a target name"));
}

using System.Text;
using Ananas.Dns.Wire;

namespace Ananas.Dns.Records;

/// <summary>SOA RDATA (RFC 1035 §3.3.13). <see cref="Minimum"/> is the negative-caching TTL (RFC 2308).</summary>
public sealed class SoaData(DnsName primaryServer, DnsName responsibleMailbox, uint serial, uint refresh, uint retry, uint expire, uint minimum) : RData
{
    public override RRType Type => RRType.SOA;

    public DnsName PrimaryServer { get; } = primaryServer;

    public DnsName ResponsibleMailbox { get; } = responsibleMailbox;

    public uint Serial { get; } = serial;

    public uint Refresh { get; } = refresh;

    public uint Retry { get; } = retry;

    public uint Expire { get; } = expire;

    public uint Minimum { get; } = minimum;

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteName(PrimaryServer, compressible: true);
        writer.WriteName(ResponsibleMailbox, compressible: true);
        writer.WriteUInt32(Serial);
        writer.WriteUInt32(Refresh);
        writer.WriteUInt32(Retry);
        writer.WriteUInt32(Expire);
        writer.WriteUInt32(Minimum);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        PrimaryServer.AppendTo(sb);
        sb.Append(' ');
        ResponsibleMailbox.AppendTo(sb);
        sb.Append(' ').Append(Serial).Append(' ').Append(Refresh).Append(' ').Append(Retry)
          .Append(' ').Append(Expire).Append(' ').Append(Minimum);
    }

    internal static SoaData ReadFrom(ref WireReader reader) =>
        new(reader.ReadName(), reader.ReadName(), reader.ReadUInt32(), reader.ReadUInt32(), reader.ReadUInt32(),
            reader.ReadUInt32(), reader.ReadUInt32());
}

using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>ZONEMD RDATA (RFC 8976 §2): a message digest over the whole zone.</summary>
public sealed class ZonemdData(uint serial, byte scheme, byte hashAlgorithm, byte[] digest) : RData
{
    public override RRType Type => RRType.ZONEMD;

    /// <summary>The SOA serial of the zone version the digest covers.</summary>
    public uint Serial { get; } = serial;

    /// <summary>1 is SIMPLE.</summary>
    public byte Scheme { get; } = scheme;

    /// <summary>1 SHA-384, 2 SHA-512.</summary>
    public byte HashAlgorithm { get; } = hashAlgorithm;

    public ReadOnlyMemory<byte> Digest { get; } = digest;

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteUInt32(Serial);
        writer.WriteByte(Scheme);
        writer.WriteByte(HashAlgorithm);
        writer.WriteBytes(Digest.Span);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        if (Digest.IsEmpty) { AppendGeneric(sb); return; }
        sb.Append(Serial).Append(' ').Append(Scheme).Append(' ').Append(HashAlgorithm).Append(' ').Append(Convert.ToHexString(Digest.Span));
    }

    internal static ZonemdData ReadFrom(ref WireReader reader) =>
        new(reader.ReadUInt32(), reader.ReadByte(), reader.ReadByte(), reader.ReadToEnd().ToArray());

    internal static ZonemdData Parse(RDataTextReader reader) =>
        new(reader.ReadUInt32("a serial"), reader.ReadUInt8("a scheme"), reader.ReadUInt8("a hash algorithm"), reader.ReadHexRest("a digest"));
}

using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>DS (RFC 4034 §5) and CDS (RFC 7344 §3.1, same format) RDATA: a digest of a child zone's DNSKEY.</summary>
public sealed class DsData : RData
{
    public DsData(RRType type, ushort keyTag, byte algorithm, byte digestType, byte[] digest)
    {
        if (type is not (RRType.DS or RRType.CDS)) throw new ArgumentException($"{type} is not DS or CDS", nameof(type));
        Type = type;
        KeyTag = keyTag;
        Algorithm = algorithm;
        DigestType = digestType;
        Digest = digest;
    }

    public DsData(ushort keyTag, byte algorithm, byte digestType, byte[] digest) : this(RRType.DS, keyTag, algorithm, digestType, digest) { }

    public override RRType Type { get; }

    public ushort KeyTag { get; }

    public byte Algorithm { get; }

    /// <summary>1 SHA-1, 2 SHA-256, 4 SHA-384 (IANA "Delegation Signer Digest Algorithms").</summary>
    public byte DigestType { get; }

    public ReadOnlyMemory<byte> Digest { get; }

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteUInt16(KeyTag);
        writer.WriteByte(Algorithm);
        writer.WriteByte(DigestType);
        writer.WriteBytes(Digest.Span);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        if (Digest.IsEmpty) { AppendGeneric(sb); return; }
        sb.Append(KeyTag).Append(' ').Append(Algorithm).Append(' ').Append(DigestType).Append(' ')
          .Append(Convert.ToHexString(Digest.Span));
    }

    internal static DsData ReadFrom(RRType type, ref WireReader reader) =>
        new(type, reader.ReadUInt16(), reader.ReadByte(), reader.ReadByte(), reader.ReadToEnd().ToArray());

    internal static DsData Parse(RRType type, RDataTextReader reader) =>
        new(type, reader.ReadUInt16("a key tag"), reader.ReadAlgorithm(), reader.ReadUInt8("a digest type"),
            reader.ReadHexRest("a digest"));
}

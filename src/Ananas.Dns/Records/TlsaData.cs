using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>TLSA (RFC 6698 §2) and SMIMEA (RFC 8162, same format) RDATA: a certificate association for DANE.</summary>
public sealed class TlsaData : RData
{
    public TlsaData(RRType type, byte certificateUsage, byte selector, byte matchingType, byte[] certificateAssociationData)
    {
        if (type is not (RRType.TLSA or RRType.SMIMEA)) throw new ArgumentException($"{type} is not TLSA or SMIMEA", nameof(type));
        Type = type;
        CertificateUsage = certificateUsage;
        Selector = selector;
        MatchingType = matchingType;
        CertificateAssociationData = certificateAssociationData;
    }

    public override RRType Type { get; }

    /// <summary>0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE.</summary>
    public byte CertificateUsage { get; }

    /// <summary>0 full certificate, 1 SubjectPublicKeyInfo.</summary>
    public byte Selector { get; }

    /// <summary>0 exact match, 1 SHA-256, 2 SHA-512.</summary>
    public byte MatchingType { get; }

    public ReadOnlyMemory<byte> CertificateAssociationData { get; }

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteByte(CertificateUsage);
        writer.WriteByte(Selector);
        writer.WriteByte(MatchingType);
        writer.WriteBytes(CertificateAssociationData.Span);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        if (CertificateAssociationData.IsEmpty) { AppendGeneric(sb); return; }
        sb.Append(CertificateUsage).Append(' ').Append(Selector).Append(' ').Append(MatchingType).Append(' ')
          .Append(Convert.ToHexString(CertificateAssociationData.Span));
    }

    internal static TlsaData ReadFrom(RRType type, ref WireReader reader) =>
        new(type, reader.ReadByte(), reader.ReadByte(), reader.ReadByte(), reader.ReadToEnd().ToArray());

    internal static TlsaData Parse(RRType type, RDataTextReader reader) =>
        new(type, reader.ReadUInt8("a certificate usage"), reader.ReadUInt8("a selector"), reader.ReadUInt8("a matching type"),
            reader.ReadHexRest("certificate association data"));
}

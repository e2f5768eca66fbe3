using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>
/// NSEC RDATA (RFC 4034 §4): the next owner name in canonical order and the types present at this owner.
/// The next name is never compressed and, per RFC 6840 §5.1, keeps its case in canonical form.
/// </summary>
public sealed class NsecData(DnsName nextDomainName, TypeBitmap types) : RData
{
    public override RRType Type => RRType.NSEC;

    public DnsName NextDomainName { get; } = nextDomainName;

    public TypeBitmap Types { get; } = types;

    public bool Contains(RRType type) => Types.Contains(type);

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteName(NextDomainName, compressible: false, lowercaseInCanonical: false);
        Types.WriteTo(ref writer);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        NextDomainName.AppendTo(sb);
        Types.AppendPresentation(sb);
    }

    internal static NsecData ReadFrom(ref WireReader reader)
    {
        var next = reader.ReadName();
        return new NsecData(next, TypeBitmap.ReadFrom(ref reader));
    }

    internal static NsecData Parse(RDataTextReader reader)
    {
        var next = reader.ReadName("the next domain name");
        return new NsecData(next, TypeBitmap.Parse(reader));
    }
}

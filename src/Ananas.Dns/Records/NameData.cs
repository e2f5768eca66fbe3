using System.Text;
using Ananas.Dns.Wire;

namespace Ananas.Dns.Records;

/// <summary>RDATA that is a single domain name: NS, CNAME, DNAME, PTR (and the obsolete MB, MG, MR, MD, MF).</summary>
public sealed class NameData : RData
{
    public NameData(RRType type, DnsName target)
    {
        if (!IsNameType(type)) throw new ArgumentException($"{type} is not a single-name type", nameof(type));
        Type = type;
        Target = target;
    }

    public override RRType Type { get; }

    /// <summary>The name the record points to (the NS host, the CNAME target, the DNAME target, the PTR name).</summary>
    public DnsName Target { get; }

    public static bool IsNameType(RRType type) => type is RRType.NS or RRType.CNAME or RRType.DNAME or RRType.PTR
        or RRType.MB or RRType.MG or RRType.MR or RRType.MD or RRType.MF;

    public static NameData Ns(DnsName target) => new(RRType.NS, target);

    public static NameData Cname(DnsName target) => new(RRType.CNAME, target);

    public static NameData Dname(DnsName target) => new(RRType.DNAME, target);

    public static NameData Ptr(DnsName target) => new(RRType.PTR, target);

    // DNAME (RFC 6672 §2.5) must not be compressed; the RFC 1035 types may be.
    public override void WriteTo(ref WireWriter writer) =>
        writer.WriteName(Target, compressible: Type != RRType.DNAME);

    public override void AppendPresentation(StringBuilder sb) => Target.AppendTo(sb);

    internal static NameData ReadFrom(RRType type, ref WireReader reader) => new(type, reader.ReadName());
}

using Ananas.Dns.Wire;

namespace Ananas.Dns.Records;

/// <summary>Maps a record type to the code that reads its RDATA from the wire.</summary>
internal static class RDataCodec
{
    public static RData Read(RRType type, ref WireReader reader, int length) => type switch
    {
        RRType.A or RRType.AAAA => AddressData.ReadFrom(type, ref reader, length),
        RRType.NS or RRType.CNAME or RRType.DNAME or RRType.PTR or RRType.MB or RRType.MG or RRType.MR
            or RRType.MD or RRType.MF => NameData.ReadFrom(type, ref reader),
        RRType.SOA => SoaData.ReadFrom(ref reader),
        _ => UnknownData.ReadFrom(type, ref reader, length),
    };
}

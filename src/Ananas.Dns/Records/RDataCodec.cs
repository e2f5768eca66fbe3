using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>Maps a record type to the code that reads its RDATA from the wire and from presentation text.</summary>
internal static class RDataCodec
{
    public static RData Read(RRType type, ref WireReader reader, int length) => type switch
    {
        RRType.A or RRType.AAAA => AddressData.ReadFrom(type, ref reader, length),
        RRType.NS or RRType.CNAME or RRType.DNAME or RRType.PTR or RRType.MB or RRType.MG or RRType.MR
            or RRType.MD or RRType.MF => NameData.ReadFrom(type, ref reader),
        RRType.SOA => SoaData.ReadFrom(ref reader),
        RRType.MX => MxData.ReadFrom(ref reader),
        RRType.TXT or RRType.SPF => TxtData.ReadFrom(type, ref reader),
        RRType.HINFO => HinfoData.ReadFrom(ref reader),
        RRType.SRV => SrvData.ReadFrom(ref reader),
        RRType.NAPTR => NaptrData.ReadFrom(ref reader),
        RRType.CAA => CaaData.ReadFrom(ref reader),
        RRType.DS or RRType.CDS => DsData.ReadFrom(type, ref reader),
        RRType.DNSKEY or RRType.CDNSKEY => DnskeyData.ReadFrom(type, ref reader),
        RRType.RRSIG => RrsigData.ReadFrom(ref reader),
        RRType.NSEC => NsecData.ReadFrom(ref reader),
        RRType.NSEC3 => Nsec3Data.ReadFrom(ref reader),
        RRType.NSEC3PARAM => Nsec3ParamData.ReadFrom(ref reader),
        RRType.TLSA or RRType.SMIMEA => TlsaData.ReadFrom(type, ref reader),
        RRType.SSHFP => SshfpData.ReadFrom(ref reader),
        RRType.SVCB or RRType.HTTPS => SvcbData.ReadFrom(type, ref reader),
        RRType.ZONEMD => ZonemdData.ReadFrom(ref reader),
        _ => UnknownData.ReadFrom(type, ref reader, length),
    };

    /// <summary>
    /// Parses the RDATA tokens of a <paramref name="type"/> record. <c>\#</c> (RFC 3597 §5) is accepted for
    /// every type and, for known types, decoded into the typed class.
    /// </summary>
    public static RData Parse(RRType type, RDataTextReader reader)
    {
        if (reader.Peek() is { Kind: ZoneTokenKind.Word, Text: "\\#" }) return ParseGeneric(type, reader);
        RData data = type switch
        {
            RRType.A or RRType.AAAA => ParseAddress(type, reader),
            _ when NameData.IsNameType(type) => new NameData(type, reader.ReadName("a domain name")),
            RRType.SOA => new SoaData(reader.ReadName("a primary server name"), reader.ReadName("a mailbox name"),
                reader.ReadUInt32("a serial"), reader.ReadTtl("a refresh interval"), reader.ReadTtl("a retry interval"),
                reader.ReadTtl("an expire interval"), reader.ReadTtl("a minimum TTL")),
            RRType.MX => MxData.Parse(reader),
            RRType.TXT or RRType.SPF => TxtData.Parse(type, reader),
            RRType.HINFO => HinfoData.Parse(reader),
            RRType.SRV => SrvData.Parse(reader),
            RRType.NAPTR => NaptrData.Parse(reader),
            RRType.CAA => CaaData.Parse(reader),
            RRType.DS or RRType.CDS => DsData.Parse(type, reader),
            RRType.DNSKEY or RRType.CDNSKEY => DnskeyData.Parse(type, reader),
            RRType.RRSIG => RrsigData.Parse(reader),
            RRType.NSEC => NsecData.Parse(reader),
            RRType.NSEC3 => Nsec3Data.Parse(reader),
            RRType.NSEC3PARAM => Nsec3ParamData.Parse(reader),
            RRType.TLSA or RRType.SMIMEA => TlsaData.Parse(type, reader),
            RRType.SSHFP => SshfpData.Parse(reader),
            RRType.SVCB or RRType.HTTPS => SvcbData.Parse(type, reader),
            RRType.ZONEMD => ZonemdData.Parse(reader),
            _ => throw reader.Error($"RDATA in the generic form '\\# length hex' ({RRTypeText.ToText(type)} has no other presentation format here)", reader.Peek()),
        };
        reader.ExpectEnd();
        return data;
    }

    private static AddressData ParseAddress(RRType type, RDataTextReader reader)
    {
        string what = type == RRType.A ? "an IPv4 address" : "an IPv6 address";
        var t = reader.Next(what);
        // IPAddress.TryParse also takes "1.2.3" and "10"; the zone-file form of A is exactly four dotted octets.
        bool ok = IPAddress.TryParse(t.Text, out var address) && t.Kind == ZoneTokenKind.Word &&
                  (type == RRType.A
                      ? address.AddressFamily == AddressFamily.InterNetwork && t.Text.Count(c => c == '.') == 3
                      : address.AddressFamily == AddressFamily.InterNetworkV6 && !t.Text.Contains('%'));
        if (!ok) throw reader.Error(what, t);
        return new AddressData(address!);
    }

    /// <summary>RFC 3597 §5: <c>\# length hex...</c>, the hex possibly split over several tokens.</summary>
    private static RData ParseGeneric(RRType type, RDataTextReader reader)
    {
        reader.Next("\\#");
        var lengthToken = reader.Next("the RDATA length after \\#");
        if (lengthToken.Kind != ZoneTokenKind.Word ||
            !ushort.TryParse(lengthToken.Text, NumberStyles.None, CultureInfo.InvariantCulture, out ushort length))
            throw reader.Error("the RDATA length after \\#", lengthToken);
        var first = reader.Peek();
        byte[] bytes = reader.ReadHexRest("RDATA in hex", allowEmpty: length == 0);
        if (bytes.Length != length)
            throw reader.Error($"{length} octets of hex as \\# says", first, $"found {bytes.Length}");
        if (type == RRType.OPT) return new UnknownData(type, bytes);
        try
        {
            var wire = new WireReader(bytes);
            return RData.Read(type, ref wire, bytes.Length);
        }
        catch (DnsFormatException e)
        {
            if (reader.KeepMalformedGeneric) return new UnknownData(type, bytes);
            throw reader.Error($"valid {RRTypeText.ToText(type)} RDATA", first, e.Message);
        }
    }
}

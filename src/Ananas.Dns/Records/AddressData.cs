using System.Net;
using System.Net.Sockets;
using System.Text;
using Ananas.Dns.Wire;

namespace Ananas.Dns.Records;

/// <summary>A (IPv4, RFC 1035) and AAAA (IPv6, RFC 3596) RDATA.</summary>
public sealed class AddressData : RData
{
    public AddressData(IPAddress address)
    {
        Address = address;
        Type = address.AddressFamily switch
        {
            AddressFamily.InterNetwork => RRType.A,
            AddressFamily.InterNetworkV6 => RRType.AAAA,
            _ => throw new ArgumentException("not an IPv4 or IPv6 address", nameof(address)),
        };
    }

    public override RRType Type { get; }

    public IPAddress Address { get; }

    public static AddressData Parse(string text) => new(IPAddress.Parse(text));

    public override void WriteTo(ref WireWriter writer)
    {
        Span<byte> bytes = stackalloc byte[16];
        Address.TryWriteBytes(bytes, out int n);
        writer.WriteBytes(bytes[..n]);
    }

    public override void AppendPresentation(StringBuilder sb) => sb.Append(Address.ToString());

    internal static AddressData ReadFrom(RRType type, ref WireReader reader, int length)
    {
        int expected = type == RRType.A ? 4 : 16;
        if (length != expected) throw new DnsFormatException($"{type} RDATA must be {expected} octets, not {length}");
        return new AddressData(new IPAddress(reader.ReadBytes(length)));
    }
}

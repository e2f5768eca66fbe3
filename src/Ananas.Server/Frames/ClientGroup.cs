using System.Buffers.Binary;
using System.Net.Sockets;

namespace Ananas.Server.Frames;

/// <summary>
/// The network a client belongs to for fairness and shedding (IPv4 /24, IPv6 /56 by default): its address
/// with the host bits cleared. Computed from raw address bytes without allocating.
/// </summary>
public readonly record struct ClientGroup(UInt128 Prefix, byte Family)
{
    public static ClientGroup Of(ClientAddress address, int ipv4PrefixLength, int ipv6PrefixLength)
    {
        if (address.IsIPv4)
        {
            uint mask = ipv4PrefixLength <= 0 ? 0 : uint.MaxValue << (32 - Math.Min(ipv4PrefixLength, 32));
            return new ClientGroup((uint)address.Bits & mask, 4);
        }
        UInt128 mask6 = ipv6PrefixLength <= 0 ? UInt128.Zero : UInt128.MaxValue << (128 - Math.Min(ipv6PrefixLength, 128));
        return new ClientGroup(address.Bits & mask6, 6);
    }

    public override string ToString()
    {
        if (Family == 4)
        {
            Span<byte> v4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, (uint)Prefix);
            return new System.Net.IPAddress(v4).ToString();
        }
        Span<byte> v6 = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(v6, Prefix);
        return new System.Net.IPAddress(v6).ToString();
    }
}

/// <summary>
/// A client's IP address as a number (IPv4 in the low 32 bits; IPv4-mapped IPv6 is IPv4), read straight from a
/// <see cref="System.Net.SocketAddress"/> without allocating.
/// </summary>
public readonly record struct ClientAddress(UInt128 Bits, bool IsIPv4, ushort Port)
{
    private static readonly UInt128 MappedPrefix = new(0, 0x0000_FFFF_0000_0000);
    private static readonly UInt128 MappedMask = new(ulong.MaxValue, 0xFFFF_FFFF_0000_0000);

    public static ClientAddress From(System.Net.SocketAddress socketAddress)
    {
        var raw = socketAddress.Buffer.Span;
        ushort port = BinaryPrimitives.ReadUInt16BigEndian(raw[2..]);
        if (socketAddress.Family == AddressFamily.InterNetwork)
            return new ClientAddress(BinaryPrimitives.ReadUInt32BigEndian(raw[4..]), true, port);
        var bits = BinaryPrimitives.ReadUInt128BigEndian(raw.Slice(8, 16));
        if ((bits & MappedMask) == MappedPrefix) return new ClientAddress((uint)bits, true, port);
        return new ClientAddress(bits, false, port);
    }

    public static ClientAddress From(System.Net.IPEndPoint endPoint)
    {
        var address = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int n);
        return n == 4
            ? new ClientAddress(BinaryPrimitives.ReadUInt32BigEndian(bytes), true, (ushort)endPoint.Port)
            : new ClientAddress(BinaryPrimitives.ReadUInt128BigEndian(bytes), false, (ushort)endPoint.Port);
    }
}

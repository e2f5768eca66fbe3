using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Ananas.Server.Frames;

// Addresses are kept as two 64-bit halves, not UInt128: ReadyToRun cannot precompile any method whose signature or
// locals hold a UInt128 (its ABI is not stable across runtime versions), and a UInt128 here kept the whole frame
// path (Frame, the listeners, the pipeline) out of the precompiled image, so a fresh server ran it as tier-0 code.

/// <summary>
/// The network a client belongs to for fairness and shedding (IPv4 /24, IPv6 /56 by default): its address
/// with the host bits cleared. Computed from raw address bytes without allocating.
/// </summary>
public readonly record struct ClientGroup(ulong High, ulong Low, byte Family)
{
    public static ClientGroup Of(ClientAddress address, int ipv4PrefixLength, int ipv6PrefixLength)
    {
        if (address.IsIPv4)
        {
            uint mask = ipv4PrefixLength <= 0 ? 0 : uint.MaxValue << (32 - Math.Min(ipv4PrefixLength, 32));
            return new ClientGroup(0, (uint)address.Low & mask, 4);
        }
        var (maskHigh, maskLow) = ClientAddress.Mask(ipv6PrefixLength);
        return new ClientGroup(address.High & maskHigh, address.Low & maskLow, 6);
    }

    public IPAddress ToIPAddress() => ClientAddress.ToIPAddress(High, Low, Family == 4);

    public override string ToString() => ToIPAddress().ToString();
}

/// <summary>
/// A client's IP address as a number (IPv4 in the low 32 bits of <see cref="Low"/>; IPv4-mapped IPv6 is IPv4), read
/// straight from a <see cref="System.Net.SocketAddress"/> without allocating.
/// </summary>
public readonly record struct ClientAddress(ulong High, ulong Low, bool IsIPv4, ushort Port)
{
    public static ClientAddress From(SocketAddress socketAddress) => From(socketAddress.Buffer.Span, socketAddress.Family);

    /// <summary>
    /// From a raw socket address (<c>sockaddr_in</c> or <c>sockaddr_in6</c>) of a socket of <paramref name="family"/>:
    /// a receive loop that knows its socket's family reads the kernel's bytes without asking for the family field.
    /// </summary>
    public static ClientAddress From(ReadOnlySpan<byte> raw, AddressFamily family)
    {
        ushort port = BinaryPrimitives.ReadUInt16BigEndian(raw[2..]);
        if (family == AddressFamily.InterNetwork)
            return new ClientAddress(0, BinaryPrimitives.ReadUInt32BigEndian(raw[4..]), true, port);
        return FromIPv6(raw.Slice(8, 16), port);
    }

    public static ClientAddress From(IPEndPoint endPoint)
    {
        Span<byte> bytes = stackalloc byte[16];
        endPoint.Address.TryWriteBytes(bytes, out int n);
        return n == 4
            ? new ClientAddress(0, BinaryPrimitives.ReadUInt32BigEndian(bytes), true, (ushort)endPoint.Port)
            : FromIPv6(bytes, (ushort)endPoint.Port);
    }

    private static ClientAddress FromIPv6(ReadOnlySpan<byte> address, ushort port)
    {
        ulong high = BinaryPrimitives.ReadUInt64BigEndian(address);
        ulong low = BinaryPrimitives.ReadUInt64BigEndian(address[8..]);
        // ::ffff:a.b.c.d is an IPv4 client on a dual-stack socket.
        if (high == 0 && (low >> 32) == 0xFFFF) return new ClientAddress(0, (uint)low, true, port);
        return new ClientAddress(high, low, false, port);
    }

    /// <summary>The two halves of an IPv6 netmask of <paramref name="prefixLength"/> bits.</summary>
    public static (ulong High, ulong Low) Mask(int prefixLength)
    {
        prefixLength = Math.Clamp(prefixLength, 0, 128);
        ulong high = prefixLength == 0 ? 0 : prefixLength >= 64 ? ulong.MaxValue : ulong.MaxValue << (64 - prefixLength);
        ulong low = prefixLength <= 64 ? 0 : prefixLength == 128 ? ulong.MaxValue : ulong.MaxValue << (128 - prefixLength);
        return (high, low);
    }

    public IPAddress ToIPAddress() => ToIPAddress(High, Low, IsIPv4);

    internal static IPAddress ToIPAddress(ulong high, ulong low, bool ipv4)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (ipv4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)low);
            return new IPAddress(bytes[..4]);
        }
        BinaryPrimitives.WriteUInt64BigEndian(bytes, high);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], low);
        return new IPAddress(bytes);
    }
}

using System.Net;
using System.Net.Sockets;
using Ananas.Dns.Wire;

namespace Ananas.Dns.Messages;

/// <summary>
/// EDNS Client Subnet (RFC 7871 §6): FAMILY (1 = IPv4, 2 = IPv6), SOURCE PREFIX-LENGTH, SCOPE
/// PREFIX-LENGTH and ADDRESS, which travels truncated to the octets the source prefix covers.
/// <see cref="Address"/> always has the bits beyond the source prefix cleared.
/// </summary>
public sealed class ClientSubnetOption : EdnsOption
{
    public const ushort FamilyIPv4 = 1;
    public const ushort FamilyIPv6 = 2;

    /// <summary>Builds an option for <paramref name="address"/>, masking it to <paramref name="sourcePrefixLength"/> bits.</summary>
    public ClientSubnetOption(IPAddress address, byte sourcePrefixLength, byte scopePrefixLength = 0)
    {
        Family = address.AddressFamily switch
        {
            AddressFamily.InterNetwork => FamilyIPv4,
            AddressFamily.InterNetworkV6 => FamilyIPv6,
            _ => throw new ArgumentException("not an IPv4 or IPv6 address", nameof(address)),
        };
        int max = MaxPrefix(Family);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sourcePrefixLength, max);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(scopePrefixLength, max);
        SourcePrefixLength = sourcePrefixLength;
        ScopePrefixLength = scopePrefixLength;
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int n);
        bytes = bytes[..n];
        Mask(bytes, sourcePrefixLength);
        Address = new IPAddress(bytes);
    }

    public override EdnsOptionCode Code => EdnsOptionCode.ClientSubnet;

    /// <summary>Address family number (IANA): 1 for IPv4, 2 for IPv6.</summary>
    public ushort Family { get; }

    public byte SourcePrefixLength { get; }

    /// <summary>In queries this must be 0 (RFC 7871 §6); in responses it says how widely the answer applies.</summary>
    public byte ScopePrefixLength { get; }

    /// <summary>The client network, with the bits beyond <see cref="SourcePrefixLength"/> zero.</summary>
    public IPAddress Address { get; }

    /// <summary>ADDRESS octets on the wire: just enough to hold the source prefix.</summary>
    private int AddressLength => (SourcePrefixLength + 7) / 8;

    public override int DataLength => 4 + AddressLength;

    public override void WriteData(ref WireWriter writer)
    {
        writer.WriteUInt16(Family);
        writer.WriteByte(SourcePrefixLength);
        writer.WriteByte(ScopePrefixLength);
        Span<byte> bytes = stackalloc byte[16];
        Address.TryWriteBytes(bytes, out _);
        writer.WriteBytes(bytes[..AddressLength]);
    }

    private static int MaxPrefix(ushort family) => family == FamilyIPv4 ? 32 : 128;

    /// <summary>Clears every bit after the first <paramref name="prefix"/> bits.</summary>
    private static void Mask(Span<byte> bytes, int prefix)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            int bits = Math.Clamp(prefix - i * 8, 0, 8);
            bytes[i] &= (byte)(0xFF00 >> bits);
        }
    }

    /// <summary>Why the option data breaks RFC 7871 §6, or null when it is well-formed.</summary>
    internal static string? Problem(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4) return "Client Subnet option shorter than 4 octets";
        ushort family = (ushort)((data[0] << 8) | data[1]);
        if (family is not (FamilyIPv4 or FamilyIPv6)) return $"Client Subnet family {family} is not IPv4 (1) or IPv6 (2)";
        byte source = data[2], scope = data[3];
        int max = MaxPrefix(family);
        if (source > max) return $"Client Subnet source prefix /{source} exceeds /{max}";
        if (scope > max) return $"Client Subnet scope prefix /{scope} exceeds /{max}";
        var address = data[4..];
        // ADDRESS must be exactly as long as the source prefix needs, and bits beyond it must be zero.
        int expected = (source + 7) / 8;
        if (address.Length != expected) return $"Client Subnet address of {address.Length} octets for a /{source} prefix (expected {expected})";
        if (expected > 0 && source % 8 != 0 && (address[^1] & (0xFF >> (source % 8))) != 0)
            return "Client Subnet address has bits set beyond the source prefix";
        return null;
    }

    internal static ClientSubnetOption Read(ReadOnlySpan<byte> data)
    {
        if (Problem(data) is { } problem) throw new DnsFormatException(problem);
        ushort family = (ushort)((data[0] << 8) | data[1]);
        byte source = data[2], scope = data[3];
        var address = data[4..];
        Span<byte> full = stackalloc byte[family == FamilyIPv4 ? 4 : 16];
        full.Clear();
        address.CopyTo(full);
        return new ClientSubnetOption(new IPAddress(full), source, scope);
    }

    public override string ToString() => $"CLIENT-SUBNET: {Address}/{SourcePrefixLength}/{ScopePrefixLength}";
}

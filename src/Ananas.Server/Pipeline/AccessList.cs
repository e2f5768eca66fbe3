using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Ananas.Server.Frames;

namespace Ananas.Server.Pipeline;

/// <summary>
/// The client networks allowed to query. Checked on every frame against the address as a number: no allocation.
/// The default admits only this host and private networks, because an open resolver gets abused.
/// </summary>
public sealed class AccessList
{
    /// <summary>Loopback, RFC 1918, link-local, and IPv6 ULA and link-local.</summary>
    public static readonly IReadOnlyList<string> PrivateNetworks =
        ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10"];

    private readonly (uint Prefix, uint Mask)[] _v4;
    private readonly (ulong PrefixHigh, ulong PrefixLow, ulong MaskHigh, ulong MaskLow)[] _v6;

    public AccessList(IEnumerable<IPNetwork> networks)
    {
        var v4 = new List<(uint, uint)>();
        var v6 = new List<(ulong, ulong, ulong, ulong)>();
        Span<byte> bytes = stackalloc byte[16];
        foreach (var network in networks)
        {
            network.BaseAddress.TryWriteBytes(bytes, out _);
            if (network.BaseAddress.AddressFamily == AddressFamily.InterNetwork)
            {
                uint mask = network.PrefixLength == 0 ? 0 : uint.MaxValue << (32 - network.PrefixLength);
                v4.Add((BinaryPrimitives.ReadUInt32BigEndian(bytes) & mask, mask));
            }
            else
            {
                var (maskHigh, maskLow) = ClientAddress.Mask(network.PrefixLength);
                v6.Add((BinaryPrimitives.ReadUInt64BigEndian(bytes) & maskHigh, BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]) & maskLow,
                        maskHigh, maskLow));
            }
        }
        _v4 = [.. v4];
        _v6 = [.. v6];
        Networks = [.. networks];
    }

    public IReadOnlyList<IPNetwork> Networks { get; }

    public static AccessList Default { get; } = Parse(PrivateNetworks);

    /// <summary>Everyone (tests and deliberate open resolvers).</summary>
    public static AccessList Everyone { get; } = Parse(["0.0.0.0/0", "::/0"]);

    /// <summary>CIDR networks; a bare address is a single host. Throws <see cref="FormatException"/> naming the bad entry.</summary>
    public static AccessList Parse(IEnumerable<string> networks) => new(networks.Select(ParseNetwork));

    public static IPNetwork ParseNetwork(string text)
    {
        if (IPAddress.TryParse(text, out var host))
            return new IPNetwork(host, host.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
        if (IPNetwork.TryParse(text, out var network)) return network;
        throw new FormatException($"'{text}' is not a network (expected ADDRESS/PREFIX, e.g. 192.168.0.0/16)");
    }

    public bool Allows(ClientAddress address)
    {
        if (address.IsIPv4)
        {
            uint a = (uint)address.Low;
            foreach (var (prefix, mask) in _v4)
                if ((a & mask) == prefix) return true;
            return false;
        }
        foreach (var (prefixHigh, prefixLow, maskHigh, maskLow) in _v6)
            if ((address.High & maskHigh) == prefixHigh && (address.Low & maskLow) == prefixLow) return true;
        return false;
    }
}

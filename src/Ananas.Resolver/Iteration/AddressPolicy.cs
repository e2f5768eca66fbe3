using System.Net;
using System.Net.Sockets;

namespace Ananas.Resolver.Iteration;

/// <summary>Which upstream addresses may be queried: address families, and no loopback or unspecified addresses.</summary>
public static class AddressPolicy
{
    public static bool IsLocalhostOrUnspecified(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address)) return true; // 127.0.0.0/8 and ::1
        return address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);
    }

    public static bool FamilyAllowed(IPAddress address, RecursorOptions options) => address.AddressFamily switch
    {
        AddressFamily.InterNetwork => options.UseIPv4,
        AddressFamily.InterNetworkV6 => address.IsIPv4MappedToIPv6 ? options.UseIPv4 : options.UseIPv6,
        _ => false,
    };

    /// <summary>True when <paramref name="address"/> may be sent a query for a delegation of this kind.</summary>
    public static bool MayQuery(IPAddress address, RecursorOptions options, bool configured) =>
        FamilyAllowed(address, options) && (configured || !options.DoNotQueryLocalhost || !IsLocalhostOrUnspecified(address));
}

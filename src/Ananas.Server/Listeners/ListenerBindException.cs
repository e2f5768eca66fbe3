using System.Net;
using System.Net.Sockets;

namespace Ananas.Server.Listeners;

/// <summary>A listen address could not be bound; the message says why in operator terms.</summary>
public sealed class ListenerBindException(string message, Exception inner) : Exception(message, inner)
{
    public static ListenerBindException From(string scheme, IPEndPoint endPoint, SocketException e)
    {
        string where = $"{scheme}://{Format(endPoint)}";
        string why = e.SocketErrorCode switch
        {
            SocketError.AddressAlreadyInUse => "the address is already in use (is another DNS server running? find it with `ss -lunpt`)",
            SocketError.AccessDenied when endPoint.Port is > 0 and < 1024 => $"port {endPoint.Port} is below 1024 and needs privileges (run as root, grant CAP_NET_BIND_SERVICE, or listen on a port such as 5353)",
            SocketError.AccessDenied => "permission denied",
            SocketError.AddressNotAvailable => "the address does not belong to this host",
            _ => e.Message,
        };
        return new ListenerBindException($"cannot listen on {where}: {why}", e);
    }

    public static string Format(IPEndPoint endPoint) =>
        endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]:{endPoint.Port}" : $"{endPoint.Address}:{endPoint.Port}";
}

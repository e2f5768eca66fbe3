using System.Net;
using System.Net.Sockets;

namespace Ananas.Server.Listeners;

/// <summary>A listen address could not be bound; the message says why in operator terms.</summary>
public sealed class ListenerBindException(string message, Exception inner) : Exception(message, inner)
{
    /// <param name="key">For an operator endpoint (metrics, control): the config key that moves it, named in the message.</param>
    public static ListenerBindException From(string scheme, IPEndPoint endPoint, SocketException e, string? key = null)
    {
        string where = key is null ? $"{scheme}://{Format(endPoint)}" : $"{scheme}://{Format(endPoint)} ({key})";
        string why = e.SocketErrorCode switch
        {
            SocketError.AddressAlreadyInUse when key is not null =>
                $"the address is already in use (another `ananas serve`? find it with `ss -lntp`; set {key} to a free port, or to \"\" to turn it off)",
            SocketError.AddressAlreadyInUse => "the address is already in use (is another DNS server running? find it with `ss -lunpt`)",
            SocketError.AccessDenied when endPoint.Port is > 0 and < 1024 => $"port {endPoint.Port} is below 1024 and needs privileges (run as root, grant CAP_NET_BIND_SERVICE, or listen on a port such as 5353)",
            SocketError.AccessDenied => "permission denied",
            SocketError.AddressNotAvailable => "the address does not belong to this host",
            _ => e.Message,
        };
        return new ListenerBindException($"cannot listen on {where}: {why}", e);
    }

    /// <summary>Kestrel wraps bind failures (IOException, InvalidOperationException): the socket error inside, in operator terms.</summary>
    public static ListenerBindException FromKestrel(string scheme, IPEndPoint endPoint, Exception e, string? key = null)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
            if (inner is SocketException socketError) return From(scheme, endPoint, socketError, key);
        string where = key is null ? $"{scheme}://{Format(endPoint)}" : $"{scheme}://{Format(endPoint)} ({key})";
        return new ListenerBindException($"cannot listen on {where}: {e.Message}", e);
    }

    public static string Format(IPEndPoint endPoint) =>
        endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]:{endPoint.Port}" : $"{endPoint.Address}:{endPoint.Port}";
}

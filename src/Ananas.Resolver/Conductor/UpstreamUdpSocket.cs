using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Ananas.Resolver.Conductor;

/// <summary>A UDP socket for asking one server: bound to a random port and connected to that server.</summary>
public static class UpstreamUdpSocket
{
    /// <summary>
    /// A new socket on a random unprivileged port (RFC 5452 §10; the OS's choice if several tries collide),
    /// connected: the kernel passes only datagrams from the server's address and port, and reports ICMP unreachable
    /// as an error, so a closed port fails at once instead of timing out. Throws <see cref="SocketException"/>.
    /// </summary>
    public static Socket Open(IPEndPoint server)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            BindRandomPort(socket, server.AddressFamily);
            socket.Connect(server);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static void BindRandomPort(Socket socket, AddressFamily family)
    {
        var any = family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
        for (int attempt = 0; attempt < 8; attempt++)
        {
            try
            {
                socket.Bind(new IPEndPoint(any, RandomNumberGenerator.GetInt32(1024, 65536)));
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
            }
        }
        socket.Bind(new IPEndPoint(any, 0));
    }
}

using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Server.Tests.Fakes;

/// <summary>A minimal client for tests: one UDP exchange, or pipelined TCP exchanges, each bounded in time.</summary>
public static class DnsTestClient
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static DnsMessage Query(string name, RRType type = RRType.A, ushort id = 1, ushort? udpPayload = null)
    {
        var query = DnsMessage.CreateQuery(id, DnsName.Parse(name), type);
        if (udpPayload is null) query.Edns = null;
        else query.Edns!.UdpPayloadSize = udpPayload.Value;
        return query;
    }

    /// <summary>Sends raw bytes over UDP; returns the reply bytes, or null if none came within <paramref name="wait"/>.</summary>
    public static async Task<byte[]?> UdpRawAsync(IPEndPoint server, byte[] message, TimeSpan? wait = null)
    {
        using var client = new UdpClient(AddressFamily.InterNetwork);
        client.Connect(server);
        await client.SendAsync(message);
        using var cts = new CancellationTokenSource(wait ?? Timeout);
        try
        {
            var result = await client.ReceiveAsync(cts.Token);
            return result.Buffer;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public static async Task<DnsMessage> UdpAsync(IPEndPoint server, DnsMessage query)
    {
        var reply = await UdpRawAsync(server, query.ToArray()) ?? throw new TimeoutException("no UDP reply");
        return DnsMessage.Parse(reply);
    }

    public static async Task<Socket> ConnectTcpAsync(IPEndPoint server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(server, cts.Token);
        return socket;
    }

    public static async Task SendTcpAsync(Socket socket, DnsMessage query)
    {
        var wire = query.ToArray();
        var framed = new byte[wire.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)wire.Length);
        wire.CopyTo(framed, 2);
        await socket.SendAsync(framed);
    }

    /// <summary>Reads one length-prefixed message; null when the server closed the connection.</summary>
    public static async Task<DnsMessage?> ReceiveTcpAsync(Socket socket)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var prefix = new byte[2];
        if (!await ReadExactlyAsync(socket, prefix, cts.Token)) return null;
        var body = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        if (!await ReadExactlyAsync(socket, body, cts.Token)) return null;
        return DnsMessage.Parse(body);
    }

    public static async Task<DnsMessage> TcpAsync(IPEndPoint server, DnsMessage query)
    {
        using var socket = await ConnectTcpAsync(server);
        await SendTcpAsync(socket, query);
        return await ReceiveTcpAsync(socket) ?? throw new IOException("connection closed without a reply");
    }

    private static async Task<bool> ReadExactlyAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancellationToken);
            if (n == 0) return false;
            read += n;
        }
        return true;
    }
}

using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver.Iteration;

namespace Ananas.Resolver.Conductor;

/// <summary>
/// A simple, secure <see cref="IExchanger"/> over real sockets, one socket per exchange: UDP from a fresh random
/// source port with a cryptographically random ID (RFC 5452), accepting only a response from the queried address
/// and port with that ID and the same question; TCP with 2-octet length framing (RFC 1035 §4.2.2, RFC 7766) when
/// asked or when the UDP answer is truncated. No deduplication, pooling or RTT tracking: that is the conductor's job.
/// </summary>
public sealed class NetworkExchanger : IExchanger
{
    private const int MaxUdpResponse = 65535;

    public NetworkExchanger(TimeSpan? timeout = null) => Timeout = timeout ?? TimeSpan.FromMilliseconds(1500);

    /// <summary>How long one exchange (per transport) may take.</summary>
    public TimeSpan Timeout { get; }

    public async ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken)
    {
        if (request.Transport == UpstreamTransport.Tls) return ExchangeResult.Failed(ExchangeStatus.Refused, UpstreamTransport.Tls);
        if (request.Transport == UpstreamTransport.Tcp) return await ExchangeTcpAsync(request, cancellationToken);
        var udp = await ExchangeUdpAsync(request, cancellationToken);
        if (udp.Response is { } response && response.Has(HeaderFlags.TC))
            return await ExchangeTcpAsync(request, cancellationToken);
        return udp;
    }

    /// <summary>The query on the wire with a fresh random ID (the caller's message is not modified).</summary>
    private static (byte[] Wire, ushort Id) Encode(DnsMessage query)
    {
        var wire = query.ToArray();
        ushort id = (ushort)RandomNumberGenerator.GetInt32(0x10000);
        BinaryPrimitives.WriteUInt16BigEndian(wire, id);
        return (wire, id);
    }

    private async ValueTask<ExchangeResult> ExchangeUdpAsync(ExchangeRequest request, CancellationToken cancellationToken)
    {
        var (wire, id) = Encode(request.Query);
        var server = request.Server;
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            BindRandomPort(socket, server.AddressFamily);
            await socket.SendToAsync(wire, SocketFlags.None, server, timeout.Token);
            var buffer = new byte[MaxUdpResponse];
            EndPoint any = server.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
            while (true)
            {
                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, timeout.Token);
                // Anything not from the queried address and port, or with another ID or question, is ignored
                // (RFC 5452 §9.1): it may be spoofed, and the real answer may still come.
                if (!server.Equals(received.RemoteEndPoint)) continue;
                var response = Accept(buffer.AsSpan(0, received.ReceivedBytes), id, request.Query);
                if (response is null) continue;
                return ExchangeResult.Ok(response, Stopwatch.GetElapsedTime(started), UpstreamTransport.Udp);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ExchangeResult.Timeout(Stopwatch.GetElapsedTime(started), UpstreamTransport.Udp);
        }
        catch (SocketException)
        {
            return ExchangeResult.Failed(ExchangeStatus.NetworkError, UpstreamTransport.Udp);
        }
    }

    private async ValueTask<ExchangeResult> ExchangeTcpAsync(ExchangeRequest request, CancellationToken cancellationToken)
    {
        var (wire, id) = Encode(request.Query);
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            using var socket = new Socket(request.Server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(request.Server, timeout.Token);
            var framed = new byte[wire.Length + 2];
            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)wire.Length);
            wire.CopyTo(framed, 2);
            await socket.SendAsync(framed, SocketFlags.None, timeout.Token);
            var prefix = new byte[2];
            if (!await ReadExactlyAsync(socket, prefix, timeout.Token)) return ExchangeResult.Failed(ExchangeStatus.MalformedResponse, UpstreamTransport.Tcp);
            var body = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
            if (!await ReadExactlyAsync(socket, body, timeout.Token)) return ExchangeResult.Failed(ExchangeStatus.MalformedResponse, UpstreamTransport.Tcp);
            var response = Accept(body, id, request.Query);
            return response is null
                ? ExchangeResult.Failed(ExchangeStatus.MalformedResponse, UpstreamTransport.Tcp)
                : ExchangeResult.Ok(response, Stopwatch.GetElapsedTime(started), UpstreamTransport.Tcp);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ExchangeResult.Timeout(Stopwatch.GetElapsedTime(started), UpstreamTransport.Tcp);
        }
        catch (SocketException)
        {
            return ExchangeResult.Failed(ExchangeStatus.NetworkError, UpstreamTransport.Tcp);
        }
    }

    private static async ValueTask<bool> ReadExactlyAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
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

    /// <summary>The parsed response if it has our ID, is a response, and carries the question we asked; else null.</summary>
    private static DnsMessage? Accept(ReadOnlySpan<byte> wire, ushort id, DnsMessage query)
    {
        if (wire.Length < DnsHeader.Size || BinaryPrimitives.ReadUInt16BigEndian(wire) != id) return null;
        DnsMessage response;
        try
        {
            response = DnsMessage.Parse(wire, skipMalformedRecords: true);
        }
        catch (DnsFormatException)
        {
            return null;
        }
        return Bailiwick.QuestionMatches(response, query.Question) ? response : null;
    }

    /// <summary>Binds to a random unprivileged port (RFC 5452 §10); the OS's choice if several tries collide.</summary>
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

using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;

namespace Ananas.Server.Listeners;

/// <summary>What reading a PROXY protocol v2 header found.</summary>
public enum ProxyHeaderStatus : byte
{
    /// <summary>Fewer bytes than the header needs: read more.</summary>
    NeedMore,

    /// <summary>Not a v2 header, or a broken one: the connection is closed.</summary>
    Malformed,

    /// <summary>LOCAL (the proxy's own health check) or an address family we do not carry: the connection's own address stands.</summary>
    Local,

    /// <summary>PROXY over TCP/IPv4 or IPv6: the client is the header's source address.</summary>
    Proxied,
}

/// <summary>
/// The PROXY protocol version 2 (haproxy's proxy-protocol.txt §2.2), which a TLS terminator or load balancer in
/// front of a TCP, DoT or DoH listener sends first on each connection to say whom it is relaying. Only the binary
/// v2 form is accepted, and only from <see cref="ProxyOptions.TrustedSources"/>: anyone else could claim any
/// address. TLVs are skipped. The client address then stands for the connection in ACLs, scheduling groups and logs.
/// </summary>
public static class ProxyProtocol
{
    /// <summary>The 12-octet v2 signature.</summary>
    public static ReadOnlySpan<byte> Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>Signature, version/command, family/protocol, length.</summary>
    public const int FixedLength = 16;

    /// <summary>Address block plus TLVs we accept (haproxy sends a few hundred octets at most); more is treated as malformed.</summary>
    public const int MaxPayload = 4096;

    /// <summary>
    /// Parses a header at the start of <paramref name="data"/>. <paramref name="consumed"/> is the header's whole
    /// length (skip it; what follows is the relayed stream) and <paramref name="source"/> the client for Proxied.
    /// </summary>
    public static ProxyHeaderStatus TryParse(ReadOnlySpan<byte> data, out int consumed, out IPEndPoint? source)
    {
        consumed = 0;
        source = null;
        int signatureBytes = Math.Min(data.Length, Signature.Length);
        if (!data[..signatureBytes].SequenceEqual(Signature[..signatureBytes])) return ProxyHeaderStatus.Malformed;
        if (data.Length < FixedLength) return ProxyHeaderStatus.NeedMore;
        byte versionCommand = data[12];
        if (versionCommand >> 4 != 2) return ProxyHeaderStatus.Malformed;
        int command = versionCommand & 0x0F;
        if (command > 1) return ProxyHeaderStatus.Malformed;
        int family = data[13] >> 4, protocol = data[13] & 0x0F;
        int length = BinaryPrimitives.ReadUInt16BigEndian(data[14..]);
        if (length > MaxPayload) return ProxyHeaderStatus.Malformed;
        if (data.Length < FixedLength + length) return ProxyHeaderStatus.NeedMore;
        consumed = FixedLength + length;
        var payload = data.Slice(FixedLength, length);
        // LOCAL: the proxy speaking for itself; the address block (if any) is to be ignored.
        if (command == 0) return ProxyHeaderStatus.Local;
        // PROXY over a protocol we do not relay (UNSPEC, UDP, UNIX): the receiver may accept the connection with
        // its real addresses (§2.2); only a STREAM over IPv4/IPv6 carries a client address we can use.
        if (protocol != 1 || family is not (1 or 2)) return family > 3 || protocol > 2 ? ProxyHeaderStatus.Malformed : ProxyHeaderStatus.Local;
        int addressLength = family == 1 ? 4 : 16;
        if (payload.Length < 2 * addressLength + 4) return ProxyHeaderStatus.Malformed;
        var address = new IPAddress(payload[..addressLength]);
        int port = BinaryPrimitives.ReadUInt16BigEndian(payload[(2 * addressLength)..]);
        source = new IPEndPoint(address, port);
        return ProxyHeaderStatus.Proxied;
    }

    /// <summary>
    /// Reads the header from a stream, octet-exact (nothing after it is consumed). The client endpoint, or
    /// <paramref name="connection"/> for LOCAL; null when the header is malformed or the stream ends first.
    /// </summary>
    public static async Task<IPEndPoint?> ReadAsync(Stream stream, IPEndPoint connection, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(FixedLength + MaxPayload);
        try
        {
            if (!await ReadExactlyAsync(stream, buffer.AsMemory(0, FixedLength), cancellationToken).ConfigureAwait(false)) return null;
            if (TryParse(buffer.AsSpan(0, FixedLength), out _, out _) == ProxyHeaderStatus.Malformed) return null;
            int length = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(14));
            if (!await ReadExactlyAsync(stream, buffer.AsMemory(FixedLength, length), cancellationToken).ConfigureAwait(false)) return null;
            return TryParse(buffer.AsSpan(0, FixedLength + length), out _, out var source) switch
            {
                ProxyHeaderStatus.Proxied => source,
                ProxyHeaderStatus.Local => connection,
                _ => null,
            };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads the header from a Kestrel connection's pipe (before TLS), leaving the rest unread. Null as <see cref="ReadAsync(Stream, IPEndPoint, CancellationToken)"/>.</summary>
    public static async Task<IPEndPoint?> ReadAsync(PipeReader reader, IPEndPoint connection, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var bytes = buffer.Length > FixedLength + MaxPayload ? buffer.Slice(0, FixedLength + MaxPayload) : buffer;
            var span = bytes.IsSingleSegment ? bytes.FirstSpan : bytes.ToArray();
            var status = TryParse(span, out int consumed, out var source);
            if (status == ProxyHeaderStatus.NeedMore && !result.IsCompleted)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }
            if (status is ProxyHeaderStatus.NeedMore or ProxyHeaderStatus.Malformed)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                return null;
            }
            reader.AdvanceTo(buffer.GetPosition(consumed));
            return status == ProxyHeaderStatus.Proxied ? source : connection;
        }
    }

    private static async Task<bool> ReadExactlyAsync(Stream stream, Memory<byte> destination, CancellationToken cancellationToken)
    {
        int read = 0;
        while (read < destination.Length)
        {
            int n = await stream.ReadAsync(destination[read..], cancellationToken).ConfigureAwait(false);
            if (n == 0) return false;
            read += n;
        }
        return true;
    }

    /// <summary>Builds a v2 PROXY header for a TCP connection from <paramref name="source"/> to <paramref name="destination"/> (tests, tools).</summary>
    public static byte[] Build(IPEndPoint source, IPEndPoint destination, ReadOnlySpan<byte> tlvs = default)
    {
        bool v4 = source.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
        int addressLength = v4 ? 4 : 16;
        int length = 2 * addressLength + 4 + tlvs.Length;
        var header = new byte[FixedLength + length];
        Signature.CopyTo(header);
        header[12] = 0x21;
        header[13] = (byte)(v4 ? 0x11 : 0x21);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)length);
        source.Address.TryWriteBytes(header.AsSpan(FixedLength), out _);
        destination.Address.TryWriteBytes(header.AsSpan(FixedLength + addressLength), out _);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(FixedLength + 2 * addressLength), (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(FixedLength + 2 * addressLength + 2), (ushort)destination.Port);
        tlvs.CopyTo(header.AsSpan(FixedLength + 2 * addressLength + 4));
        return header;
    }
}

/// <summary>PROXY protocol settings shared by the listeners that accept it.</summary>
public sealed record ProxyOptions
{
    /// <summary>Networks allowed to send a PROXY header (the proxies); connections from elsewhere are closed.</summary>
    public required AccessList TrustedSources { get; init; }

    /// <summary>How long a connection may take to send its header.</summary>
    public TimeSpan HeaderTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public bool Trusts(IPEndPoint proxy) => TrustedSources.Allows(ClientAddress.From(proxy));
}

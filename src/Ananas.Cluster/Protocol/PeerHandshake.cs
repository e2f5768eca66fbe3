using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Ananas.Cluster.Protocol;

/// <summary>Why a handshake did not give a channel.</summary>
public enum HandshakeOutcome
{
    Accepted,
    /// <summary>The other side does not hold our secret (a MAC failed): refused and counted.</summary>
    WrongSecret,
    /// <summary>The connection ended, timed out, or sent something that is not a handshake.</summary>
    Failed,
}

/// <summary>
/// Opens a <see cref="PeerChannel"/>: the initiator sends <c>Hello(version, nonce_i, id_i)</c> with a MAC under the
/// shared secret, the acceptor answers <c>Hello(version, nonce_a, id_a)</c> with a MAC under the secret that also
/// covers nonce_i (so it cannot be replayed to another initiator), and both derive the session key
/// <c>HMAC(secret, label | nonce_i | nonce_a | id_i | id_a)</c>. The initiator's first message under that key is
/// <c>Auth</c>; the acceptor takes nothing else first. Fresh nonces on both sides make every connection's key
/// new, so a recorded conversation cannot be replayed (no clocks needed).
/// </summary>
public static class PeerHandshake
{
    private const byte Version = 1;
    private const int NonceLength = 16;
    private static readonly byte[] KeyLabel = "ananas-cluster-1"u8.ToArray();

    /// <summary>
    /// The initiator's side, on the caller's thread (waits are poll(2), not the socket engine's: see <see cref="PeerWire"/>).
    /// </summary>
    public static (HandshakeOutcome Outcome, PeerChannel? Channel, string PeerId) Initiate(Stream stream, byte[] secret, string id, int maxQueued, TimeSpan timeout)
    {
        long deadline = Deadline(timeout);
        var wire = new PeerWire(stream);
        try
        {
            var nonce = RandomNumberGenerator.GetBytes(NonceLength);
            WriteHello(wire, secret, "I"u8.ToArray(), nonce, id, deadline);
            var (ok, peerNonce, peerId) = ReadHello(wire, secret, [.. "A"u8, .. nonce], deadline);
            if (!ok) return (peerNonce is null ? HandshakeOutcome.Failed : HandshakeOutcome.WrongSecret, null, peerId);
            var channel = new PeerChannel(wire, SessionKey(secret, nonce, peerNonce!, id, peerId), initiator: true, maxQueued);
            channel.TrySend(PeerMessageType.Auth, PeerMessageFlags.None, default);
            return (HandshakeOutcome.Accepted, channel, peerId);
        }
        catch (Exception e) when (e is IOException or TimeoutException or EndOfStreamException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            return (HandshakeOutcome.Failed, null, "");
        }
    }

    /// <summary>The acceptor's side, on the caller's thread.</summary>
    public static (HandshakeOutcome Outcome, PeerChannel? Channel, string PeerId) Accept(Stream stream, byte[] secret, string id, int maxQueued, TimeSpan timeout)
    {
        long deadline = Deadline(timeout);
        var wire = new PeerWire(stream);
        try
        {
            var (ok, peerNonce, peerId) = ReadHello(wire, secret, "I"u8.ToArray(), deadline);
            if (!ok) return (peerNonce is null ? HandshakeOutcome.Failed : HandshakeOutcome.WrongSecret, null, peerId);
            var nonce = RandomNumberGenerator.GetBytes(NonceLength);
            WriteHello(wire, secret, [.. "A"u8, .. peerNonce!], nonce, id, deadline);
            var channel = new PeerChannel(wire, SessionKey(secret, peerNonce!, nonce, peerId, id), initiator: false, maxQueued);
            var first = channel.Read(deadline);
            if (first is not { } auth || auth.Type != PeerMessageType.Auth)
            {
                first?.Return();
                bool forged = first is not null || channel.Rejected;
                channel.Dispose();
                // A MAC failure (a replayed Hello) or another first message is refused; an initiator that gave up
                // (its timeout, a slow start) closed before its Auth arrived: not a wrong secret, just a failed try.
                return (forged ? HandshakeOutcome.WrongSecret : HandshakeOutcome.Failed, null, peerId);
            }
            auth.Return();
            return (HandshakeOutcome.Accepted, channel, peerId);
        }
        catch (Exception e) when (e is IOException or TimeoutException or EndOfStreamException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            return (HandshakeOutcome.Failed, null, "");
        }
    }

    private static long Deadline(TimeSpan timeout) => System.Diagnostics.Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);

    private static byte[] SessionKey(byte[] secret, byte[] initiatorNonce, byte[] acceptorNonce, string initiatorId, string acceptorId) =>
        HMACSHA256.HashData(secret, (byte[])[.. KeyLabel, .. initiatorNonce, .. acceptorNonce, .. Id(initiatorId), .. Id(acceptorId)]);

    private static byte[] Id(string id)
    {
        var bytes = Encoding.UTF8.GetBytes(id);
        return [(byte)bytes.Length, .. bytes];
    }

    private static void WriteHello(PeerWire wire, byte[] secret, byte[] context, byte[] nonce, string id, long deadline)
    {
        byte[] body = [Version, .. nonce, .. Id(id)];
        var mac = HMACSHA256.HashData(secret, (byte[])[.. context, .. body]);
        var frame = new byte[6 + body.Length + mac.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, 2 + body.Length + mac.Length);
        frame[4] = (byte)PeerMessageType.Hello;
        body.CopyTo(frame, 6);
        mac.CopyTo(frame, 6 + body.Length);
        wire.WriteAll(frame, deadline);
    }

    /// <summary>(true, nonce, id) for a good Hello; (false, nonce, id) when its MAC failed (another secret); (false, null, "") when it is not a Hello.</summary>
    private static (bool Ok, byte[]? Nonce, string Id) ReadHello(PeerWire wire, byte[] secret, byte[] context, long deadline)
    {
        var header = new byte[6];
        wire.ReadExactly(header, deadline);
        int length = BinaryPrimitives.ReadInt32BigEndian(header);
        int bodyLength = length - 2 - PeerChannel.MacLength;
        if (header[4] != (byte)PeerMessageType.Hello || bodyLength < 1 + NonceLength + 1 || bodyLength > 1 + NonceLength + 1 + 255) return (false, null, "");
        var rest = new byte[bodyLength + PeerChannel.MacLength];
        wire.ReadExactly(rest, deadline);
        var body = rest.AsSpan(0, bodyLength);
        if (body[0] != Version || body[1 + NonceLength] != bodyLength - 2 - NonceLength) return (false, null, "");
        var nonce = body.Slice(1, NonceLength).ToArray();
        string id = Encoding.UTF8.GetString(body[(2 + NonceLength)..]);
        var expected = HMACSHA256.HashData(secret, (byte[])[.. context, .. body.ToArray()]);
        bool ok = CryptographicOperations.FixedTimeEquals(expected, rest.AsSpan(bodyLength));
        return (ok, nonce, id);
    }
}

using System.Buffers.Binary;
using System.Security.Cryptography;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;

namespace Ananas.Server.Protection;

/// <summary>What a query's COOKIE option (RFC 7873 §4) says.</summary>
public enum CookieStatus : byte
{
    /// <summary>No COOKIE option (or no EDNS).</summary>
    None,

    /// <summary>A client cookie alone: the client is learning our server cookie.</summary>
    ClientOnly,

    /// <summary>A server cookie we made for this client and client cookie, less than an hour old.</summary>
    Valid,

    /// <summary>A server cookie that is not ours, is for another client, or is too old (or from the future).</summary>
    Invalid,

    /// <summary>An option shorter than 8 octets, or with a server cookie outside 8–32 octets: FORMERR (RFC 7873 §5.2.2).</summary>
    Malformed,
}

/// <summary>
/// DNS Cookies on the server side: RFC 7873 with the interoperable server cookie of RFC 9018 — version 1, a 32-bit
/// timestamp, and SipHash-2-4 over (client cookie, version, reserved, timestamp, client IP) under a 128-bit secret.
/// Servers of one anycast set that share the secret accept each other's cookies. The secret rotates: the previous one
/// is still accepted (RFC 9018 §4.4), so a rotation costs clients nothing. Allocation-free.
/// </summary>
public sealed class ServerCookies
{
    public const ushort OptionCode = 10;
    public const int ClientCookieLength = 8;
    public const int ServerCookieLength = 16;

    /// <summary>The COOKIE option a reply carries: 4 octets of option header, the client cookie and our server cookie.</summary>
    public const int OptionSpace = 4 + ClientCookieLength + ServerCookieLength;

    /// <summary>RFC 9018 §4.3: a server cookie is valid for an hour and at most five minutes in the future.</summary>
    private const uint Lifetime = 3600, FutureSkew = 300;

    private readonly Func<uint> _now;
    private volatile Secrets _secrets;

    private sealed record Secrets(ulong K0, ulong K1, ulong PreviousK0, ulong PreviousK1, bool HasPrevious, long Created);

    /// <param name="secret">16 octets shared by the servers of an anycast set; null: random (this server only).</param>
    /// <param name="previous">The secret before the last rotation, still accepted; null: none.</param>
    /// <param name="now">Unix seconds (the timestamp of RFC 9018 §4.2); the system clock when null.</param>
    public ServerCookies(byte[]? secret = null, byte[]? previous = null, Func<uint>? now = null)
    {
        _now = now ?? (() => (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        secret ??= RandomNumberGenerator.GetBytes(16);
        _secrets = new Secrets(K(secret, 0), K(secret, 8), previous is null ? 0 : K(previous, 0), previous is null ? 0 : K(previous, 8), previous is not null, _now());
    }

    /// <summary>Seconds since the current secret came into use.</summary>
    public long SecretAge => _now() - _secrets.Created;

    /// <summary>Makes <paramref name="secret"/> (random when null) the current secret; the current one becomes the previous.</summary>
    public void Rotate(byte[]? secret = null)
    {
        secret ??= RandomNumberGenerator.GetBytes(16);
        var old = _secrets;
        _secrets = new Secrets(K(secret, 0), K(secret, 8), old.K0, old.K1, true, _now());
    }

    /// <summary>
    /// Reads the COOKIE option of <paramref name="query"/> (the OPT record <paramref name="shape"/> found) and checks
    /// its server cookie against this client; the client cookie goes to <paramref name="clientCookie"/> (8 octets).
    /// </summary>
    public CookieStatus Check(ReadOnlySpan<byte> query, in QueryShape shape, in ClientAddress client, Span<byte> clientCookie)
    {
        if (!shape.HasEdns) return CookieStatus.None;
        int rdLengthAt = shape.QuestionEnd + 9;
        if (rdLengthAt + 2 > query.Length) return CookieStatus.None;
        int end = rdLengthAt + 2 + BinaryPrimitives.ReadUInt16BigEndian(query[rdLengthAt..]);
        if (end > query.Length) return CookieStatus.None;
        for (int o = rdLengthAt + 2; o + 4 <= end;)
        {
            ushort code = BinaryPrimitives.ReadUInt16BigEndian(query[o..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(query[(o + 2)..]);
            if (o + 4 + length > end) return CookieStatus.None;
            if (code == OptionCode)
            {
                if (!Dns.Messages.CookieOption.IsValidLength(length)) return CookieStatus.Malformed;
                var option = query.Slice(o + 4, length);
                option[..ClientCookieLength].CopyTo(clientCookie);
                if (length == ClientCookieLength) return CookieStatus.ClientOnly;
                return IsValid(option, client) ? CookieStatus.Valid : CookieStatus.Invalid;
            }
            o += 4 + length;
        }
        return CookieStatus.None;
    }

    /// <summary>Appends the COOKIE option (the client cookie and a fresh server cookie) to the reply's OPT record; the new length.</summary>
    public int Append(Span<byte> reply, int length, int limit, ReadOnlySpan<byte> clientCookie, in ClientAddress client)
    {
        Span<byte> option = stackalloc byte[ClientCookieLength + ServerCookieLength];
        clientCookie[..ClientCookieLength].CopyTo(option);
        WriteServerCookie(option[ClientCookieLength..], clientCookie, client, _now());
        return OptRecord.AppendOption(reply, length, limit, OptionCode, option);
    }

    /// <summary>The RFC 9018 server cookie for this client cookie, client address and timestamp, under the current secret.</summary>
    public void WriteServerCookie(Span<byte> destination, ReadOnlySpan<byte> clientCookie, in ClientAddress client, uint timestamp)
    {
        var secrets = _secrets;
        destination[0] = 1;
        destination[1] = destination[2] = destination[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], timestamp);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], Mac(secrets.K0, secrets.K1, clientCookie, destination[..8], client));
    }

    private bool IsValid(ReadOnlySpan<byte> option, in ClientAddress client)
    {
        if (option.Length != ClientCookieLength + ServerCookieLength) return false;
        var server = option[ClientCookieLength..];
        if (server[0] != 1) return false;
        uint timestamp = BinaryPrimitives.ReadUInt32BigEndian(server[4..]);
        uint now = _now();
        // Serial-number arithmetic (RFC 1982): the difference, as a signed number.
        int age = (int)(now - timestamp);
        if (age > Lifetime || age < -FutureSkew) return false;
        // SipHash output goes on the wire in its reference byte order (little-endian), as RFC 9018's vectors show.
        ulong presented = BinaryPrimitives.ReadUInt64LittleEndian(server[8..]);
        var secrets = _secrets;
        var clientCookie = option[..ClientCookieLength];
        if (Mac(secrets.K0, secrets.K1, clientCookie, server[..8], client) == presented) return true;
        return secrets.HasPrevious && Mac(secrets.PreviousK0, secrets.PreviousK1, clientCookie, server[..8], client) == presented;
    }

    /// <summary>SipHash-2-4(Client Cookie | Version | Reserved | Timestamp | Client-IP) (RFC 9018 §4.4).</summary>
    private static ulong Mac(ulong k0, ulong k1, ReadOnlySpan<byte> clientCookie, ReadOnlySpan<byte> versionAndTimestamp, in ClientAddress client)
    {
        Span<byte> input = stackalloc byte[ClientCookieLength + 8 + 16];
        clientCookie[..ClientCookieLength].CopyTo(input);
        versionAndTimestamp.CopyTo(input[ClientCookieLength..]);
        int length = ClientCookieLength + 8;
        if (client.IsIPv4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(input[length..], (uint)client.Low);
            length += 4;
        }
        else
        {
            BinaryPrimitives.WriteUInt64BigEndian(input[length..], client.High);
            BinaryPrimitives.WriteUInt64BigEndian(input[(length + 8)..], client.Low);
            length += 16;
        }
        return SipHash.Hash(k0, k1, input[..length]);
    }

    private static ulong K(byte[] secret, int offset) =>
        secret.Length == 16 ? BinaryPrimitives.ReadUInt64LittleEndian(secret.AsSpan(offset)) : throw new ArgumentException("a cookie secret is 16 octets", nameof(secret));
}

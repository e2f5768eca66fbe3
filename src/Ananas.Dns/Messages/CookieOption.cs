using Ananas.Dns.Wire;

namespace Ananas.Dns.Messages;

/// <summary>
/// DNS Cookie (RFC 7873 §4): an 8-octet client cookie, optionally followed by a server cookie of 8 to 32
/// octets. Any other length is malformed (§5.2.2: FORMERR).
/// </summary>
public sealed class CookieOption : EdnsOption
{
    public const int ClientCookieLength = 8;
    public const int MinServerCookieLength = 8;
    public const int MaxServerCookieLength = 32;

    private readonly byte[] _client;
    private readonly byte[] _server;

    public CookieOption(ReadOnlySpan<byte> clientCookie, ReadOnlySpan<byte> serverCookie = default)
    {
        if (clientCookie.Length != ClientCookieLength)
            throw new ArgumentException("the client cookie is 8 octets", nameof(clientCookie));
        if (!serverCookie.IsEmpty && serverCookie.Length is < MinServerCookieLength or > MaxServerCookieLength)
            throw new ArgumentException("a server cookie is 8 to 32 octets", nameof(serverCookie));
        _client = clientCookie.ToArray();
        _server = serverCookie.ToArray();
    }

    public override EdnsOptionCode Code => EdnsOptionCode.Cookie;

    public ReadOnlySpan<byte> ClientCookie => _client;

    /// <summary>Empty when the sender had no server cookie yet.</summary>
    public ReadOnlySpan<byte> ServerCookie => _server;

    public bool HasServerCookie => _server.Length != 0;

    public override int DataLength => _client.Length + _server.Length;

    public override void WriteData(ref WireWriter writer)
    {
        writer.WriteBytes(_client);
        writer.WriteBytes(_server);
    }

    /// <summary>True when <paramref name="length"/> is a legal COOKIE option length (8, or 16 to 40).</summary>
    public static bool IsValidLength(int length) =>
        length == ClientCookieLength ||
        length is >= ClientCookieLength + MinServerCookieLength and <= ClientCookieLength + MaxServerCookieLength;

    internal static string LengthProblem(int length) => $"COOKIE option of {length} octets (must be 8, or 16 to 40)";

    internal static CookieOption Read(ReadOnlySpan<byte> data)
    {
        if (!IsValidLength(data.Length)) throw new DnsFormatException(LengthProblem(data.Length));
        return new CookieOption(data[..ClientCookieLength], data[ClientCookieLength..]);
    }

    public override string ToString() => $"COOKIE: {Convert.ToHexString(_client)}{Convert.ToHexString(_server)}";
}

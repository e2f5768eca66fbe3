using System.Net;
using Ananas.Server.Frames;

namespace Ananas.Server.Configuration;

/// <summary>One <c>scheme://address:port</c> to listen on; <c>?proxy=v2</c> expects a PROXY v2 header on each connection.</summary>
public sealed record ListenAddress(Transport Transport, IPEndPoint EndPoint, bool Proxy = false)
{
    public static string SchemeOf(Transport transport) => transport switch
    {
        Transport.Udp => "udp",
        Transport.Tcp => "tcp",
        Transport.Tls => "tls",
        _ => "https",
    };

    public override string ToString() => $"{SchemeOf(Transport)}://{Listeners.ListenerBindException.Format(EndPoint)}{(Proxy ? ProxySuffix : "")}";

    private const string ProxySuffix = "?proxy=v2";

    /// <summary>Parses <c>udp://127.0.0.1:5353</c>, <c>tcp://[::1]:53</c>; without a port, the scheme's (53, 853, 443).</summary>
    public static ListenAddress Parse(string text)
    {
        int sep = text.IndexOf("://", StringComparison.Ordinal);
        if (sep < 0) throw new FormatException($"'{text}' is not a listen address (expected SCHEME://ADDRESS:PORT, e.g. udp://127.0.0.1:5353)");
        string scheme = text[..sep].ToLowerInvariant();
        Transport transport = scheme switch
        {
            "udp" => Transport.Udp,
            "tcp" => Transport.Tcp,
            "tls" => Transport.Tls,
            "https" => Transport.Https,
            _ => throw new FormatException($"unknown scheme '{text[..sep]}' (expected udp, tcp, tls or https)"),
        };
        string rest = text[(sep + 3)..];
        bool proxy = false;
        if (rest.IndexOf('?') is var q and >= 0)
        {
            if (rest[q..] != ProxySuffix) throw new FormatException($"'{rest[q..]}' is not a listen option (the only one is {ProxySuffix})");
            if (transport == Transport.Udp) throw new FormatException("the PROXY protocol is for tcp://, tls:// and https:// listeners, not udp://");
            proxy = true;
            rest = rest[..q];
        }
        rest = rest.TrimEnd('/');
        int defaultPort = transport switch { Transport.Tls => 853, Transport.Https => 443, _ => 53 };
        // Without a port: "1.2.3.4" (no colon), "::1" (several), "[::1]" (bracketed, nothing after).
        bool bareAddress = rest.StartsWith('[') ? rest.EndsWith(']') : rest.Count(c => c == ':') != 1;
        string host = rest.StartsWith('[') && rest.EndsWith(']') ? rest[1..^1] : rest;
        if (bareAddress && IPAddress.TryParse(host, out var bare)) return new ListenAddress(transport, new IPEndPoint(bare, defaultPort), proxy);
        if (IPEndPoint.TryParse(rest, out var endPoint) && endPoint.Port is >= 0 and <= 65535)
            return new ListenAddress(transport, endPoint, proxy);
        throw new FormatException($"'{rest}' is not an IP address with an optional port (e.g. 127.0.0.1:5353 or [::1]:5353)");
    }
}

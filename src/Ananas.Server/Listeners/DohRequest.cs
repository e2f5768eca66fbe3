using Ananas.Dns;
using Ananas.Dns.Messages;
using Microsoft.AspNetCore.Http;

namespace Ananas.Server.Listeners;

/// <summary>What a DoH request asks for, read from its method, query string and content type before any I/O.</summary>
public enum DohRequestKind : byte
{
    /// <summary>An RFC 8484 GET with <c>?dns=</c>: <see cref="DohRequest.Wire"/> holds the query.</summary>
    WireQuery,

    /// <summary>An RFC 8484 POST of <c>application/dns-message</c>: the body is the query.</summary>
    WireBody,

    /// <summary>A JSON API GET (<c>?name=&amp;type=&amp;do=&amp;cd=</c>): <see cref="DohRequest.Wire"/> holds the query built from it.</summary>
    JsonQuery,

    /// <summary>Refused: answer <see cref="DohRequest.StatusCode"/> with <see cref="DohRequest.Error"/> (as JSON when <see cref="DohRequest.JsonError"/>).</summary>
    Refused,
}

/// <summary>
/// The HTTP side of a DoH request (RFC 8484 §4.1 and the JSON API), read without touching the network, so that
/// the listener and the fuzzer run the same code. Never throws for any query string or header value.
/// </summary>
public readonly record struct DohRequest(DohRequestKind Kind, byte[]? Wire, int StatusCode, string? Error, bool JsonError)
{
    public const string DnsMessageType = "application/dns-message";

    /// <summary>The largest DNS message (the two-octet length of RFC 1035 §4.2.2).</summary>
    public const int MaxMessage = ushort.MaxValue;

    /// <param name="dohPath">True at <c>/dns-query</c>, false at the JSON-only <c>/resolve</c>.</param>
    public static DohRequest Read(string method, bool dohPath, IQueryCollection query, string? contentType, long? contentLength)
    {
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method))
        {
            if (dohPath && query.TryGetValue("dns", out var dns))
            {
                var wire = DecodeBase64Url(dns.ToString());
                if (wire is null) return Refuse(StatusCodes.Status400BadRequest, "dns= is not base64url");
                if (wire.Length > MaxMessage) return Refuse(StatusCodes.Status413PayloadTooLarge, null);
                return new DohRequest(DohRequestKind.WireQuery, wire, 0, null, false);
            }
            if (query.ContainsKey("name")) return ReadJson(query);
            return Refuse(StatusCodes.Status400BadRequest, "expected ?dns= (RFC 8484) or ?name= (JSON)");
        }
        if (HttpMethods.IsPost(method) && dohPath)
        {
            if (contentType is null || !contentType.Split(';')[0].Trim().Equals(DnsMessageType, StringComparison.OrdinalIgnoreCase))
                return Refuse(StatusCodes.Status415UnsupportedMediaType, null);
            if (contentLength > MaxMessage) return Refuse(StatusCodes.Status413PayloadTooLarge, null);
            return new DohRequest(DohRequestKind.WireBody, null, 0, null, false);
        }
        return Refuse(StatusCodes.Status405MethodNotAllowed, null);
    }

    /// <summary>RFC 4648 §5 base64url without padding (padding tolerated); null when invalid.</summary>
    public static byte[]? DecodeBase64Url(string text)
    {
        if (text.Length == 0) return null;
        if (text.AsSpan().IndexOfAny('+', '/') >= 0) return null;
        var s = text.TrimEnd('=').Replace('-', '+').Replace('_', '/');
        s = (s.Length % 4) switch { 2 => s + "==", 3 => s + "=", 0 => s, _ => "!" };
        try
        {
            return Convert.FromBase64String(s);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static DohRequest ReadJson(IQueryCollection query)
    {
        if (!DnsName.TryParse(query["name"].ToString(), null, out var name, out var error))
            return new DohRequest(DohRequestKind.Refused, null, StatusCodes.Status400BadRequest, $"invalid name: {error}", true);
        var typeText = query["type"].ToString();
        RRType type = RRType.A;
        if (typeText.Length > 0)
        {
            if (ushort.TryParse(typeText, out var number)) type = (RRType)number;
            else if (!RRTypeText.TryParse(typeText.ToUpperInvariant(), out type))
                return new DohRequest(DohRequestKind.Refused, null, StatusCodes.Status400BadRequest, $"invalid type: {typeText}", true);
        }
        var message = DnsMessage.CreateQuery(0, name, type, dnssecOk: Flag(query["do"].ToString()));
        if (Flag(query["cd"].ToString())) message.Set(HeaderFlags.CD);
        return new DohRequest(DohRequestKind.JsonQuery, message.ToArray(), 0, null, false);
    }

    private static bool Flag(string value) => value is "1" or "true" or "True";

    private static DohRequest Refuse(int status, string? why) => new(DohRequestKind.Refused, null, status, why, false);
}

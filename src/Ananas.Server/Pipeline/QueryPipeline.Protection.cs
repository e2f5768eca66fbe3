using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Frames;
using Ananas.Server.Protection;

namespace Ananas.Server.Pipeline;

/// <summary>The last step of every reply: over UDP, DNS Cookies (RFC 7873, RFC 9018) and response rate limiting.</summary>
public sealed partial class QueryPipeline
{
    private const ushort BadCookie = 23;

    /// <summary>Response rate limiting on UDP (<c>rrl.enabled</c>); null: off.</summary>
    public ResponseRateLimiter? RateLimiter { get; set; }

    /// <summary>DNS Cookies on UDP (<c>cookies.enabled</c>); null: off (a COOKIE option is ignored, as by a server without them).</summary>
    public ServerCookies? Cookies { get; set; }

    /// <summary>The room a reply may fill: the client's limit, less the COOKIE option it will get over UDP.</summary>
    private int ReplyLimit(Frame frame, in QueryShape shape)
    {
        int limit = frame.Sink.MaxReplySize(shape.HasEdns ? shape.UdpPayloadSize : 0);
        return frame.Transport == Transport.Udp && shape.HasEdns && Cookies is not null ? limit - ServerCookies.OptionSpace : limit;
    }

    /// <summary>
    /// Sends <c>buffer[..length]</c> (the buffer has room to the frame's limit). Over UDP: a malformed COOKIE gets
    /// FORMERR; unless the client proved its address with a valid server cookie (or is exempt), the response is
    /// charged to its rate limit and may be dropped or slip out truncated (BADCOOKIE with a fresh cookie to a
    /// client that sent one, RFC 7873 §5.4); a client that sent a cookie gets ours in the reply.
    /// </summary>
    private void Deliver(Frame frame, in QueryShape shape, byte[] buffer, int length)
    {
        var rrl = RateLimiter;
        var cookies = Cookies;
        if (frame.Transport != Transport.Udp || (rrl is null && cookies is null))
        {
            frame.Sink.Send(frame, buffer.AsSpan(0, length));
            return;
        }
        Span<byte> clientCookie = stackalloc byte[ServerCookies.ClientCookieLength];
        var cookie = cookies?.Check(frame.Message, shape, frame.Address, clientCookie) ?? CookieStatus.None;
        if (cookie == CookieStatus.Malformed)
        {
            Interlocked.Increment(ref Counters.FormErr);
            length = ErrorReply.Write(frame.Message, shape, Rcode.FormErr, buffer, _options.MaxUdpPayload, recursionAvailable: AnswerSource is null);
            cookie = CookieStatus.None;
        }
        else if (rrl is not null && cookie != CookieStatus.Valid && !rrl.IsExempt(frame.Address))
        {
            switch (rrl.Decide(frame.Address, buffer.AsSpan(0, length)))
            {
                case RrlVerdict.Drop:
                    Interlocked.Increment(ref Counters.RrlDropped);
                    frame.Sink.Drop(frame);
                    return;
                case RrlVerdict.Slip:
                    Interlocked.Increment(ref Counters.RrlSlipped);
                    if (cookie is CookieStatus.ClientOnly or CookieStatus.Invalid)
                    {
                        Interlocked.Increment(ref Counters.BadCookies);
                        length = ErrorReply.Write(frame.Message, shape, (Rcode)(BadCookie & 0xF), buffer, _options.MaxUdpPayload, recursionAvailable: AnswerSource is null);
                        // The upper eight bits of the extended RCODE live in the OPT record's TTL (RFC 6891 §6.1.3); OPT is last.
                        if (length > 0) buffer[length - 11 + 5] = BadCookie >> 4;
                    }
                    else
                    {
                        length = ErrorReply.Write(frame.Message, shape, Rcode.NoError, buffer, _options.MaxUdpPayload, truncated: true, recursionAvailable: AnswerSource is null);
                    }
                    break;
            }
        }
        if (length == 0)
        {
            frame.Sink.Drop(frame);
            return;
        }
        if (cookie != CookieStatus.None) length = cookies!.Append(buffer, length, frame.Sink.MaxReplySize(shape.UdpPayloadSize), clientCookie, frame.Address);
        frame.Sink.Send(frame, buffer.AsSpan(0, length));
    }
}

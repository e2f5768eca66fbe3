using System.Buffers;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Frames;

namespace Ananas.Server.Pipeline;

/// <summary>
/// The one way out of the pipeline. Every reply — a cache hit, a handler's answer or refusal, a resolution (stale
/// or not), an error (FORMERR, NOTIMP, REFUSED, SERVFAIL, shed), a local or authoritative answer — ends in
/// <see cref="Finish"/>, which pads it on encrypted transports, counts it (by transport and rcode, its Extended DNS
/// Errors, one latency histogram), offers it to the query log and the taps, and delivers it (cookies, RRL, send).
/// A query that gets no reply goes through <see cref="Drop"/>.
/// </summary>
public sealed partial class QueryPipeline
{
    /// <summary>
    /// Pads, counts, logs and delivers <c>buffer[..length]</c> (the buffer has room to <paramref name="limit"/>).
    /// <paramref name="message"/>: the reply as a message, when it was built here (its EDEs are counted; a cache hit
    /// replays bytes whose EDEs were counted when they were built). <paramref name="miss"/>: it came from the miss path.
    /// </summary>
    private void Finish(Frame frame, in QueryShape shape, byte[] buffer, int length, int limit, ReplyKind kind, DnsMessage? message = null,
        bool miss = false, bool byPhase = false)
    {
        // RFC 8467: pad on encrypted transports (the cache keeps the unpadded bytes for every transport).
        if (shape.HasEdns && IsEncrypted(frame.Transport)) length = ResponsePadding.Apply(buffer, length, limit);
        var reply = buffer.AsSpan(0, length);
        var share = frame.Counts;
        Counters.CountResponse(frame.Transport, reply, share);
        if ((reply[3] & 0x0F) == (int)Rcode.ServFail) Interlocked.Increment(ref Counters.ServFail);
        if (message is not null) Counters.CountEdes(message);
        if (miss) Counters.MissLatency.Observe(frame.ArrivalTimestamp);
        else Counters.HitLatency.Observe(frame.ArrivalTimestamp, share?.HitLatency);
        QueryLog?.Record(frame, reply, kind == ReplyKind.CacheHit);
        var taps = _taps;
        byPhase |= kind is ReplyKind.PhaseAnswer or ReplyKind.PhaseRefusal;
        for (int i = 0; i < taps.Length; i++) taps[i].Offer(frame, reply, byPhase);
        Deliver(frame, shape, buffer, length);
    }

    /// <summary>Encodes a message for the frame's transport (TC within the client's limit) and finishes it; <paramref name="encoded"/>: its full encoding, already made (a pooled buffer of <c>MaxMessage</c> bytes).</summary>
    private void SendMessage(Frame frame, in QueryShape shape, DnsMessage message, ReplyKind kind, bool miss, bool byPhase = false,
        byte[]? encoded = null, int encodedLength = 0)
    {
        if (message.Edns is not null) message.Edns.UdpPayloadSize = _options.MaxUdpPayload;
        int limit = ReplyLimit(frame, shape);
        if (encoded is not null && encodedLength <= limit)
        {
            Finish(frame, shape, encoded, encodedLength, limit, kind, message, miss, byPhase);
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(MaxMessage);
        try
        {
            int length = message.WriteTo(buffer, MaxMessage);
            if (length > limit)
            {
                // Whole RRsets are dropped from the overflow on and TC is set (RFC 2181 §9).
                Interlocked.Increment(ref Counters.Truncated);
                length = message.WriteTo(buffer, limit);
            }
            Finish(frame, shape, buffer, length, limit, kind, message, miss, byPhase);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>An error reply built from the query's bytes (no parse): FORMERR, NOTIMP, REFUSED, or the shed answer.</summary>
    private void SendError(Frame frame, in QueryShape shape, Rcode rcode, bool truncated = false, ReplyKind kind = ReplyKind.Error, bool miss = false)
    {
        var reply = ReplyBuffer();
        // RA only where recursion is offered: an answer source (the authoritative role) does not recurse (RFC 1035 §4.1.1).
        int n = ErrorReply.Write(frame.Message, shape, rcode, reply, _options.MaxUdpPayload, truncated, recursionAvailable: AnswerSource is null);
        if (n == 0)
        {
            frame.Sink.Drop(frame);
            return;
        }
        Finish(frame, shape, reply, n, frame.Sink.MaxReplySize(shape.UdpPayloadSize), kind, miss: miss);
    }

    private void Drop(Frame frame)
    {
        Interlocked.Increment(ref Counters.Dropped);
        frame.Sink.Drop(frame);
    }
}

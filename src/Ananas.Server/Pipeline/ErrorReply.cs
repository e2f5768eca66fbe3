using System.Buffers.Binary;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Server.Pipeline;

/// <summary>
/// Builds short answers (FORMERR, NOTIMP, REFUSED, shed truncation) straight from the query's bytes, without
/// parsing or allocating: the header echoed with QR and the RCODE, the question when it was readable, and an
/// OPT record when the client sent one (RFC 6891 §7).
/// </summary>
public static class ErrorReply
{
    public static int Write(ReadOnlySpan<byte> query, in QueryShape shape, Rcode rcode, Span<byte> destination, ushort udpPayloadSize, bool truncated = false,
        bool recursionAvailable = true)
    {
        var header = shape.Header;
        bool withQuestion = shape.QuestionEnd > 0;
        int length = withQuestion ? shape.QuestionEnd : DnsHeader.Size;
        bool withOpt = shape.HasEdns;
        int total = length + (withOpt ? 11 : 0);
        if (destination.Length < total) return 0;

        query[..length].CopyTo(destination);
        ushort flags = (ushort)(header.FlagsWord & ((ushort)HeaderFlags.RD | (ushort)HeaderFlags.CD | 0x7800));
        flags |= (ushort)((ushort)HeaderFlags.QR | ((ushort)rcode & 0xF));
        if (recursionAvailable) flags |= (ushort)HeaderFlags.RA;
        if (truncated) flags |= (ushort)HeaderFlags.TC;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], flags);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], (ushort)(withQuestion ? 1 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(destination[6..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], (ushort)(withOpt ? 1 : 0));
        if (withOpt)
        {
            var opt = destination.Slice(length, 11);
            opt[0] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(opt[1..], 41);
            BinaryPrimitives.WriteUInt16BigEndian(opt[3..], udpPayloadSize);
            BinaryPrimitives.WriteUInt32BigEndian(opt[5..], shape.DnssecOk ? 0x8000u : 0u);
            BinaryPrimitives.WriteUInt16BigEndian(opt[9..], 0);
        }
        return total;
    }
}

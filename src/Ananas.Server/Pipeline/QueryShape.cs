using System.Buffers.Binary;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Server.Pipeline;

/// <summary>What a first look at a frame's bytes says.</summary>
public enum QueryStatus : byte
{
    /// <summary>A QUERY with one well-formed question.</summary>
    Ok,

    /// <summary>Shorter than a header: nothing to answer with.</summary>
    TooShort,

    /// <summary>QR is set: never answer a response (reflection loops).</summary>
    NotAQuery,

    /// <summary>An opcode we do not implement.</summary>
    NotImplemented,

    /// <summary>The header is readable but the question is not.</summary>
    Malformed,
}

/// <summary>
/// The header, the question's extent and the client's EDNS settings, read from the bytes without allocating.
/// Enough to answer errors, look in the answer cache and size the reply; the full parse happens on a miss.
/// </summary>
public readonly struct QueryShape
{
    private const ushort OptType = 41;

    public QueryStatus Status { get; init; }

    public DnsHeader Header { get; init; }

    /// <summary>Offset just past the question (0 when no question could be read).</summary>
    public int QuestionEnd { get; init; }

    public bool HasEdns { get; init; }

    /// <summary>The client's EDNS UDP payload size (0 without EDNS).</summary>
    public ushort UdpPayloadSize { get; init; }

    public bool DnssecOk { get; init; }

    public static QueryShape Read(ReadOnlySpan<byte> message)
    {
        if (message.Length < DnsHeader.Size) return new QueryShape { Status = QueryStatus.TooShort };
        var header = DnsHeader.Read(message);
        if (header.Has(HeaderFlags.QR)) return new QueryShape { Status = QueryStatus.NotAQuery, Header = header };

        int questionEnd = 0;
        if (header.QuestionCount == 1) questionEnd = SkipQuestion(message);
        var status = header.Opcode != Opcode.Query ? QueryStatus.NotImplemented
            : questionEnd == 0 ? QueryStatus.Malformed
            : QueryStatus.Ok;
        var shape = new QueryShape { Status = status, Header = header, QuestionEnd = questionEnd };
        if (questionEnd == 0 || header.AnswerCount != 0 || header.AuthorityCount != 0 || header.AdditionalCount == 0) return shape;

        // The OPT record, when it is the first additional record (as every client sends it).
        int pos = questionEnd;
        if (message.Length - pos < 11 || message[pos] != 0 || BinaryPrimitives.ReadUInt16BigEndian(message[(pos + 1)..]) != OptType) return shape;
        ushort payload = BinaryPrimitives.ReadUInt16BigEndian(message[(pos + 3)..]);
        uint ttl = BinaryPrimitives.ReadUInt32BigEndian(message[(pos + 5)..]);
        return shape with { HasEdns = true, UdpPayloadSize = payload, DnssecOk = (ttl & 0x8000) != 0 };
    }

    /// <summary>Offset past the single question at offset 12, or 0 if it is malformed (compression is invalid there).</summary>
    private static int SkipQuestion(ReadOnlySpan<byte> message)
    {
        int pos = DnsHeader.Size;
        int nameLength = 0;
        while (true)
        {
            if (pos >= message.Length) return 0;
            int len = message[pos];
            if (len == 0) break;
            if (len > 63) return 0;
            nameLength += len + 1;
            if (nameLength > 254) return 0;
            pos += len + 1;
        }
        pos += 1 + 4;
        return pos <= message.Length ? pos : 0;
    }
}

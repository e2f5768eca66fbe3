using System.Runtime.CompilerServices;
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
/// The header, the question's extent and the client's EDNS settings: what <see cref="QueryReader"/> found, kept
/// in a plain struct so a phase context can hold it. Enough to answer errors, look in the answer cache and size
/// the reply; the full parse happens on a miss.
/// </summary>
public readonly struct QueryShape
{
    public QueryStatus Status { get; init; }

    public DnsHeader Header { get; init; }

    /// <summary>Offset just past the question (0 when no question could be read).</summary>
    public int QuestionEnd { get; init; }

    public bool HasEdns { get; init; }

    /// <summary>The client's EDNS UDP payload size (0 without EDNS).</summary>
    public ushort UdpPayloadSize { get; init; }

    public bool DnssecOk { get; init; }

    [SkipLocalsInit] // the reader writes the name before anything reads it
    public static QueryShape Read(ReadOnlySpan<byte> message)
    {
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        QueryReader.TryRead(message, name, out var view, out var error);
        return From(message, view, error);
    }

    /// <summary>Classifies what <see cref="QueryReader.TryRead"/> returned for <paramref name="message"/>.</summary>
    public static QueryShape From(ReadOnlySpan<byte> message, in QueryView view, QueryReadError error)
    {
        if (error == QueryReadError.TooShort) return new QueryShape { Status = QueryStatus.TooShort };
        // The reader's header once it read a question (the same octets); read again only for a query it gave up on early.
        var header = view.QuestionEnd > 0 ? view.Header : DnsHeader.Read(message);
        if (header.Has(HeaderFlags.QR)) return new QueryShape { Status = QueryStatus.NotAQuery, Header = header };

        // The question must be written out at offset 12 (error replies and cache hits copy it as it is).
        int questionEnd = view.QuestionIsLiteral ? view.QuestionEnd : 0;
        var status = header.Opcode != Opcode.Query ? QueryStatus.NotImplemented
            : questionEnd == 0 ? QueryStatus.Malformed
            : QueryStatus.Ok;
        var shape = new QueryShape { Status = status, Header = header, QuestionEnd = questionEnd };
        if (questionEnd == 0 || !view.HasEdns) return shape;
        return shape with { HasEdns = true, UdpPayloadSize = view.UdpPayloadSize, DnssecOk = view.DnssecOk };
    }
}

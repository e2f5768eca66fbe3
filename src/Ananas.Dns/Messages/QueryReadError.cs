namespace Ananas.Dns.Messages;

/// <summary>Why <see cref="QueryReader.TryRead"/> rejected a packet. The server answers FORMERR (or drops) on any of these.</summary>
public enum QueryReadError : byte
{
    None,

    /// <summary>Shorter than the 12-octet header.</summary>
    TooShort,

    /// <summary>QDCOUNT is 0 (e.g. a cookie-only query, RFC 7873 §5.4): not for the fast path.</summary>
    NoQuestion,

    /// <summary>QDCOUNT is above 1, which no server accepts in practice.</summary>
    MultipleQuestions,

    /// <summary>The question name is malformed (see <see cref="Wire.WireReader.DecodeName"/> for the rules).</summary>
    BadName,

    /// <summary>QTYPE or QCLASS is cut off.</summary>
    TruncatedQuestion,

    /// <summary>A record after the question is cut off or has a malformed owner name.</summary>
    BadRecord,

    /// <summary>More than one OPT record (RFC 6891 §6.1.1: FORMERR).</summary>
    MultipleOpt,

    /// <summary>An OPT record outside the additional section, with a non-root owner, or with malformed options (framing, or a known option the full parser rejects).</summary>
    BadOpt,
}

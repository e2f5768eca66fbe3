using System.Buffers.Binary;
using Ananas.Dns.Wire;

namespace Ananas.Dns.Messages;

/// <summary>
/// The one allocation-free, exception-free reader of a query's bytes: header, first question and OPT record.
/// The server's first look at every frame (<c>QueryShape</c>), the answer-cache key and the plugin host all read
/// queries through it; anything it rejects can still go to <see cref="DnsMessage.Parse"/> for a proper FORMERR.
/// The question name gets the same checks as the full parser (it is the cache key); other records are only
/// skipped structurally, except the OPT record, whose options are checked by the full parser's rules.
/// </summary>
public static class QueryReader
{
    /// <summary>
    /// Reads <paramref name="message"/>. <paramref name="nameBuffer"/> must hold at least 255 octets; the
    /// question name is decompressed into it. Never throws for any input. When the question was read but a
    /// later record was not (<see cref="QueryReadError.BadRecord"/>, <see cref="QueryReadError.BadOpt"/>,
    /// <see cref="QueryReadError.MultipleOpt"/>), <paramref name="query"/> still holds the header and question
    /// (without EDNS), so that a FORMERR can echo them.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> message, Span<byte> nameBuffer, out QueryView query, out QueryReadError error)
    {
        query = default;
        if (!DnsHeader.TryRead(message, out var header)) { error = QueryReadError.TooShort; return false; }
        if (header.QuestionCount == 0) { error = QueryReadError.NoQuestion; return false; }
        if (header.QuestionCount > 1) { error = QueryReadError.MultipleQuestions; return false; }

        var nameError = WireReader.DecodeName(message, DnsHeader.Size, message.Length, nameBuffer, out int pos, out int nameLength, out int labels);
        if (nameError != NameError.None) { error = QueryReadError.BadName; return false; }
        if (message.Length - pos < 4) { error = QueryReadError.TruncatedQuestion; return false; }
        var type = (RRType)BinaryPrimitives.ReadUInt16BigEndian(message[pos..]);
        var qclass = (RRClass)BinaryPrimitives.ReadUInt16BigEndian(message[(pos + 2)..]);
        pos += 4;
        int questionEnd = pos;
        query = new QueryView(header, nameBuffer[..nameLength], labels, type, qclass, questionEnd, false, 0, 0, default);

        // Queries rarely carry answer or authority records (NOTIFY and UPDATE do); step over them.
        int before = header.AnswerCount + header.AuthorityCount;
        for (int i = 0; i < before; i++)
        {
            if (!TrySkipRecord(message, ref pos, out var rtype, out _, out _, out _)) { error = QueryReadError.BadRecord; return false; }
            if (rtype == RRType.OPT) { error = QueryReadError.BadOpt; return false; }
        }

        bool hasEdns = false;
        ushort payload = 0;
        uint ttl = 0;
        ReadOnlySpan<byte> options = default;
        for (int i = 0; i < header.AdditionalCount; i++)
        {
            int start = pos;
            if (!TrySkipRecord(message, ref pos, out var rtype, out ushort rclass, out uint rttl, out int rdataStart)) { error = QueryReadError.BadRecord; return false; }
            if (rtype != RRType.OPT) continue;
            if (hasEdns) { error = QueryReadError.MultipleOpt; return false; }
            // RFC 6891 §6.1.2: the owner is the root. It is one zero octet in practice, but a pointer to a
            // root label is the same name, and the full parser accepts it too.
            if ((rdataStart - start != 11 || message[start] != 0) && !IsRoot(message, start)) { error = QueryReadError.BadOpt; return false; }
            var rdata = message[rdataStart..pos];
            if (!OptionsAreWellFormed(rdata)) { error = QueryReadError.BadOpt; return false; }
            hasEdns = true;
            payload = rclass;
            ttl = rttl;
            options = rdata;
        }

        query = new QueryView(header, nameBuffer[..nameLength], labels, type, qclass, questionEnd, hasEdns, payload, ttl, options);
        error = QueryReadError.None;
        return true;
    }

    /// <summary>Steps over one record without decoding its owner; sets <paramref name="rdataStart"/>.</summary>
    private static bool TrySkipRecord(ReadOnlySpan<byte> message, ref int pos, out RRType type, out ushort rclass, out uint ttl, out int rdataStart)
    {
        type = default; rclass = 0; ttl = 0; rdataStart = 0;
        if (!TrySkipName(message, ref pos)) return false;
        if (message.Length - pos < 10) return false;
        type = (RRType)BinaryPrimitives.ReadUInt16BigEndian(message[pos..]);
        rclass = BinaryPrimitives.ReadUInt16BigEndian(message[(pos + 2)..]);
        ttl = BinaryPrimitives.ReadUInt32BigEndian(message[(pos + 4)..]);
        int rdlength = BinaryPrimitives.ReadUInt16BigEndian(message[(pos + 8)..]);
        pos += 10;
        if (message.Length - pos < rdlength) return false;
        rdataStart = pos;
        pos += rdlength;
        return true;
    }

    /// <summary>Steps over labels up to the root label or the first pointer (which ends a name).</summary>
    private static bool TrySkipName(ReadOnlySpan<byte> message, ref int pos)
    {
        int p = pos;
        while (true)
        {
            if (p >= message.Length) return false;
            int len = message[p];
            if (len == 0) { pos = p + 1; return true; }
            switch (len & 0xC0)
            {
                case 0x00: p += len + 1; break;
                case 0xC0:
                    if (p + 1 >= message.Length) return false;
                    pos = p + 2;
                    return true;
                default: return false;
            }
        }
    }

    private static bool IsRoot(ReadOnlySpan<byte> message, int start)
    {
        Span<byte> scratch = stackalloc byte[DnsName.MaxWireLength];
        return WireReader.DecodeName(message, start, message.Length, scratch, out _, out int length, out _) == NameError.None && length == 1;
    }

    /// <summary>
    /// True when the OPT RDATA is an exact sequence of (code, length, data) options and each known option is
    /// well-formed by the full parser's rules (<see cref="EdnsOption.Problem"/>): a malformed COOKIE or Client
    /// Subnet is a FORMERR (RFC 7873 §5.2.2, RFC 7871 §7.1), never a cache hit.
    /// </summary>
    private static bool OptionsAreWellFormed(ReadOnlySpan<byte> rdata)
    {
        int p = 0;
        while (p < rdata.Length)
        {
            if (rdata.Length - p < 4) return false;
            var code = (EdnsOptionCode)BinaryPrimitives.ReadUInt16BigEndian(rdata[p..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(rdata[(p + 2)..]);
            p += 4;
            if (rdata.Length - p < length) return false;
            if (EdnsOption.Problem(code, rdata.Slice(p, length)) is not null) return false;
            p += length;
        }
        return true;
    }
}

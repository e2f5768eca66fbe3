using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Wire;

namespace Ananas.Authoritative.Answering;

/// <summary>The three record sections of a response, in the order they must be written.</summary>
public enum Section : byte
{
    Answer,
    Authority,
    Additional,
}

/// <summary>
/// Writes an authoritative response straight into the reply buffer: header, the question as asked, RRsets from
/// stored RDATA (names compressed where RFC 1035 allows it), then the OPT record. An RRset that does not fit
/// is left out whole: in the answer or authority section that sets TC (RFC 2181 §9), in the additional section
/// it is only dropped. Room for the OPT record is kept back so it always fits.
/// </summary>
public ref struct ResponseBuilder
{
    private const int OptSize = 11;

    private WireWriter _writer;
    private readonly Span<byte> _reply;
    private readonly int _limit;
    private readonly bool _edns;
    private readonly ushort _id;
    private readonly ushort _requestFlags;
    private int _answer, _authority, _additional;

    public ResponseBuilder(Span<byte> reply, int limit, in QueryView query)
    {
        _reply = reply;
        _limit = Math.Min(limit, reply.Length);
        _edns = query.HasEdns;
        _writer = new WireWriter(reply, NameWriteMode.Compressed, _edns ? _limit - OptSize : _limit);
        _id = query.Header.Id;
        _requestFlags = query.Header.FlagsWord;
        _writer.WriteZeros(DnsHeader.Size);
        _writer.WriteName(query.Name, compressible: true);
        _writer.WriteUInt16((ushort)query.Type);
        _writer.WriteUInt16((ushort)query.Class);
        QuestionFits = !_writer.Overflowed;
    }

    public bool QuestionFits { get; }

    public readonly int AnswerCount => _answer;

    public bool Authoritative { get; set; }

    public bool Truncated { get; private set; }

    public Rcode Rcode { get; set; }

    /// <summary>True once a section overflowed: nothing more goes into the answer or authority sections.</summary>
    public readonly bool Full => Truncated;

    /// <summary>Writes the RRset <paramref name="set"/> of <paramref name="node"/> with <paramref name="owner"/> (uncompressed wire).</summary>
    public bool AddRRset(Section section, ReadOnlySpan<byte> owner, NodeView node, int set, uint? ttlOverride = null)
    {
        if (Truncated) return false;
        ref readonly var s = ref node.Set(set);
        var mark = _writer.Mark();
        for (int i = 0; i < s.Count; i++)
            WriteRecord(owner, s.Type, ttlOverride ?? s.Ttl, node.Record(s.First + i));
        return Commit(section, mark, s.Count);
    }

    /// <summary>Writes one record (the SOA of a negative answer, a synthesized CNAME).</summary>
    public bool AddRecord(Section section, ReadOnlySpan<byte> owner, RRType type, uint ttl, ReadOnlySpan<byte> rdata, RRClass rclass = RRClass.IN)
    {
        if (Truncated) return false;
        var mark = _writer.Mark();
        WriteRecord(owner, type, ttl, rdata, rclass);
        return Commit(section, mark, 1);
    }

    /// <summary>A synthesized CNAME (RFC 6672 §2.2) whose target is given as two pieces of wire name.</summary>
    public bool AddSynthesizedCname(ReadOnlySpan<byte> owner, uint ttl, ReadOnlySpan<byte> target)
    {
        if (Truncated) return false;
        var mark = _writer.Mark();
        _writer.WriteName(owner, compressible: true);
        _writer.WriteUInt16((ushort)RRType.CNAME);
        _writer.WriteUInt16((ushort)RRClass.IN);
        _writer.WriteUInt32(ttl);
        int lengthAt = _writer.Position;
        _writer.WriteUInt16(0);
        _writer.WriteName(target, compressible: true);
        if (!_writer.Overflowed) _writer.PatchUInt16(lengthAt, (ushort)(_writer.Position - lengthAt - 2));
        return Commit(Section.Answer, mark, 1);
    }

    private bool Commit(Section section, WriterMark mark, int count)
    {
        if (_writer.Overflowed)
        {
            _writer.Rollback(mark);
            if (section != Section.Additional) Truncated = true;
            return false;
        }
        switch (section)
        {
            case Section.Answer: _answer += count; break;
            case Section.Authority: _authority += count; break;
            default: _additional += count; break;
        }
        return true;
    }

    private void WriteRecord(ReadOnlySpan<byte> owner, RRType type, uint ttl, ReadOnlySpan<byte> rdata, RRClass rclass = RRClass.IN)
    {
        _writer.WriteName(owner, compressible: true);
        _writer.WriteUInt16((ushort)type);
        _writer.WriteUInt16((ushort)rclass);
        _writer.WriteUInt32(ttl);
        int lengthAt = _writer.Position;
        _writer.WriteUInt16(0);
        RDataWriter.Write(ref _writer, type, rdata);
        if (!_writer.Overflowed) _writer.PatchUInt16(lengthAt, (ushort)(_writer.Position - lengthAt - 2));
    }

    /// <summary>Finishes the message (OPT record, header); returns its length.</summary>
    public int Finish(ushort udpPayload, bool dnssecOk, bool compactOk = false)
    {
        int extended = (int)Rcode >> 4;
        if (_edns)
        {
            _writer.Limit = _limit;
            _writer.WriteByte(0);
            _writer.WriteUInt16((ushort)RRType.OPT);
            _writer.WriteUInt16(udpPayload);
            _writer.WriteUInt32(((uint)extended << 24) | (dnssecOk ? 0x8000u : 0u) | (compactOk ? 0x4000u : 0u));
            _writer.WriteUInt16(0);
            _additional++;
        }
        int length = _writer.Position;
        ushort flags = (ushort)(HeaderFlags.QR | (HeaderFlags)(_requestFlags & (ushort)(HeaderFlags.RD | HeaderFlags.CD)));
        if (Authoritative) flags |= (ushort)HeaderFlags.AA;
        if (Truncated) flags |= (ushort)HeaderFlags.TC;
        flags |= (ushort)((int)Rcode & 0xF);
        var header = new DnsHeader(_id, flags, 1, (ushort)_answer, (ushort)_authority, (ushort)_additional);
        header.Write(_reply);
        return length;
    }
}

/// <summary>Writes stored (uncompressed) RDATA, compressing the names of the RFC 1035 types that allow it (RFC 3597 §4).</summary>
public static class RDataWriter
{
    public static void Write(ref WireWriter writer, RRType type, ReadOnlySpan<byte> rdata)
    {
        switch (type)
        {
            case RRType.NS or RRType.CNAME or RRType.PTR:
                if (NameLength(rdata) == rdata.Length) { writer.WriteName(rdata, compressible: true); return; }
                break;
            case RRType.MX:
                if (rdata.Length > 2 && NameLength(rdata[2..]) == rdata.Length - 2)
                {
                    writer.WriteBytes(rdata[..2]);
                    writer.WriteName(rdata[2..], compressible: true);
                    return;
                }
                break;
            case RRType.SOA:
                int m = NameLength(rdata);
                int r = m > 0 ? NameLength(rdata[m..]) : -1;
                if (r > 0 && rdata.Length - m - r == 20)
                {
                    writer.WriteName(rdata[..m], compressible: true);
                    writer.WriteName(rdata.Slice(m, r), compressible: true);
                    writer.WriteBytes(rdata[(m + r)..]);
                    return;
                }
                break;
        }
        writer.WriteBytes(rdata);
    }

    /// <summary>Length of the uncompressed name at the start of <paramref name="wire"/>, or -1.</summary>
    public static int NameLength(ReadOnlySpan<byte> wire)
    {
        int p = 0;
        while (p < wire.Length)
        {
            int len = wire[p];
            if (len == 0) return p + 1;
            if (len > 63) return -1;
            p += len + 1;
        }
        return -1;
    }
}

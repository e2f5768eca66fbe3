using System.Buffers;
using System.Text;
using Ananas.Dns.Records;
using Ananas.Dns.Wire;

namespace Ananas.Dns.Messages;

/// <summary>
/// A whole DNS message as objects. Used by the recursor and tools; hot paths that only need the header
/// and question read them with <see cref="DnsHeader"/> and <see cref="WireReader"/> directly.
/// The OPT pseudo-record is not kept in <see cref="Additional"/>: it is <see cref="Edns"/>.
/// </summary>
public sealed class DnsMessage
{
    /// <summary>OPT record without options: root owner (1), TYPE, CLASS, TTL, RDLENGTH.</summary>
    private const int OptFixedSize = 11;

    public ushort Id { get; set; }

    public HeaderFlags Flags { get; set; }

    public Opcode Opcode { get; set; }

    /// <summary>The full response code, including the EDNS extended bits.</summary>
    public Rcode Rcode { get; set; }

    // Sized for the one question nearly every message has.
    public List<Question> Questions { get; } = new(1);

    // The record sections are created when first asked for: a query has none, many responses one or two. Creation
    // is atomic, so that concurrent readers of a shared response never replace a list another thread holds.
    private List<ResourceRecord>? _answers, _authority, _additional;

    public List<ResourceRecord> Answers => _answers ?? Create(ref _answers);

    public List<ResourceRecord> Authority => _authority ?? Create(ref _authority);

    public List<ResourceRecord> Additional => _additional ?? Create(ref _additional);

    // What an absent section reads as, inside this class only (never handed out, so never written to).
    private static readonly List<ResourceRecord> NoRecords = new(0);

    /// <summary>Creates a list on first use, atomically: of two racing threads, both get the one that was stored.</summary>
    internal static List<T> Create<T>(ref List<T>? list) =>
        Interlocked.CompareExchange(ref list, new List<T>(), null) ?? list;

    /// <summary>The OPT record, or null when the message has no EDNS.</summary>
    public Edns? Edns { get; set; }

    /// <summary>The first (in practice the only) question.</summary>
    public Question Question => Questions.Count > 0 ? Questions[0] : throw new InvalidOperationException("message has no question");

    public bool IsResponse => Has(HeaderFlags.QR);

    public bool Has(HeaderFlags flag) => (Flags & flag) == flag;

    public void Set(HeaderFlags flag, bool on = true) => Flags = on ? Flags | flag : Flags & ~flag;

    /// <summary>Sections in wire order (answer, authority, additional).</summary>
    public List<ResourceRecord> Section(MessageSection section) => section switch
    {
        MessageSection.Answer => Answers,
        MessageSection.Authority => Authority,
        MessageSection.Additional => Additional,
        _ => throw new ArgumentOutOfRangeException(nameof(section)),
    };

    /// <summary>How many records a section holds, without creating an absent one.</summary>
    public int Count(MessageSection section) => section switch
    {
        MessageSection.Answer => _answers?.Count ?? 0,
        MessageSection.Authority => _authority?.Count ?? 0,
        MessageSection.Additional => _additional?.Count ?? 0,
        _ => throw new ArgumentOutOfRangeException(nameof(section)),
    };

    /// <summary>Builds a query for one question, with EDNS (payload size <see cref="Messages.Edns.DefaultPayloadSize"/>).</summary>
    public static DnsMessage CreateQuery(ushort id, DnsName name, RRType type, RRClass qclass = RRClass.IN, bool recursionDesired = true, bool dnssecOk = false) =>
        CreateQuery(id, new Question(name, type, qclass), recursionDesired, dnssecOk);

    /// <summary>Builds a query for a question the caller already holds (questions are immutable, so it is shared).</summary>
    public static DnsMessage CreateQuery(ushort id, Question question, bool recursionDesired = true, bool dnssecOk = false)
    {
        var m = new DnsMessage { Id = id, Flags = recursionDesired ? HeaderFlags.RD : HeaderFlags.None };
        m.Questions.Add(question);
        m.Edns = new Edns { DnssecOk = dnssecOk };
        return m;
    }

    /// <summary>A response skeleton for this query: same ID, opcode, question, RD and CD; QR set.</summary>
    public DnsMessage CreateResponse(Rcode rcode = Rcode.NoError)
    {
        var r = new DnsMessage
        {
            Id = Id,
            Opcode = Opcode,
            Rcode = rcode,
            Flags = HeaderFlags.QR | (Flags & (HeaderFlags.RD | HeaderFlags.CD)),
        };
        r.Questions.AddRange(Questions);
        if (Edns is not null) r.Edns = new Edns { DnssecOk = Edns.DnssecOk };
        return r;
    }

    /// <summary>Parses a complete message. Raises <see cref="DnsFormatException"/> on any malformation.</summary>
    public static DnsMessage Parse(ReadOnlySpan<byte> wire) => Parse(wire, skipMalformedRecords: false);

    /// <summary>
    /// Parses a complete message. With <paramref name="skipMalformedRecords"/>, a record whose RDATA does not parse
    /// for its type (e.g. an A record of 3 octets) is left out instead of failing the whole message, as long as its
    /// RDLENGTH keeps the message framing intact: Unbound's scrubber drops just such records (iter_scrub_rr_length).
    /// Resolvers use this for upstream responses; everything else (headers, names, framing, OPT) stays strict.
    /// </summary>
    public static DnsMessage Parse(ReadOnlySpan<byte> wire, bool skipMalformedRecords)
    {
        var header = DnsHeader.Read(wire);
        var reader = new WireReader(wire) { Position = DnsHeader.Size };
        var m = new DnsMessage
        {
            Id = header.Id,
            Flags = header.Flags,
            Opcode = header.Opcode,
            Rcode = (Rcode)header.RcodeLow,
        };
        // Each record needs at least 11 octets and each question 5, so these counts bound the work done.
        for (int i = 0; i < header.QuestionCount; i++)
        {
            var name = reader.ReadName();
            var type = (RRType)reader.ReadUInt16();
            var qclass = (RRClass)reader.ReadUInt16();
            m.Questions.Add(new Question(name, type, qclass));
        }
        if (header.AnswerCount > 0) ReadSection(ref reader, m, m.Answers, header.AnswerCount, MessageSection.Answer, skipMalformedRecords);
        if (header.AuthorityCount > 0) ReadSection(ref reader, m, m.Authority, header.AuthorityCount, MessageSection.Authority, skipMalformedRecords);
        if (header.AdditionalCount > 0) ReadSection(ref reader, m, m.Additional, header.AdditionalCount, MessageSection.Additional, skipMalformedRecords);
        // Trailing octets after the last record are tolerated (some middleboxes pad), as most resolvers do.
        return m;
    }

    private static void ReadSection(ref WireReader reader, DnsMessage m, List<ResourceRecord> list, int count, MessageSection section, bool skipMalformed)
    {
        for (int i = 0; i < count; i++)
        {
            var name = reader.ReadName();
            var type = (RRType)reader.ReadUInt16();
            ushort rrclass = reader.ReadUInt16();
            uint ttl = reader.ReadUInt32();
            int rdlength = reader.ReadUInt16();
            if (type == RRType.OPT)
            {
                if (section != MessageSection.Additional) throw new DnsFormatException("OPT record outside the additional section");
                if (m.Edns is not null) throw new DnsFormatException("more than one OPT record");
                if (!name.IsRoot) throw new DnsFormatException("OPT record owner is not the root");
                m.Edns = ReadOpt(ref reader, rrclass, ttl, rdlength);
                m.Rcode = (Rcode)(((ttl >> 24) << 4) | (uint)m.Rcode);
                continue;
            }
            if (!skipMalformed || reader.Remaining < rdlength)
            {
                list.Add(new ResourceRecord(name, (RRClass)rrclass, ttl, RData.Read(type, ref reader, rdlength)));
                continue;
            }
            int start = reader.Position, end = reader.End;
            try
            {
                list.Add(new ResourceRecord(name, (RRClass)rrclass, ttl, RData.Read(type, ref reader, rdlength)));
            }
            catch (DnsFormatException)
            {
                reader.End = end;
                reader.Position = start + rdlength;
            }
        }
    }

    private static Edns ReadOpt(ref WireReader reader, ushort payloadSize, uint ttl, int rdlength)
    {
        var edns = new Edns
        {
            UdpPayloadSize = payloadSize,
            Version = (byte)(ttl >> 16),
            DnssecOk = (ttl & 0x8000) != 0,
            OtherFlags = (ushort)(ttl & 0x7FFF),
        };
        var data = reader.ReadBytes(rdlength);
        int pos = 0;
        while (pos < data.Length)
        {
            if (data.Length - pos < 4) throw new DnsFormatException("truncated EDNS option header");
            var code = (EdnsOptionCode)((data[pos] << 8) | data[pos + 1]);
            int len = (data[pos + 2] << 8) | data[pos + 3];
            pos += 4;
            if (data.Length - pos < len) throw new DnsFormatException($"EDNS option {(ushort)code} runs past the OPT record");
            edns.Options.Add(EdnsOption.Read(code, data.Slice(pos, len)));
            pos += len;
        }
        return edns;
    }

    /// <summary>
    /// Writes the message into <paramref name="buffer"/>, at most <paramref name="maxSize"/> octets, and
    /// returns its length. When the answer or authority section does not fit, whole RRsets are dropped from
    /// the point of overflow on and TC is set; additional records that do not fit are dropped silently
    /// (RFC 2181 §9). The OPT record is always kept. A <see cref="PaddingOption.ToBlockSize"/> option is
    /// sized here so that the message becomes a multiple of its block (RFC 8467), never beyond the limit.
    /// Allocates nothing.
    /// </summary>
    public int WriteTo(Span<byte> buffer, int maxSize = ushort.MaxValue)
    {
        int limit = Math.Min(maxSize, buffer.Length);
        if (limit < DnsHeader.Size) throw new ArgumentException("buffer too small for a DNS header", nameof(buffer));

        // The OPT record's size is reserved before the sections so that it survives truncation.
        // Options report their length up front, so nothing is serialised twice or allocated.
        int optSize = 0;
        PaddingOption? blockPadding = null;
        int blockPaddingIndex = -1;
        if (Edns is not null)
        {
            optSize = OptFixedSize;
            var options = Edns.OptionsIfAny;
            for (int i = 0; options is not null && i < options.Count; i++)
            {
                var o = options[i];
                int length = o.DataLength;
                if ((uint)length > ushort.MaxValue) throw new InvalidOperationException($"EDNS option {(ushort)o.Code} has {length} octets of data");
                optSize += 4 + length;
                // Only the first block-padding option is sized; RFC 8467 padding is one option per message.
                if (blockPadding is null && o is PaddingOption { BlockSize: > 0 } p) { blockPadding = p; blockPaddingIndex = i; }
            }
            if (optSize - OptFixedSize > ushort.MaxValue) throw new InvalidOperationException("EDNS options exceed 65535 octets");
            if (limit < DnsHeader.Size + optSize) throw new ArgumentException("buffer too small for the header and the OPT record", nameof(buffer));
        }

        var w = new WireWriter(buffer, NameWriteMode.Compressed, limit - optSize);
        var flags = Flags;
        w.WriteUInt16(Id);
        w.WriteUInt16(0); // flags, patched below
        w.WriteUInt16(0);
        w.WriteUInt16(0);
        w.WriteUInt16(0);
        w.WriteUInt16(0);
        ushort qd = 0, an = 0, ns = 0, ar = 0;
        bool truncated = false;
        foreach (var q in Questions)
        {
            var mark = w.Mark();
            w.WriteName(q.Name, compressible: true);
            w.WriteUInt16((ushort)q.Type);
            w.WriteUInt16((ushort)q.Class);
            if (w.Overflowed) { w.Rollback(mark); truncated = true; break; }
            qd++;
        }
        if (!truncated) truncated = !WriteSection(ref w, _answers ?? NoRecords, ref an, dropPartialRRsets: true);
        if (!truncated) truncated = !WriteSection(ref w, _authority ?? NoRecords, ref ns, dropPartialRRsets: true);
        if (!truncated) WriteSection(ref w, _additional ?? NoRecords, ref ar, dropPartialRRsets: false);
        if (truncated) flags |= HeaderFlags.TC;

        if (Edns is not null)
        {
            w.Limit = limit;
            w.WriteByte(0); // root owner
            w.WriteUInt16((ushort)RRType.OPT);
            w.WriteUInt16(Edns.UdpPayloadSize);
            uint ttl = ((uint)((ushort)Rcode >> 4) << 24) | ((uint)Edns.Version << 16) | (Edns.DnssecOk ? 0x8000u : 0) | (Edns.OtherFlags & 0x7FFFu);
            w.WriteUInt32(ttl);
            // Block padding (RFC 8467) is sized now that the final length without it is known.
            // Here the OPT's owner, TYPE, CLASS and TTL are written; RDLENGTH and the options follow.
            int unpadded = w.Position + 2 + (optSize - OptFixedSize);
            int pad = blockPadding is null ? 0 : blockPadding.PaddingFor(unpadded, limit);
            pad = Math.Min(pad, ushort.MaxValue - (optSize - OptFixedSize));
            w.WriteUInt16((ushort)(optSize - OptFixedSize + pad));
            var options = Edns.OptionsIfAny;
            for (int i = 0; options is not null && i < options.Count; i++)
            {
                var o = options[i];
                w.WriteUInt16((ushort)o.Code);
                if (i == blockPaddingIndex)
                {
                    w.WriteUInt16((ushort)pad);
                    w.WriteZeros(pad);
                }
                else
                {
                    w.WriteUInt16((ushort)o.DataLength);
                    o.WriteData(ref w);
                }
            }
            ar++;
        }
        else if ((ushort)Rcode > 0xF)
        {
            throw new InvalidOperationException($"RCODE {Rcode} needs EDNS");
        }

        ushort flagsWord = (ushort)((ushort)flags | (((ushort)Opcode & 0xF) << 11) | ((ushort)Rcode & 0xF));
        w.PatchUInt16(2, flagsWord);
        w.PatchUInt16(4, qd);
        w.PatchUInt16(6, an);
        w.PatchUInt16(8, ns);
        w.PatchUInt16(10, ar);
        return w.Position;
    }

    /// <summary>Writes records; on overflow rolls back (to the start of the RRset if asked) and returns false.</summary>
    private static bool WriteSection(ref WireWriter w, List<ResourceRecord> records, ref ushort count, bool dropPartialRRsets)
    {
        var rrsetMark = w.Mark();
        ushort rrsetStartCount = count;
        for (int i = 0; i < records.Count; i++)
        {
            var rr = records[i];
            if (i == 0 || !SameRRset(records[i - 1], rr))
            {
                rrsetMark = w.Mark();
                rrsetStartCount = count;
            }
            var mark = w.Mark();
            WriteRecord(ref w, rr);
            if (w.Overflowed)
            {
                if (dropPartialRRsets) { w.Rollback(rrsetMark); count = rrsetStartCount; }
                else w.Rollback(mark);
                return false;
            }
            count++;
        }
        return true;
    }

    private static bool SameRRset(ResourceRecord a, ResourceRecord b) =>
        a.Type == b.Type && a.Class == b.Class && a.Name.Equals(b.Name);

    /// <summary>Writes one record (owner, type, class, TTL, RDLENGTH, RDATA).</summary>
    public static void WriteRecord(ref WireWriter w, ResourceRecord rr)
    {
        w.WriteName(rr.Name, compressible: true);
        w.WriteUInt16((ushort)rr.Type);
        w.WriteUInt16((ushort)rr.Class);
        w.WriteUInt32(rr.Ttl);
        int lengthAt = w.Position;
        w.WriteUInt16(0);
        int start = w.Position;
        rr.Data.WriteTo(ref w);
        if (!w.Overflowed) w.PatchUInt16(lengthAt, (ushort)(w.Position - start));
    }

    /// <summary>Serialises into a new array.</summary>
    public byte[] ToArray(int maxSize = ushort.MaxValue)
    {
        byte[] rented = ArrayPool<byte>.Shared.Rent(ushort.MaxValue);
        try
        {
            int n = WriteTo(rented, maxSize);
            return rented.AsSpan(0, n).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>dig-like text rendering, for logs and tools.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(";; opcode: ").Append(Opcode.ToString().ToUpperInvariant()).Append(", status: ").Append(RcodeText.ToText(Rcode))
          .Append(", id: ").Append(Id).Append('\n');
        sb.Append(";; flags:");
        foreach (var f in new[] { HeaderFlags.QR, HeaderFlags.AA, HeaderFlags.TC, HeaderFlags.RD, HeaderFlags.RA, HeaderFlags.AD, HeaderFlags.CD })
            if (Has(f)) sb.Append(' ').Append(f.ToString().ToLowerInvariant());
        sb.Append("; QUERY: ").Append(Questions.Count).Append(", ANSWER: ").Append(Answers.Count)
          .Append(", AUTHORITY: ").Append(Authority.Count).Append(", ADDITIONAL: ").Append(Additional.Count + (Edns is null ? 0 : 1)).Append('\n');
        if (Edns is not null)
        {
            sb.Append(";; EDNS: version ").Append(Edns.Version).Append(", flags:").Append(Edns.DnssecOk ? " do" : "")
              .Append("; udp: ").Append(Edns.UdpPayloadSize).Append('\n');
            foreach (var o in Edns.Options) sb.Append(";; ").Append(o).Append('\n');
        }
        sb.Append(";; QUESTION SECTION:\n");
        foreach (var q in Questions) sb.Append(';').Append(q).Append('\n');
        AppendSection(sb, "ANSWER", Answers);
        AppendSection(sb, "AUTHORITY", Authority);
        AppendSection(sb, "ADDITIONAL", Additional);
        return sb.ToString();
    }

    private static void AppendSection(StringBuilder sb, string title, List<ResourceRecord> records)
    {
        if (records.Count == 0) return;
        sb.Append(";; ").Append(title).Append(" SECTION:\n");
        foreach (var rr in records) sb.Append(rr).Append('\n');
    }
}

/// <summary>The three record sections of a message.</summary>
public enum MessageSection
{
    Answer,
    Authority,
    Additional,
}

/// <summary>RCODE mnemonics as dig prints them.</summary>
public static class RcodeText
{
    public static string ToText(Rcode rcode) => rcode switch
    {
        Rcode.NoError => "NOERROR",
        Rcode.FormErr => "FORMERR",
        Rcode.ServFail => "SERVFAIL",
        Rcode.NXDomain => "NXDOMAIN",
        Rcode.NotImp => "NOTIMP",
        Rcode.Refused => "REFUSED",
        _ => Enum.IsDefined(rcode) ? rcode.ToString().ToUpperInvariant() : "RCODE" + (ushort)rcode,
    };
}

using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Scenarios.Model;
using Ananas.Scenarios.Parsing;

namespace Ananas.Scenarios.Messages;

/// <summary>Builds the message an ENTRY describes, with the dialect's defaults (FORMAT.md §1.3, §2.2).</summary>
public static class EntryMessageBuilder
{
    /// <summary>Deckard puts EDNS0 with this payload on every built message.</summary>
    public const ushort DeckardPayloadSize = 4096;

    /// <summary>Testbound uses this payload when an entry asks for EDNS.</summary>
    public const ushort UnboundPayloadSize = 1232;

    /// <summary>Builds the template; throws <see cref="UnsupportedRecordException"/> for a record the DNS library cannot read.</summary>
    public static MessageTemplate Build(ScenarioEntry entry, ScenarioDialect dialect)
    {
        var m = new DnsMessage();
        bool dnssecOk = false, compactOk = false;
        foreach (var token in entry.Reply) ApplyReplyToken(m, token.ToUpperInvariant(), ref dnssecOk, ref compactOk);

        foreach (var q in entry.Question) m.Questions.Add(ParseQuestion(q));
        AddRecords(entry.Answer, m.Answers);
        AddRecords(entry.Authority, m.Authority);
        AddRecords(entry.Additional, m.Additional);

        if (dialect == ScenarioDialect.Deckard)
        {
            m.Edns = new Edns { UdpPayloadSize = DeckardPayloadSize, DnssecOk = dnssecOk };
        }
        else if (dnssecOk || compactOk || entry.EdnsData is not null || (ushort)m.Rcode > 0xF)
        {
            m.Edns = new Edns { UdpPayloadSize = UnboundPayloadSize, DnssecOk = dnssecOk, OtherFlags = compactOk ? (ushort)0x4000 : (ushort)0 };
            if (entry.EdnsData is { } data) AddOptions(m.Edns, data, entry.Line);
        }
        return new MessageTemplate(entry, m, entry.Raw);
    }

    private static void ApplyReplyToken(DnsMessage m, string token, ref bool dnssecOk, ref bool compactOk)
    {
        switch (token)
        {
            case "QR": m.Set(HeaderFlags.QR); break;
            case "AA": m.Set(HeaderFlags.AA); break;
            case "TC": m.Set(HeaderFlags.TC); break;
            case "RD": m.Set(HeaderFlags.RD); break;
            case "RA": m.Set(HeaderFlags.RA); break;
            case "AD": m.Set(HeaderFlags.AD); break;
            case "CD": m.Set(HeaderFlags.CD); break;
            case "DO": dnssecOk = true; break;
            case "CO": compactOk = true; break;
            case "QUERY": m.Opcode = Opcode.Query; break;
            case "IQUERY": m.Opcode = Opcode.IQuery; break;
            case "STATUS": m.Opcode = Opcode.Status; break;
            case "NOTIFY": m.Opcode = Opcode.Notify; break;
            case "UPDATE": m.Opcode = Opcode.Update; break;
            default:
                if (TryParseRcode(token, out var rcode)) m.Rcode = rcode;
                break; // unknown tokens were reported as skip reasons by the parser
        }
    }

    public static bool TryParseRcode(string token, out Rcode rcode)
    {
        Rcode? r = token.ToUpperInvariant() switch
        {
            "NOERROR" => Rcode.NoError,
            "FORMERR" => Rcode.FormErr,
            "SERVFAIL" => Rcode.ServFail,
            "NXDOMAIN" => Rcode.NXDomain,
            "NOTIMP" or "NOTIMPL" => Rcode.NotImp,
            "REFUSED" => Rcode.Refused,
            "YXDOMAIN" => Rcode.YXDomain,
            "YXRRSET" => Rcode.YXRRSet,
            "NXRRSET" => Rcode.NXRRSet,
            "NOTAUTH" => Rcode.NotAuth,
            "NOTZONE" => Rcode.NotZone,
            "BADVERS" or "BADSIG" => Rcode.BadVers, // both are 16 (RFC 6891 / RFC 8945)
            "BADKEY" => Rcode.BadKey,
            "BADTIME" => Rcode.BadTime,
            "BADMODE" => Rcode.BadMode,
            "BADNAME" => Rcode.BadName,
            "BADALG" => Rcode.BadAlg,
            "BADTRUNC" => Rcode.BadTrunc,
            "BADCOOKIE" => Rcode.BadCookie,
            _ => null,
        };
        rcode = r ?? default;
        return r is not null;
    }

    /// <summary>A question line: <c>name [class] type</c> (a TTL is tolerated and ignored).</summary>
    public static Question ParseQuestion(RecordLine line)
    {
        var t = ScenarioParser.Tokens(line.Text);
        try
        {
            if (t.Length < 2) throw new DnsFormatException("a question needs a name and a type");
            var name = DnsName.Parse(t[0], line.Origin);
            var qclass = RRClass.IN;
            RRType? type = null;
            for (int i = 1; i < t.Length && type is null; i++)
            {
                if (RRTypeText.TryParse(t[i], out var ty)) type = ty;
                else if (RRClassText.TryParse(t[i], out var c)) qclass = c;
                else if (!uint.TryParse(t[i], out _)) throw new DnsFormatException($"unexpected '{t[i]}' in a question");
            }
            return new Question(name, type ?? throw new DnsFormatException("question without a type"), qclass);
        }
        catch (DnsFormatException e)
        {
            throw new UnsupportedRecordException(line.Line, line.Text, e.Message);
        }
    }

    private static void AddRecords(List<RecordLine> lines, List<ResourceRecord> target)
    {
        foreach (var line in lines) target.Add(ParseRecord(line));
    }

    public static ResourceRecord ParseRecord(RecordLine line)
    {
        try
        {
            return RecordText.Parse(line.Text, line.Origin, line.DefaultTtl, keepMalformedGeneric: true);
        }
        catch (Exception e) when (e is DnsFormatException or FormatException or ArgumentException or OverflowException)
        {
            throw new UnsupportedRecordException(line.Line, line.Text, e.Message);
        }
    }

    private static void AddOptions(Edns edns, byte[] data, int line)
    {
        int pos = 0;
        while (pos + 4 <= data.Length)
        {
            var code = (EdnsOptionCode)((data[pos] << 8) | data[pos + 1]);
            int len = (data[pos + 2] << 8) | data[pos + 3];
            pos += 4;
            if (pos + len > data.Length) break;
            edns.Options.Add(EdnsOption.Read(code, data.AsSpan(pos, len)));
            pos += len;
        }
        if (pos != data.Length) throw new UnsupportedRecordException(line, Convert.ToHexString(data), "HEX_EDNSDATA is not a sequence of EDNS options");
    }
}

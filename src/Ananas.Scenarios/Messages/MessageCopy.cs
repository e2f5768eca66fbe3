using Ananas.Dns.Messages;

namespace Ananas.Scenarios.Messages;

/// <summary>Shallow copies of messages (records are immutable), so templates are never mutated by ADJUST.</summary>
public static class MessageCopy
{
    public static DnsMessage Clone(DnsMessage m)
    {
        var c = new DnsMessage { Id = m.Id, Flags = m.Flags, Opcode = m.Opcode, Rcode = m.Rcode, Edns = Clone(m.Edns) };
        c.Questions.AddRange(m.Questions);
        c.Answers.AddRange(m.Answers);
        c.Authority.AddRange(m.Authority);
        c.Additional.AddRange(m.Additional);
        return c;
    }

    public static Edns? Clone(Edns? e)
    {
        if (e is null) return null;
        var c = new Edns { UdpPayloadSize = e.UdpPayloadSize, Version = e.Version, DnssecOk = e.DnssecOk, OtherFlags = e.OtherFlags };
        c.Options.AddRange(e.Options);
        return c;
    }
}

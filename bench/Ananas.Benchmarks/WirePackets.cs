using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Benchmarks;

/// <summary>The packets every wire benchmark uses, built once with our writer.</summary>
internal static class WirePackets
{
    public static readonly DnsName Www = DnsName.Parse("www.example.com.");
    public static readonly DnsName Cdn = DnsName.Parse("www.example.com.cdn.example.net.");

    /// <summary>A typical query: www.example.com A, EDNS (1232, DO) with a client cookie.</summary>
    public static DnsMessage Query()
    {
        var q = DnsMessage.CreateQuery(0x1234, Www, RRType.A, dnssecOk: true);
        q.Edns!.Options.Add(new CookieOption([1, 2, 3, 4, 5, 6, 7, 8]));
        return q;
    }

    /// <summary>The typical 3-answer response: a CNAME and two A records, with EDNS.</summary>
    public static DnsMessage Response()
    {
        var r = Query().CreateResponse();
        r.Set(HeaderFlags.RA);
        r.Answers.Add(new ResourceRecord(Www, 300, NameData.Cname(Cdn)));
        r.Answers.Add(new ResourceRecord(Cdn, 60, new AddressData(IPAddress.Parse("192.0.2.10"))));
        r.Answers.Add(new ResourceRecord(Cdn, 60, new AddressData(IPAddress.Parse("192.0.2.11"))));
        return r;
    }
}

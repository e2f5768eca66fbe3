using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Resolver.Conductor;

/// <summary>
/// What makes two upstream queries the same for deduplication: the server, the question (name compared without
/// regard to case), the DO, CD and RD bits, the transport asked for and the zone cut.
/// </summary>
internal readonly record struct QueryKey(
    IPEndPoint Server, DnsName Name, RRType Type, RRClass Class, bool DnssecOk, bool CheckingDisabled, bool RecursionDesired,
    UpstreamTransport Transport, DnsName ZoneCut)
{
    public static QueryKey From(ExchangeRequest request)
    {
        var q = request.Query;
        var question = q.Question;
        return new QueryKey(request.Server, question.Name, question.Type, question.Class, q.Edns?.DnssecOk ?? false,
            q.Has(HeaderFlags.CD), q.Has(HeaderFlags.RD), request.Transport, request.ZoneCut);
    }
}

using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Iteration;

/// <summary>
/// Scrubbing rules: a server asked as the authority for zone cut Z may only speak about names at or below Z
/// (RFC 2181 §5.4.1 and the "bailiwick" rule resolvers adopted against cache poisoning).
/// </summary>
public static class Bailiwick
{
    public static bool Contains(DnsName zoneCut, DnsName name) => name.IsSubdomainOf(zoneCut);

    /// <summary>
    /// The response answers the question asked: one question, same name (ignoring case), type and class, and it is
    /// a response to a standard query.
    /// </summary>
    public static bool QuestionMatches(DnsMessage response, Question asked)
    {
        if (!response.IsResponse || response.Opcode != Opcode.Query || response.Questions.Count != 1) return false;
        var q = response.Questions[0];
        return q.Type == asked.Type && q.Class == asked.Class && q.Name.Equals(asked.Name);
    }

    /// <summary>The in-bailiwick SOA in the authority section that can prove a negative answer for <paramref name="name"/>.</summary>
    public static ResourceRecord? FindSoa(DnsMessage response, DnsName zoneCut, DnsName name, out bool foreignSoa)
    {
        foreignSoa = false;
        foreach (var rr in response.Authority)
        {
            if (rr.Type != RRType.SOA) continue;
            if (Contains(zoneCut, rr.Name) && name.IsSubdomainOf(rr.Name)) return rr;
            foreignSoa = true;
        }
        return null;
    }
}

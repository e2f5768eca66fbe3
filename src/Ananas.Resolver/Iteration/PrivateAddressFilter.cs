using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Iteration;

/// <summary>
/// DNS-rebinding protection (Unbound <c>private-address</c> / <c>private-domain</c>): records in an upstream response
/// that carry an address inside one of the configured prefixes are removed, unless their owner is at or below one of
/// the exempt private domains. A and AAAA records are checked by address, SVCB and HTTPS by their ipv4hint/ipv6hint
/// parameters. As in Unbound's scrubber, only the offending records go: the rest of the RRset stays, and an answer
/// left without records is then handled as whatever the remaining message says (typically NODATA).
/// </summary>
public static class PrivateAddressFilter
{
    /// <summary>Removes private-address records from every section of <paramref name="message"/>; returns how many.</summary>
    public static int Scrub(DnsMessage message, IReadOnlyList<IPNetwork> prefixes, IReadOnlyList<DnsName> exemptDomains)
    {
        if (prefixes.Count == 0) return 0;
        return Scrub(message.Answers, prefixes, exemptDomains)
            + Scrub(message.Authority, prefixes, exemptDomains)
            + Scrub(message.Additional, prefixes, exemptDomains);
    }

    private static int Scrub(List<ResourceRecord> records, IReadOnlyList<IPNetwork> prefixes, IReadOnlyList<DnsName> exempt) =>
        records.RemoveAll(r => IsPrivate(r, prefixes) && !IsExempt(r.Name, exempt));

    /// <summary>True when the record carries an address inside one of <paramref name="prefixes"/>.</summary>
    public static bool IsPrivate(ResourceRecord record, IReadOnlyList<IPNetwork> prefixes)
    {
        switch (record.Data)
        {
            case AddressData a:
                return InAny(a.Address, prefixes);
            case SvcbData svcb:
                foreach (var h in svcb.Ipv4Hints) if (InAny(h, prefixes)) return true;
                foreach (var h in svcb.Ipv6Hints) if (InAny(h, prefixes)) return true;
                return false;
            default:
                return false;
        }
    }

    private static bool InAny(IPAddress address, IReadOnlyList<IPNetwork> prefixes)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        foreach (var p in prefixes)
            if (p.BaseAddress.AddressFamily == address.AddressFamily && p.Contains(address)) return true;
        return false;
    }

    private static bool IsExempt(DnsName owner, IReadOnlyList<DnsName> exempt)
    {
        foreach (var d in exempt) if (owner.IsSubdomainOf(d)) return true;
        return false;
    }
}

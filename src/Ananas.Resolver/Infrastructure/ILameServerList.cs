using System.Net;
using Ananas.Dns;

namespace Ananas.Resolver.Infrastructure;

/// <summary>Why a server was found unfit to answer for a zone.</summary>
public enum Lameness : byte
{
    /// <summary>Not authoritative for the zone: referred sideways or upwards, or sent another zone's SOA.</summary>
    Lame,

    /// <summary>Refused the query.</summary>
    Refused,

    /// <summary>Answers only recursively (RA without AA) and had nothing authoritative to say.</summary>
    RecursionLame,

    /// <summary>Sent data that failed DNSSEC validation (held off while the zone's other servers are asked).</summary>
    Bogus,
}

/// <summary>
/// Remembers servers found lame for a zone so that they are avoided for a while. A small piece of the
/// infrastructure cache, which will later hold RTTs and EDNS capabilities as well.
/// </summary>
public interface ILameServerList
{
    bool IsLame(IPAddress server, DnsName zone);

    void MarkLame(IPAddress server, DnsName zone, Lameness reason);
}

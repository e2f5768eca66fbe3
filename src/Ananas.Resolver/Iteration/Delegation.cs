using System.Net;
using Ananas.Dns;

namespace Ananas.Resolver.Iteration;

/// <summary>Where a delegation came from; decides whether its addresses are trusted configuration.</summary>
public enum DelegationSource : byte
{
    RootHints,
    Cache,
    Referral,
    StubZone,
    ForwardZone,
}

/// <summary>One name server of a delegation, with the addresses known for it so far.</summary>
public sealed class NameServer(DnsName? name, List<IPEndPoint> addresses)
{
    /// <summary>The NS target; null for address-only servers (stub and forward zones).</summary>
    public DnsName? Name { get; } = name;

    public List<IPEndPoint> Addresses { get; } = addresses;

    /// <summary>True once an address lookup was made for it (so it is not repeated for this delegation).</summary>
    public bool AddressesResolved { get; set; }
}

/// <summary>A zone cut and the servers that answer for the zone below it.</summary>
public sealed class Delegation(DnsName zoneCut, DelegationSource source, List<NameServer> nameServers)
{
    public DnsName ZoneCut { get; } = zoneCut;

    public DelegationSource Source { get; } = source;

    public List<NameServer> NameServers { get; } = nameServers;

    /// <summary>Configured addresses (hints, stubs, forwarders) may be loopback; learnt ones may not, by default.</summary>
    public bool IsConfigured => Source is DelegationSource.RootHints or DelegationSource.StubZone or DelegationSource.ForwardZone;

    public bool IsForwarding => Source == DelegationSource.ForwardZone;

    /// <summary>
    /// What these servers may answer for: their zone. A forwarder recurses for us but is trusted only for its forward
    /// zone: records it sends for names outside it are dropped (MaginotDNS, USENIX Security 2023), and a CNAME
    /// leaving the zone is followed by our own resolution.
    /// </summary>
    public DnsName Bailiwick => ZoneCut;

    /// <summary>Servers asked over DNS-over-TLS, with their certificate names (forwarders configured with <c>tls://</c>); null: none.</summary>
    public IReadOnlyDictionary<IPEndPoint, string>? TlsNames { get; private init; }

    public static Delegation FromAddresses(DnsName zoneCut, DelegationSource source, IReadOnlyList<IPEndPoint> servers,
        IReadOnlyDictionary<IPEndPoint, string>? tlsNames = null)
    {
        var list = new List<NameServer>(servers.Count);
        foreach (var server in servers) list.Add(new NameServer(null, [server]) { AddressesResolved = true });
        return new Delegation(zoneCut, source, list) { TlsNames = tlsNames is { Count: > 0 } ? tlsNames : null };
    }

    public override string ToString() => $"{ZoneCut} ({Source}, {NameServers.Count} servers)";
}

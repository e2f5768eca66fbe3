using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver;
using Ananas.Resolver.Dnssec;

namespace Ananas.Server.WarmUp;

/// <summary>
/// The warm-up's upstream: a signed hierarchy held in memory and answered like authoritative servers would, so that a
/// resolution from the root through a referral, a DS, a DNSKEY and the answer runs the recursor's real iteration and
/// validation without a packet leaving the process. The root is signed with RSA/SHA-256 (8), the one top-level zone
/// with ECDSA P-256 (13), and its child zones in turn with 8, 13 and Ed25519 (15); every other child has a wildcard,
/// the rest deny with NXDOMAIN. Keys are made at construction and thrown away with the instance. Every query and
/// response crosses the wire format, as with a real exchanger. Thread-safe once built (answering only reads).
/// </summary>
internal sealed class WarmUpAuthority : IExchanger, IDisposable
{
    /// <summary>The top-level zone below the private root: only the warm-up's own recursor ever sees these names.</summary>
    public static readonly DnsName Tld = DnsName.Parse("ananas-warm-up.");

    private static readonly IPAddress RootAddress = IPAddress.Parse("198.51.100.1");
    private static readonly IPAddress TldAddress = IPAddress.Parse("198.51.100.2");
    private static readonly IPAddress ChildAddress = IPAddress.Parse("198.51.100.3");

    private readonly WarmUpKey[] _keys;
    private readonly Dictionary<IPAddress, List<WarmUpZone>> _servers = [];

    /// <param name="children">How many child zones the top-level zone delegates (each a new zone cut for the resolver).</param>
    /// <param name="cancellationToken">Checked between zones: signing them all takes a while on a starved core.</param>
    public WarmUpAuthority(int children, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        _keys = [new WarmUpKey(8), new WarmUpKey(13), new WarmUpKey(15)];
        uint inception = (uint)(now.ToUnixTimeSeconds() - 3600), expiration = (uint)(now.ToUnixTimeSeconds() + 86400);
        var root = NewZone(DnsName.Root, _keys[0], DnsName.Parse("ns.root."), RootAddress);
        var tld = NewZone(Tld, _keys[1], Tld.Prepend("ns"), TldAddress);
        root.Delegate(tld, tld.Origin.Prepend("ns"), TldAddress);
        var leaves = new List<WarmUpZone>(children);
        for (int i = 0; i < children; i++)
        {
            var leaf = NewZone(Tld.Prepend("z" + i), _keys[i % 3], Tld.Prepend("z" + i).Prepend("ns"), ChildAddress);
            leaf.Add(new ResourceRecord(leaf.Origin.Prepend("www"), WarmUpZone.Ttl, new AddressData(IPAddress.Parse("192.0.2.1"))));
            leaf.Add(new ResourceRecord(leaf.Origin.Prepend("alias"), WarmUpZone.Ttl, NameData.Cname(leaf.Origin.Prepend("www"))));
            if (i % 2 == 0)
            {
                leaf.Add(new ResourceRecord(leaf.Origin.Prepend("*"), WarmUpZone.Ttl, new AddressData(IPAddress.Parse("192.0.2.2"))));
                leaf.Add(new ResourceRecord(leaf.Origin.Prepend("*"), WarmUpZone.Ttl, new AddressData(IPAddress.Parse("2001:db8::2"))));
            }
            tld.Delegate(leaf, leaf.Origin.Prepend("ns"), ChildAddress);
            leaves.Add(leaf);
        }
        foreach (var zone in (WarmUpZone[])[root, tld, .. leaves])
        {
            cancellationToken.ThrowIfCancellationRequested();
            zone.Seal(inception, expiration);
        }
        _servers[RootAddress] = [root];
        _servers[TldAddress] = [tld];
        _servers[ChildAddress] = leaves;
        Children = leaves.ConvertAll(z => z.Origin);
        RootDnskey = new ResourceRecord(DnsName.Root, WarmUpZone.Ttl, _keys[0].Dnskey);
    }

    /// <summary>The root hints that lead to this hierarchy.</summary>
    public RootHints Hints => RootHints.Single(DnsName.Parse("ns.root."), RootAddress);

    /// <summary>The root key, as the trust anchor of a recursor that resolves against this hierarchy.</summary>
    public ResourceRecord RootDnskey { get; }

    public IReadOnlyList<DnsName> Children { get; }

    /// <summary>Whether <paramref name="children"/> has a wildcard (the even ones): a new name under it is answered, not denied.</summary>
    public static bool HasWildcard(int child) => child % 2 == 0;

    private static WarmUpZone NewZone(DnsName origin, WarmUpKey key, DnsName server, IPAddress address)
    {
        var zone = new WarmUpZone(origin, key);
        zone.Add(RecordText.Parse($"{origin} {WarmUpZone.Ttl} IN SOA {server} hostmaster.{server} 1 7200 3600 1209600 300", origin));
        zone.Add(new ResourceRecord(origin, WarmUpZone.Ttl, NameData.Ns(server)));
        zone.Add(new ResourceRecord(server, WarmUpZone.Ttl, new AddressData(address)));
        return zone;
    }

    public ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken)
    {
        if (!_servers.TryGetValue(request.Server.Address, out var zones))
            return ValueTask.FromResult(ExchangeResult.Failed(ExchangeStatus.NetworkError, request.Transport));
        var query = DnsMessage.Parse(request.Query.ToArray());
        var response = Answer(query, zones);
        return ValueTask.FromResult(ExchangeResult.Ok(DnsMessage.Parse(response.ToArray()), TimeSpan.FromMilliseconds(1), request.Transport));
    }

    private static DnsMessage Answer(DnsMessage query, List<WarmUpZone> zones)
    {
        var q = query.Question;
        var name = q.Name;
        WarmUpZone? zone = null;
        foreach (var z in zones)
            if (name.IsSubdomainOf(z.Origin) && (zone is null || z.Origin.LabelCount > zone.Origin.LabelCount)) zone = z;
        if (zone is null) return query.CreateResponse(Rcode.Refused);
        bool dnssec = query.Edns?.DnssecOk == true;
        var response = query.CreateResponse();
        if (zone.CutAbove(name) is { } cut && !(cut.Equals(name) && q.Type == RRType.DS))
        {
            var ns = zone.DelegationNs(cut);
            response.Authority.AddRange(ns);
            if (dnssec) Add(response.Authority, zone.Find(cut, RRType.DS)!, dnssec);
            response.Additional.AddRange(zone.GlueFor(ns));
            return response;
        }
        response.Set(HeaderFlags.AA);
        if (zone.Find(name, q.Type) is { } rrset)
        {
            Add(response.Answers, rrset, dnssec);
            if (q.Type == RRType.NS)
                foreach (var server in rrset.Records)
                    if (zone.Find(((NameData)server.Data).Target, RRType.A) is { } address) Add(response.Additional, address, dnssec);
            return response;
        }
        if (zone.Find(name, RRType.CNAME) is { } cname)
        {
            Add(response.Answers, cname, dnssec);
            if (zone.Find(((NameData)cname.Records[0].Data).Target, q.Type) is { } target) Add(response.Answers, target, dnssec);
            return response;
        }
        var soa = zone.Find(zone.Origin, RRType.SOA)!;
        if (zone.Exists(name))
        {
            Add(response.Authority, soa, dnssec);
            if (dnssec) Add(response.Authority, zone.Find(name, RRType.NSEC)!, dnssec);
            return response;
        }
        // The closest encloser is the name's parent in these zones (every name asked is one label below an apex).
        var wildcard = name.GetAncestor(name.LabelCount - 1).Prepend("*");
        var covering = zone.Covering(name);
        if (zone.Exists(wildcard))
        {
            if (zone.Find(wildcard, q.Type) is { } synthesised)
            {
                foreach (var record in synthesised.Records) response.Answers.Add(record with { Name = name });
                if (dnssec) response.Answers.Add(synthesised.Rrsig! with { Name = name });
            }
            else
            {
                Add(response.Authority, soa, dnssec);
                if (dnssec) Add(response.Authority, zone.Find(wildcard, RRType.NSEC)!, dnssec);
            }
            if (dnssec) Add(response.Authority, covering, dnssec);
            return response;
        }
        response.Rcode = Rcode.NXDomain;
        Add(response.Authority, soa, dnssec);
        if (dnssec)
        {
            Add(response.Authority, covering, dnssec);
            var wildcardCover = zone.Covering(wildcard);
            if (!ReferenceEquals(wildcardCover, covering)) Add(response.Authority, wildcardCover, dnssec);
        }
        return response;
    }

    private static void Add(List<ResourceRecord> section, WarmUpZone.SignedRRset rrset, bool dnssec)
    {
        section.AddRange(rrset.Records);
        if (dnssec && rrset.Rrsig is { } rrsig) section.Add(rrsig);
    }

    public void Dispose()
    {
        foreach (var key in _keys) key.Dispose();
    }
}

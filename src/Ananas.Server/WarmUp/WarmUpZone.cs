using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Server.WarmUp;

/// <summary>
/// One signed zone of the warm-up's in-memory hierarchy: its RRsets with their RRSIGs, its delegations (NS, DS and
/// glue) and an NSEC chain over its names, all made once when the zone is sealed, so answering signs nothing.
/// </summary>
internal sealed class WarmUpZone(DnsName origin, WarmUpKey key)
{
    public const uint Ttl = 3600;

    private readonly Dictionary<DnsName, Dictionary<RRType, SignedRRset>> _names = [];
    private readonly Dictionary<DnsName, List<ResourceRecord>> _delegations = [];
    private readonly List<ResourceRecord> _glue = [];
    private readonly List<(DnsName Owner, SignedRRset Nsec)> _chain = [];

    public DnsName Origin { get; } = origin;

    public WarmUpKey Key { get; } = key;

    /// <summary>An RRset and its signature (null for delegation NS RRsets and glue, which are not signed).</summary>
    public sealed record SignedRRset(List<ResourceRecord> Records, ResourceRecord? Rrsig);

    public void Add(ResourceRecord record)
    {
        if (!_names.TryGetValue(record.Name, out var types)) _names[record.Name] = types = [];
        if (!types.TryGetValue(record.Type, out var rrset)) types[record.Type] = rrset = new SignedRRset([], null);
        rrset.Records.Add(record);
    }

    /// <summary>Delegates <paramref name="child"/> to <paramref name="server"/> (in-bailiwick glue) with a DS for its key.</summary>
    public void Delegate(WarmUpZone child, DnsName server, System.Net.IPAddress address)
    {
        _delegations[child.Origin] = [new ResourceRecord(child.Origin, Ttl, NameData.Ns(server))];
        _glue.Add(new ResourceRecord(server, Ttl, new AddressData(address)));
        var digest = Resolver.Dnssec.DsMatcher.ComputeDigest(child.Origin, child.Key.Dnskey, 2)!;
        Add(new ResourceRecord(child.Origin, Ttl, new DsData(child.Key.Dnskey.KeyTag, child.Key.Algorithm, 2, digest)));
    }

    /// <summary>Adds the apex DNSKEY and the NSEC chain, then signs every authoritative RRset.</summary>
    public void Seal(uint inception, uint expiration)
    {
        Add(new ResourceRecord(Origin, Ttl, Key.Dnskey));
        var owners = new List<DnsName>(_names.Keys);
        foreach (var cut in _delegations.Keys) if (!_names.ContainsKey(cut)) owners.Add(cut);
        owners.Sort();
        for (int i = 0; i < owners.Count; i++)
        {
            var owner = owners[i];
            var types = new List<RRType> { RRType.NSEC, RRType.RRSIG };
            if (_names.TryGetValue(owner, out var present)) types.AddRange(present.Keys);
            if (_delegations.ContainsKey(owner)) types.Add(RRType.NS);
            Add(new ResourceRecord(owner, Ttl, new NsecData(owners[(i + 1) % owners.Count], TypeBitmap.FromTypes(types))));
        }
        foreach (var (owner, types) in _names)
            foreach (var type in types.Keys.ToList())
                types[type] = types[type] with { Rrsig = Key.Sign(types[type].Records, Origin, inception, expiration) };
        foreach (var owner in owners) _chain.Add((owner, _names[owner][RRType.NSEC]));
    }

    /// <summary>The delegation at or above <paramref name="name"/> inside this zone, if any (the closest to the apex).</summary>
    public DnsName? CutAbove(DnsName name)
    {
        for (int labels = Origin.LabelCount + 1; labels <= name.LabelCount; labels++)
        {
            var cut = name.GetAncestor(labels);
            if (_delegations.ContainsKey(cut)) return cut;
        }
        return null;
    }

    public List<ResourceRecord> DelegationNs(DnsName cut) => _delegations[cut];

    public IEnumerable<ResourceRecord> GlueFor(List<ResourceRecord> ns)
    {
        foreach (var record in _glue)
            foreach (var server in ns)
                if (record.Name.Equals(((NameData)server.Data).Target)) yield return record;
    }

    public SignedRRset? Find(DnsName owner, RRType type) =>
        _names.TryGetValue(owner, out var types) && types.TryGetValue(type, out var rrset) ? rrset : null;

    public bool Exists(DnsName owner) => _names.ContainsKey(owner);

    /// <summary>The NSEC whose owner comes before <paramref name="name"/> in canonical order (or is it): it covers or matches the name.</summary>
    public SignedRRset Covering(DnsName name)
    {
        int low = 0, high = _chain.Count - 1, found = _chain.Count - 1; // before the first name: the last NSEC wraps round to the apex
        while (low <= high)
        {
            int middle = (low + high) / 2;
            if (_chain[middle].Owner.CompareTo(name) <= 0)
            {
                found = middle;
                low = middle + 1;
            }
            else high = middle - 1;
        }
        return _chain[found].Nsec;
    }
}

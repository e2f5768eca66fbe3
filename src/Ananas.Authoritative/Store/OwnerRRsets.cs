using Ananas.Dns;

namespace Ananas.Authoritative.Store;

/// <summary>
/// One owner name's RRsets as a node value holds them: by type in ascending order, each with the TTL of its
/// first record and its distinct RDATA in arrival order (a repeated record collapses). Both the whole-zone
/// build and the incremental patch normalize an owner's data through this, so they store the same bytes.
/// </summary>
public sealed class OwnerRRsets
{
    private readonly SortedDictionary<ushort, (uint Ttl, List<byte[]> Records)> _sets = [];

    /// <summary>RRsets (types) held.</summary>
    public int Count => _sets.Count;

    /// <summary>Distinct records over all RRsets.</summary>
    public int RecordCount { get; private set; }

    public void Add(RRType type, uint ttl, byte[] rdata)
    {
        if (!_sets.TryGetValue((ushort)type, out var set)) _sets[(ushort)type] = set = (ttl, []);
        foreach (var existing in set.Records)
        {
            if (existing.AsSpan().SequenceEqual(rdata)) return;
        }
        set.Records.Add(rdata);
        RecordCount++;
    }

    public void AddAll(IReadOnlyList<StoredRRset> rrsets)
    {
        foreach (var rrset in rrsets)
        {
            foreach (var rdata in rrset.Records) Add(rrset.Type, rrset.Ttl, rdata);
        }
    }

    public bool Has(RRType type) => _sets.ContainsKey((ushort)type);

    /// <summary>The RRset's TTL and first record (the SOA of a zone row).</summary>
    public bool TryGetFirst(RRType type, out uint ttl, out byte[] rdata)
    {
        if (_sets.TryGetValue((ushort)type, out var set))
        {
            ttl = set.Ttl;
            rdata = set.Records[0];
            return true;
        }
        ttl = 0;
        rdata = [];
        return false;
    }

    public List<StoredRRset> ToList()
    {
        var list = new List<StoredRRset>(_sets.Count);
        foreach (var (type, set) in _sets) list.Add(new StoredRRset((RRType)type, set.Ttl, set.Records));
        return list;
    }
}

using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Cache;

/// <summary>
/// A resource record set (RFC 2181 §5): records sharing owner, class and type, with one TTL (the smallest of
/// its members). The owner keeps the letter case it arrived with.
/// </summary>
public sealed class RRset
{
    public RRset(DnsName name, RRType type, RRClass @class, uint ttl, IReadOnlyList<RData> data)
    {
        Name = name;
        Type = type;
        Class = @class;
        Ttl = ttl;
        Data = data;
    }

    public DnsName Name { get; }
    public RRType Type { get; }
    public RRClass Class { get; }
    public uint Ttl { get; }
    public IReadOnlyList<RData> Data { get; }

    /// <summary>
    /// Collects the records of <paramref name="records"/> with this owner and type into one RRset, dropping
    /// duplicates; null when there are none.
    /// </summary>
    public static RRset? Collect(IReadOnlyList<ResourceRecord> records, DnsName name, RRType type, RRClass @class = RRClass.IN)
    {
        List<RData>? data = null;
        uint ttl = uint.MaxValue;
        DnsName? owner = null;
        for (int i = 0; i < records.Count; i++)
        {
            var rr = records[i];
            if (rr.Type != type || rr.Class != @class || !rr.Name.Equals(name)) continue;
            data ??= [];
            if (!data.Contains(rr.Data)) data.Add(rr.Data);
            owner ??= rr.Name;
            if (rr.Ttl < ttl) ttl = rr.Ttl;
        }
        return data is null ? null : new RRset(owner!, type, @class, ttl, data);
    }

    /// <summary>The same records (RDATA, in any order; TTL ignored) as <paramref name="other"/>: sets hold no duplicates.</summary>
    public bool HasSameData(RRset other)
    {
        if (Data.Count != other.Data.Count) return false;
        for (int i = 0; i < Data.Count; i++)
        {
            bool found = false;
            for (int j = 0; j < other.Data.Count && !found; j++) found = Data[i].Equals(other.Data[j]);
            if (!found) return false;
        }
        return true;
    }

    /// <summary>The records of this set with the given TTL.</summary>
    public void AppendRecords(List<ResourceRecord> destination, uint ttl)
    {
        for (int i = 0; i < Data.Count; i++) destination.Add(new ResourceRecord(Name, Class, ttl, Data[i]));
    }

    public override string ToString() => $"{Name} {Type} ({Data.Count} records, TTL {Ttl})";
}

using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;

namespace Ananas.Resolver.Tests.Fakes;

/// <summary>A zone held in memory: its origin and records (written as zone-file lines relative to the origin).</summary>
public sealed class FakeZone
{
    public FakeZone(string origin, params string[] lines)
    {
        Origin = DnsName.Parse(origin);
        foreach (var line in lines) Records.Add(RecordText.Parse(line, Origin, 300));
    }

    public DnsName Origin { get; }

    public List<ResourceRecord> Records { get; } = [];

    public ResourceRecord? Soa => Records.Find(r => r.Type == RRType.SOA && r.Name.Equals(Origin));

    public List<ResourceRecord> At(DnsName name, RRType type) => Records.FindAll(r => r.Name.Equals(name) && (type == RRType.ANY || r.Type == type));

    /// <summary>True when the name owns records or has descendants (an empty non-terminal exists too).</summary>
    public bool Exists(DnsName name) => Records.Exists(r => r.Name.IsSubdomainOf(name));
}

using System.Net;
using Ananas.Authoritative.Changes;
using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Records;
using LightningDB;

namespace Ananas.Authoritative.Tests;

/// <summary>A zone's records by owner, as the pipeline's database holds them, and the changes the transformer makes of them.</summary>
internal sealed class ZoneModel
{
    public ZoneModel(string apex = "Example.TEST.")
    {
        Apex = DnsName.Parse(apex);
        Owners["@"] = ApexRecords(1);
    }

    public DnsName Apex { get; }

    public Dictionary<string, List<ResourceRecord>> Owners { get; } = new(StringComparer.OrdinalIgnoreCase);

    public DnsName Owner(string relative) => relative == "@" ? Apex : DnsName.Parse($"{relative}.{Apex}");

    public List<ResourceRecord> ApexRecords(uint serial) =>
    [
        new(Apex, 3600, new SoaData(DnsName.Parse("ns.example.test."), DnsName.Parse("h.example.test."), serial, 7200, 3600, 1209600, 300)),
        new(Apex, 3600, NameData.Ns(DnsName.Parse("ns.example.test."))),
    ];

    public void SetTxt(string owner, string text) => Owners[owner] = [new ResourceRecord(Owner(owner), 300, new TxtData(text))];

    public void SetA(string owner, string address) => Owners[owner] = [new ResourceRecord(Owner(owner), 300, new AddressData(IPAddress.Parse(address)))];

    /// <summary>The touched owners' complete data as the transformer sends it: each record its own RRset entry (the store merges).</summary>
    public List<EdgeNode> Nodes(IEnumerable<string> owners)
    {
        var nodes = new List<EdgeNode>();
        foreach (var name in owners)
        {
            var sets = Owners.TryGetValue(name, out var records) ? records.Select(r => new StoredRRset(r.Type, r.Ttl, [r.Data.ToWire()])).ToList() : [];
            nodes.Add(new EdgeNode(Owner(name), sets));
        }
        return nodes;
    }

    public EdgeChange Replace(long sequence) => new(sequence, EdgeChangeKind.ReplaceZone, Apex, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Nodes(Owners.Keys));

    public EdgeChange Set(long sequence, params string[] owners) => new(sequence, EdgeChangeKind.SetNodes, Apex, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Nodes(owners));

    public ZoneImage Image() => ZoneImage.Build(Apex, Owners.Values.SelectMany(r => r));
}

/// <summary>An edge store in a temp directory, deleted on dispose.</summary>
internal sealed class TempStore : IDisposable
{
    private readonly string _directory = StoreFixture.TempDirectory();

    public TempStore() => Store = new EdgeStore(_directory, 64L << 20);

    public EdgeStore Store { get; }

    public void Dispose()
    {
        Store.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Every key and value of the nodes and zones tables and of the meta keys a whole-zone write also has (not the counters).</summary>
    public static List<string> Dump(EdgeStore store)
    {
        var entries = new List<string>();
        using var txn = store.BeginRead();
        foreach (var (name, db) in new[] { ("meta", store.Meta), ("zones", store.Zones), ("nodes", store.Nodes) })
        {
            using var cursor = txn.CreateCursor(db);
            var (code, _, _) = cursor.First();
            while (code == MDBResultCode.Success)
            {
                var (_, key, value) = cursor.GetCurrent();
                var k = key.AsSpan();
                bool counter = name == "meta" && (k.SequenceEqual(EdgeStore.GenerationKey) || k.SequenceEqual(EdgeChangeApplier.AppliedSequenceKey));
                if (!counter) entries.Add($"{name} {Convert.ToHexString(k)} = {Convert.ToHexString(value.AsSpan())}");
                (code, _, _) = cursor.Next();
            }
        }
        return entries;
    }

    public static void AssertSameTables(EdgeStore expected, EdgeStore actual, string context)
    {
        var want = Dump(expected);
        var got = Dump(actual);
        var missing = want.Except(got).Take(3).ToList();
        var extra = got.Except(want).Take(3).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0 && want.Count == got.Count,
            $"{context}: {want.Count} entries expected, {got.Count} found\nmissing: {string.Join("\n  ", missing)}\nextra: {string.Join("\n  ", extra)}");
    }
}

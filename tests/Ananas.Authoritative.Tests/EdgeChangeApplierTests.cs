using System.Net;
using Ananas.Authoritative.Changes;
using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Records;
using LightningDB;

namespace Ananas.Authoritative.Tests;

public sealed class EdgeChangeApplierTests
{
    private static readonly DnsName Apex = DnsName.Parse("Example.TEST.");

    // Names that exercise every invariant: deep names and their empty non-terminals, wildcards (with data, as an
    // empty non-terminal, below another name), a delegation with glue and names under it, a DNAME with names
    // under it, mixed case, and labels holding the octets the key encoding escapes.
    private static readonly string[] Pool =
    [
        "@", "a", "b.a", "c.b.a", "d.c.b.a", "e.d.c.b.a", "*", "*.a", "x.*.a", "*.b.a", "*.*.b.a", "del", "ns.del", "x.ns.del",
        "*.del", "dn", "q.dn", "r.q.dn", "MiXeD.a", "mixed.b.a", "\\000.a", "\\001x.a", "\\002.a", "z", "y.z", "deep.er.still.z", "*.z",
        "sub.del", "w.sub.del", "m",
    ];

    [Fact]
    public void Random_incremental_changes_leave_the_store_byte_identical_to_a_whole_zone_build_of_the_same_records()
    {
        for (int seed = 1; seed <= 24; seed++)
        {
            var random = new Random(seed);
            using var edge = new TempStore();
            using var reference = new TempStore();
            var zone = new Dictionary<string, List<ResourceRecord>>(StringComparer.OrdinalIgnoreCase) { ["@"] = ApexRecords(1) };
            long sequence = 1;
            Assert.True(EdgeChangeApplier.Apply(edge.Store, new EdgeChange(sequence, EdgeChangeKind.ReplaceZone, Apex, 0, Nodes(zone, zone.Keys))));
            for (int step = 0; step < 40; step++)
            {
                var touched = new List<string>();
                int count = random.Next(1, 5);
                for (int i = 0; i < count; i++)
                {
                    var name = Pool[random.Next(Pool.Length)];
                    zone[name] = name == "@" ? [.. ApexRecords((uint)step + 2), .. RandomRecords(random, Owner(name), apex: true)] : RandomRecords(random, Owner(name), apex: false);
                    touched.Add(name);
                }
                Assert.True(EdgeChangeApplier.Apply(edge.Store, new EdgeChange(++sequence, EdgeChangeKind.SetNodes, Apex, 0, Nodes(zone, touched))));
                ZoneWriter.Replace(reference.Store, [ZoneImage.Build(Apex, zone.Values.SelectMany(r => r))]);
                AssertSameTables(reference.Store, edge.Store, $"seed {seed}, step {step}, touched {string.Join(' ', touched)}");
            }
            Assert.Equal(sequence, EdgeChangeApplier.AppliedSequence(edge.Store));
        }
    }

    [Fact]
    public void A_change_that_removes_a_delegation_rewrites_the_ancestor_flags_of_every_name_below_it()
    {
        using var edge = new TempStore();
        var zone = new Dictionary<string, List<ResourceRecord>>(StringComparer.OrdinalIgnoreCase)
        {
            ["@"] = ApexRecords(1),
            ["del"] = [new ResourceRecord(Owner("del"), 300, NameData.Ns(DnsName.Parse("ns.del.example.test.")))],
            ["ns.del"] = [new ResourceRecord(Owner("ns.del"), 300, new AddressData(IPAddress.Parse("192.0.2.1")))],
            ["a.b.del"] = [new ResourceRecord(Owner("a.b.del"), 300, new AddressData(IPAddress.Parse("192.0.2.2")))],
        };
        EdgeChangeApplier.Apply(edge.Store, new EdgeChange(1, EdgeChangeKind.ReplaceZone, Apex, 0, Nodes(zone, zone.Keys)));
        Assert.Equal((byte)(NodeFlags.Cut | NodeFlags.HasData), Chain(edge.Store, "a.b.del")![1]);
        zone["del"] = [new ResourceRecord(Owner("del"), 300, new TxtData("no longer a cut"))];
        EdgeChangeApplier.Apply(edge.Store, new EdgeChange(2, EdgeChangeKind.SetNodes, Apex, 0, Nodes(zone, ["del"])));
        Assert.Equal((byte)NodeFlags.HasData, Chain(edge.Store, "a.b.del")![1]);
        Assert.Equal((byte)NodeFlags.HasData, Chain(edge.Store, "ns.del")![1]);
    }

    [Fact]
    public void A_replayed_change_is_refused_without_a_write_and_leaves_the_store_as_it_was()
    {
        using var edge = new TempStore();
        var zone = new Dictionary<string, List<ResourceRecord>>(StringComparer.OrdinalIgnoreCase) { ["@"] = ApexRecords(1) };
        Assert.True(EdgeChangeApplier.Apply(edge.Store, new EdgeChange(1, EdgeChangeKind.ReplaceZone, Apex, 0, Nodes(zone, zone.Keys))));
        zone["www"] = [new ResourceRecord(Owner("www"), 300, new AddressData(IPAddress.Parse("192.0.2.80")))];
        var change = new EdgeChange(2, EdgeChangeKind.SetNodes, Apex, 0, Nodes(zone, ["www"]));
        Assert.True(EdgeChangeApplier.Apply(edge.Store, change));
        var before = Dump(edge.Store);
        ulong generation = edge.Store.ReadGeneration();
        Assert.False(EdgeChangeApplier.Apply(edge.Store, change));
        Assert.False(EdgeChangeApplier.Apply(edge.Store, EdgeChange.Decode(change.Encode())));
        Assert.Equal(generation, edge.Store.ReadGeneration());
        Assert.Equal(before, Dump(edge.Store));
        Assert.Equal(2, EdgeChangeApplier.AppliedSequence(edge.Store));
    }

    [Fact]
    public void A_change_older_than_the_applied_sequence_is_refused_even_if_it_was_never_applied()
    {
        using var edge = new TempStore();
        var zone = new Dictionary<string, List<ResourceRecord>>(StringComparer.OrdinalIgnoreCase) { ["@"] = ApexRecords(1) };
        Assert.True(EdgeChangeApplier.Apply(edge.Store, new EdgeChange(10, EdgeChangeKind.ReplaceZone, Apex, 0, Nodes(zone, zone.Keys))));
        zone["late"] = [new ResourceRecord(Owner("late"), 300, new TxtData("late"))];
        Assert.False(EdgeChangeApplier.Apply(edge.Store, new EdgeChange(9, EdgeChangeKind.SetNodes, Apex, 0, Nodes(zone, ["late"]))));
        Assert.Null(Chain(edge.Store, "late"));
        Assert.Equal(10, EdgeChangeApplier.AppliedSequence(edge.Store));
    }

    [Fact]
    public void A_change_that_does_not_fit_the_store_is_refused_whole_with_a_clear_error()
    {
        using var edge = new TempStore();
        var zone = new Dictionary<string, List<ResourceRecord>>(StringComparer.OrdinalIgnoreCase) { ["@"] = ApexRecords(1) };
        EdgeChangeApplier.Apply(edge.Store, new EdgeChange(1, EdgeChangeKind.ReplaceZone, Apex, 0, Nodes(zone, zone.Keys)));
        var before = Dump(edge.Store);
        var www = new EdgeNode(Owner("www"), [new StoredRRset(RRType.A, 300, [[192, 0, 2, 1]])]);
        var noSoa = new EdgeNode(Apex, [new StoredRRset(RRType.NS, 300, [DnsName.Parse("ns.example.test.").Wire.ToArray()])]);
        var outside = new EdgeNode(DnsName.Parse("www.other.test."), [new StoredRRset(RRType.A, 300, [[192, 0, 2, 1]])]);
        var tooMany = new EdgeNode(Owner("big"), [.. Enumerable.Range(1, 300).Select(t => new StoredRRset((RRType)(ushort)(1000 + t), 300, [[1]]))]);
        var cases = new (EdgeChange Change, string Error)[]
        {
            (new EdgeChange(2, EdgeChangeKind.SetNodes, Apex, 0, [www, noSoa]), "no SOA"),
            (new EdgeChange(2, EdgeChangeKind.SetNodes, Apex, 0, [www, outside]), "outside the zone"),
            (new EdgeChange(2, EdgeChangeKind.SetNodes, DnsName.Parse("unknown.test."), 0, [www]), "not in the store"),
            (new EdgeChange(2, EdgeChangeKind.SetNodes, Apex, 0, [www, tooMany]), "RRsets"),
            (new EdgeChange(2, EdgeChangeKind.ReplaceZone, Apex, 0, [www]), "no SOA"),
        };
        foreach (var (change, error) in cases)
        {
            var e = Assert.Throws<InvalidDataException>(() => EdgeChangeApplier.Apply(edge.Store, change));
            Assert.Contains(error, e.Message);
            Assert.Equal(before, Dump(edge.Store));
            Assert.Equal(1, EdgeChangeApplier.AppliedSequence(edge.Store));
        }
    }

    [Fact]
    public void Deleting_a_zone_removes_its_row_and_every_node_with_the_applied_sequence()
    {
        using var edge = new TempStore();
        var zone = new Dictionary<string, List<ResourceRecord>>(StringComparer.OrdinalIgnoreCase)
        {
            ["@"] = ApexRecords(1),
            ["a.b"] = [new ResourceRecord(Owner("a.b"), 300, new TxtData("x"))],
        };
        EdgeChangeApplier.Apply(edge.Store, new EdgeChange(1, EdgeChangeKind.ReplaceZone, Apex, 0, Nodes(zone, zone.Keys)));
        Assert.True(EdgeChangeApplier.Apply(edge.Store, new EdgeChange(2, EdgeChangeKind.DeleteZone, Apex, 0, [])));
        Assert.DoesNotContain(Dump(edge.Store), e => e.StartsWith("nodes") || e.StartsWith("zones"));
        Assert.Equal(2, EdgeChangeApplier.AppliedSequence(edge.Store));
    }

    private static List<ResourceRecord> ApexRecords(uint serial) =>
    [
        new(Apex, 3600, new SoaData(DnsName.Parse("ns.example.test."), DnsName.Parse("h.example.test."), serial, 7200, 3600, 1209600, 300)),
        new(Apex, 3600, NameData.Ns(DnsName.Parse("ns.example.test."))),
    ];

    private static List<ResourceRecord> RandomRecords(Random random, DnsName owner, bool apex)
    {
        var records = new List<ResourceRecord>();
        if (!apex && random.Next(4) == 0) return records; // the owner's data goes
        int count = random.Next(1, 4);
        for (int i = 0; i < count; i++)
        {
            uint ttl = (uint)random.Next(1, 4) * 100;
            RData data = random.Next(8) switch
            {
                0 => new AddressData(IPAddress.Parse($"192.0.2.{random.Next(1, 4)}")),
                1 => new AddressData(IPAddress.Parse($"2001:db8::{random.Next(1, 4)}")),
                2 => new TxtData($"t{random.Next(3)}"),
                3 => NameData.Ns(DnsName.Parse($"ns{random.Next(2)}.example.net.")),
                4 => NameData.Dname(DnsName.Parse($"target{random.Next(2)}.example.net.")),
                5 => new MxData((ushort)random.Next(1, 3), DnsName.Parse("mail.example.net.")),
                6 => NameData.Cname(DnsName.Parse("c.example.net.")),
                _ => new AddressData(IPAddress.Parse("192.0.2.1")), // often a duplicate of an earlier record
            };
            records.Add(new ResourceRecord(owner, ttl, data));
        }
        return records;
    }

    private static DnsName Owner(string relative) => relative == "@" ? Apex : DnsName.Parse(relative + ".example.test.");

    /// <summary>The touched owners' complete data as the transformer sends it: each record its own RRset entry (the store merges).</summary>
    private static List<EdgeNode> Nodes(Dictionary<string, List<ResourceRecord>> zone, IEnumerable<string> owners)
    {
        var nodes = new List<EdgeNode>();
        foreach (var name in owners)
        {
            var sets = zone[name].Select(r => new StoredRRset(r.Type, r.Ttl, [r.Data.ToWire()])).ToList();
            nodes.Add(new EdgeNode(Owner(name), sets));
        }
        return nodes;
    }

    /// <summary>The stored ancestor flags of a name; null when it is not a node.</summary>
    private static byte[]? Chain(EdgeStore store, string name)
    {
        using var txn = store.BeginRead();
        var zone = ZoneIndex.Load(store).Zones.Single();
        var relative = NodeKey.Relative(Owner(name), Apex);
        var key = new byte[NodeKey.PrefixLength + relative.Length];
        NodeKey.WritePrefix(key, zone.Id, NodeKey.NodeKind);
        relative.CopyTo(key, NodeKey.PrefixLength);
        var (code, _, value) = txn.Get(store.Nodes, key);
        if (code != MDBResultCode.Success) return null;
        var view = new NodeView();
        Assert.True(view.Load(value.AsSpan()));
        return view.AncestorFlags.ToArray();
    }

    /// <summary>Every key and value of the nodes and zones tables, and the meta keys a whole-zone write also has.</summary>
    private static List<string> Dump(EdgeStore store)
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

    private static void AssertSameTables(EdgeStore expected, EdgeStore actual, string context)
    {
        var want = Dump(expected);
        var got = Dump(actual);
        var missing = want.Except(got).Take(3).ToList();
        var extra = got.Except(want).Take(3).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0 && want.Count == got.Count,
            $"{context}: {want.Count} entries expected, {got.Count} found\nmissing: {string.Join("\n  ", missing)}\nextra: {string.Join("\n  ", extra)}");
    }

    private sealed class TempStore : IDisposable
    {
        private readonly string _directory = StoreFixture.TempDirectory();

        public TempStore() => Store = new EdgeStore(_directory, 64L << 20);

        public EdgeStore Store { get; }

        public void Dispose()
        {
            Store.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }
}

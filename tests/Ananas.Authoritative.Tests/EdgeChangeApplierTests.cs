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
            var zone = new ZoneModel();
            long sequence = 1;
            Assert.True(EdgeChangeApplier.Apply(edge.Store, zone.Replace(sequence)));
            for (int step = 0; step < 40; step++)
            {
                var touched = new List<string>();
                int count = random.Next(1, 5);
                for (int i = 0; i < count; i++)
                {
                    var name = Pool[random.Next(Pool.Length)];
                    zone.Owners[name] = name == "@" ? [.. zone.ApexRecords((uint)step + 2), .. RandomRecords(random, Owner(name), apex: true)] : RandomRecords(random, Owner(name), apex: false);
                    touched.Add(name);
                }
                Assert.True(EdgeChangeApplier.Apply(edge.Store, zone.Set(++sequence, [.. touched])));
                ZoneWriter.Replace(reference.Store, [zone.Image()]);
                TempStore.AssertSameTables(reference.Store, edge.Store, $"seed {seed}, step {step}, touched {string.Join(' ', touched)}");
            }
            Assert.Equal(sequence, EdgeChangeApplier.AppliedSequence(edge.Store));
        }
    }

    [Fact]
    public void A_change_that_removes_a_delegation_rewrites_the_ancestor_flags_of_every_name_below_it()
    {
        using var edge = new TempStore();
        var zone = new ZoneModel();
        zone.Owners["del"] = [new ResourceRecord(Owner("del"), 300, NameData.Ns(DnsName.Parse("ns.del.example.test.")))];
        zone.SetA("ns.del", "192.0.2.1");
        zone.SetA("a.b.del", "192.0.2.2");
        EdgeChangeApplier.Apply(edge.Store, zone.Replace(1));
        Assert.Equal((byte)(NodeFlags.Cut | NodeFlags.HasData), Chain(edge.Store, "a.b.del")![1]);
        zone.SetTxt("del", "no longer a cut");
        EdgeChangeApplier.Apply(edge.Store, zone.Set(2, "del"));
        Assert.Equal((byte)NodeFlags.HasData, Chain(edge.Store, "a.b.del")![1]);
        Assert.Equal((byte)NodeFlags.HasData, Chain(edge.Store, "ns.del")![1]);
    }

    [Fact]
    public void A_replayed_change_is_refused_without_a_write_and_leaves_the_store_as_it_was()
    {
        using var edge = new TempStore();
        var zone = new ZoneModel();
        Assert.True(EdgeChangeApplier.Apply(edge.Store, zone.Replace(1)));
        zone.SetA("www", "192.0.2.80");
        var change = zone.Set(2, "www");
        Assert.True(EdgeChangeApplier.Apply(edge.Store, change));
        var before = TempStore.Dump(edge.Store);
        ulong generation = edge.Store.ReadGeneration();
        Assert.False(EdgeChangeApplier.Apply(edge.Store, change));
        Assert.False(EdgeChangeApplier.Apply(edge.Store, EdgeChange.Decode(change.Encode())));
        Assert.Equal(generation, edge.Store.ReadGeneration());
        Assert.Equal(before, TempStore.Dump(edge.Store));
        Assert.Equal(2, EdgeChangeApplier.AppliedSequence(edge.Store));
    }

    [Fact]
    public void A_change_older_than_the_applied_sequence_is_refused_even_if_it_was_never_applied()
    {
        using var edge = new TempStore();
        var zone = new ZoneModel();
        Assert.True(EdgeChangeApplier.Apply(edge.Store, zone.Replace(10)));
        zone.SetTxt("late", "late");
        Assert.False(EdgeChangeApplier.Apply(edge.Store, zone.Set(9, "late")));
        Assert.Null(Chain(edge.Store, "late"));
        Assert.Equal(10, EdgeChangeApplier.AppliedSequence(edge.Store));
    }

    [Fact]
    public void A_change_that_does_not_fit_the_store_is_refused_whole_with_a_clear_error()
    {
        using var edge = new TempStore();
        EdgeChangeApplier.Apply(edge.Store, new ZoneModel().Replace(1));
        var before = TempStore.Dump(edge.Store);
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
            Assert.Equal(before, TempStore.Dump(edge.Store));
            Assert.Equal(1, EdgeChangeApplier.AppliedSequence(edge.Store));
        }
    }

    [Fact]
    public void Deleting_a_zone_removes_its_row_and_every_node_with_the_applied_sequence()
    {
        using var edge = new TempStore();
        var zone = new ZoneModel();
        zone.SetTxt("a.b", "x");
        EdgeChangeApplier.Apply(edge.Store, zone.Replace(1));
        Assert.True(EdgeChangeApplier.Apply(edge.Store, new EdgeChange(2, EdgeChangeKind.DeleteZone, Apex, 0, [])));
        Assert.DoesNotContain(TempStore.Dump(edge.Store), e => e.StartsWith("nodes") || e.StartsWith("zones"));
        Assert.Equal(2, EdgeChangeApplier.AppliedSequence(edge.Store));
    }

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
}

using Ananas.Authoritative.Changes;
using Ananas.Dns;
using LightningDB;

namespace Ananas.Authoritative.Store;

/// <summary>One way an edge store differs from what it should hold: the zone, the owner and the type at fault.</summary>
/// <param name="Detail">What differs, e.g. "missing in the store", "records differ", "ancestor flags or previous name differ".</param>
public sealed record StoreDifference(DnsName Zone, DnsName? Owner, string Type, string Detail)
{
    public override string ToString() => $"{Zone} {(Owner is null ? "-" : Owner.ToString())} {Type}: {Detail}";
}

/// <summary>
/// <c>ananas edge verify</c>: an edge store against a fresh whole-zone build of the pipeline's snapshot, every key
/// and value. Each difference is named by zone, owner and RR type (a node whose RRsets agree but whose
/// layout fields do not is reported with the type <c>layout</c>; the zone row with <c>zone-row</c>).
/// </summary>
public static class StoreComparison
{
    public static List<StoreDifference> Compare(EdgeStore store, IEnumerable<EdgeChange> snapshotZones)
    {
        var differences = new List<StoreDifference>();
        var index = ZoneIndex.Load(store);
        var expectedZones = new HashSet<DnsName>();
        using var txn = store.BeginRead();
        foreach (var zone in snapshotZones)
        {
            expectedZones.Add(zone.Apex);
            var image = ZoneImage.Build(zone.Apex, zone.Nodes);
            var entry = index.Find(zone.Apex.ToLowerCase().Wire, out int offset);
            if (entry is null || offset != 0)
            {
                differences.Add(new StoreDifference(zone.Apex, null, "zone", "missing in the store"));
                continue;
            }
            CompareZone(store, txn, entry, image, differences);
        }
        foreach (var entry in index.Zones)
        {
            if (!expectedZones.Contains(entry.Apex)) differences.Add(new StoreDifference(entry.Apex, null, "zone", "in the store but not in the database"));
        }
        return differences;
    }

    private static void CompareZone(EdgeStore store, LightningTransaction txn, ZoneEntry entry, ZoneImage image, List<StoreDifference> differences)
    {
        var actual = new SortedDictionary<byte[], byte[]>(RelativeKeyComparer.Instance);
        byte[]? actualEnd = null;
        var prefix = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(prefix, entry.Id);
        using (var cursor = txn.CreateCursor(store.Nodes))
        {
            var code = cursor.SetRange(prefix);
            while (code == MDBResultCode.Success)
            {
                var (_, key, value) = cursor.GetCurrent();
                var k = key.AsSpan();
                if (!k.StartsWith(prefix)) break;
                if (k.Length > 4 && k[4] == NodeKey.EndKind) actualEnd = value.CopyToNewArray();
                else actual[k[NodeKey.PrefixLength..].ToArray()] = value.CopyToNewArray();
                (code, _, _) = cursor.Next();
            }
        }
        var apex = image.Apex;
        var expectedView = new NodeView();
        var actualView = new NodeView();
        foreach (var (relative, value) in image.Nodes)
        {
            var owner = DnsName.FromWire(NodeKey.ToWire(relative, apex.ToLowerCase().Wire));
            expectedView.Load(value);
            if (!actual.Remove(relative, out var stored))
            {
                foreach (var rrset in expectedView.ToRRsets()) differences.Add(new StoreDifference(apex, owner, RRTypeText.ToText(rrset.Type), "missing in the store"));
                if (expectedView.SetCount == 0) differences.Add(new StoreDifference(apex, owner, "empty-non-terminal", "missing in the store"));
                continue;
            }
            if (stored.AsSpan().SequenceEqual(value)) continue;
            if (!actualView.Load(stored))
            {
                differences.Add(new StoreDifference(apex, owner, "value", "not a valid node value"));
                continue;
            }
            int before = differences.Count;
            CompareRRsets(apex, owner, expectedView.ToRRsets(), actualView.ToRRsets(), differences);
            if (differences.Count == before) differences.Add(new StoreDifference(apex, owner, "layout", "ancestor flags or previous name differ"));
        }
        foreach (var (relative, stored) in actual)
        {
            var owner = DnsName.FromWire(NodeKey.ToWire(relative, apex.ToLowerCase().Wire));
            if (!actualView.Load(stored) || actualView.SetCount == 0)
            {
                differences.Add(new StoreDifference(apex, owner, "empty-non-terminal", "in the store but not in the database"));
                continue;
            }
            foreach (var rrset in actualView.ToRRsets()) differences.Add(new StoreDifference(apex, owner, RRTypeText.ToText(rrset.Type), "in the store but not in the database"));
        }
        if (actualEnd is null || !actualEnd.AsSpan().SequenceEqual(image.EndValue))
            differences.Add(new StoreDifference(apex, null, "layout", "the zone's end key differs"));
        if (entry.SoaTtl != image.SoaTtl || !entry.SoaRdata.AsSpan().SequenceEqual(image.SoaRdata) || entry.Names != image.Nodes.Count || entry.Records != image.RecordCount)
            differences.Add(new StoreDifference(apex, apex, "zone-row", "SOA or name/record counts differ"));
    }

    private static void CompareRRsets(DnsName apex, DnsName owner, List<StoredRRset> expected, List<StoredRRset> actual, List<StoreDifference> differences)
    {
        var byType = actual.ToDictionary(r => r.Type);
        foreach (var want in expected)
        {
            if (!byType.Remove(want.Type, out var got)) differences.Add(new StoreDifference(apex, owner, RRTypeText.ToText(want.Type), "missing in the store"));
            else if (got.Ttl != want.Ttl || got.Records.Count != want.Records.Count || !got.Records.Zip(want.Records).All(p => p.First.AsSpan().SequenceEqual(p.Second)))
                differences.Add(new StoreDifference(apex, owner, RRTypeText.ToText(want.Type), "records or TTL differ"));
        }
        foreach (var extra in byType.Keys) differences.Add(new StoreDifference(apex, owner, RRTypeText.ToText(extra), "in the store but not in the database"));
    }
}

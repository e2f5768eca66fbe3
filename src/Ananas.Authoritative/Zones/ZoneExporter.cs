using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Wire;
using LightningDB;

namespace Ananas.Authoritative.Zones;

/// <summary><c>ananas auth export</c>: a zone from the store back as a zone file (names in canonical order, apex first).</summary>
public static class ZoneExporter
{
    /// <returns>False when the store holds no such zone.</returns>
    public static bool Export(EdgeStore store, DnsName apex, TextWriter output)
    {
        var zones = ZoneIndex.Load(store);
        var lower = apex.ToLowerCase().Wire;
        var zone = zones.Find(lower, out int offset);
        if (zone is null || offset != 0) return false;
        output.WriteLine($"$ORIGIN {zone.Apex}");
        using var txn = store.BeginRead();
        using var cursor = txn.CreateCursor(store.Nodes);
        var prefix = new byte[NodeKey.PrefixLength];
        NodeKey.WritePrefix(prefix, zone.Id, NodeKey.NodeKind);
        var view = new NodeView();
        var code = cursor.SetRange(prefix);
        while (code == MDBResultCode.Success)
        {
            var (_, key, value) = cursor.GetCurrent();
            var k = key.AsSpan();
            if (!k.StartsWith(prefix)) break;
            if (!view.Load(value.AsSpan())) throw new InvalidDataException($"zone {zone.Apex}: a stored value is corrupt");
            var owner = DnsName.FromWire(NodeKey.ToWire(k[NodeKey.PrefixLength..], zone.Apex.Wire));
            for (int i = 0; i < view.SetCount; i++)
            {
                var set = view.Set(i);
                for (int j = 0; j < set.Count; j++)
                {
                    var rdata = view.Record(set.First + j);
                    var reader = new WireReader(rdata);
                    var data = RData.Read(set.Type, ref reader, rdata.Length);
                    output.WriteLine(new ResourceRecord(owner, set.Ttl, data).ToString());
                }
            }
            (code, _, _) = cursor.Next();
        }
        return true;
    }
}

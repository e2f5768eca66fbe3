using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Wire;
using LightningDB;

namespace Ananas.Authoritative.Store;

/// <summary>
/// One zone as one LMDB read transaction sees it: its row (the SOA) and every record, so that a zone transfer or
/// an export is the zone entirely before or entirely after a concurrent write, never a mix. Dispose it soon: an
/// open read transaction keeps the pages it sees from being reused by writers.
/// </summary>
public sealed class ZoneSnapshot : IDisposable
{
    private readonly EdgeStore _store;
    private readonly LightningTransaction _txn;

    private ZoneSnapshot(EdgeStore store, LightningTransaction txn, ZoneEntry zone)
    {
        _store = store;
        _txn = txn;
        Zone = zone;
    }

    public ZoneEntry Zone { get; }

    /// <summary>The SOA serial of this snapshot.</summary>
    public uint Serial => Zone.Serial;

    /// <summary>Opens the zone whose apex is <paramref name="apex"/>; null when the store holds no such zone.</summary>
    public static ZoneSnapshot? Open(EdgeStore store, DnsName apex)
    {
        var txn = store.BeginRead();
        try
        {
            var (code, _, value) = txn.Get(store.Zones, apex.ToLowerCase().Wire);
            if (code != MDBResultCode.Success)
            {
                txn.Dispose();
                return null;
            }
            return new ZoneSnapshot(store, txn, ZoneEntry.Decode(value.CopyToNewArray()));
        }
        catch
        {
            txn.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Every record of the zone: names in canonical order (RFC 4034 §6.1; the apex first), each name's RRsets in
    /// type order. Throws <see cref="InvalidDataException"/> for a corrupt value.
    /// </summary>
    public IEnumerable<ResourceRecord> Records()
    {
        using var cursor = _txn.CreateCursor(_store.Nodes);
        var prefix = new byte[NodeKey.PrefixLength];
        NodeKey.WritePrefix(prefix, Zone.Id, NodeKey.NodeKind);
        var view = new NodeView();
        var code = cursor.SetRange(prefix);
        while (code == MDBResultCode.Success)
        {
            var (_, key, value) = cursor.GetCurrent();
            var k = key.AsSpan();
            if (!k.StartsWith(prefix)) break;
            if (!view.Load(value.AsSpan())) throw new InvalidDataException($"zone {Zone.Apex}: a stored value is corrupt");
            var owner = DnsName.FromWire(NodeKey.ToWire(k[NodeKey.PrefixLength..], Zone.Apex.Wire));
            for (int i = 0; i < view.SetCount; i++)
            {
                var set = view.Set(i);
                for (int j = 0; j < set.Count; j++)
                {
                    var rdata = view.Record(set.First + j);
                    var reader = new WireReader(rdata);
                    yield return new ResourceRecord(owner, set.Ttl, RData.Read(set.Type, ref reader, rdata.Length));
                }
            }
            (code, _, _) = cursor.Next();
        }
    }

    public void Dispose() => _txn.Dispose();
}

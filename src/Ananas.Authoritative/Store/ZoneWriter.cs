using Ananas.Dns;
using LightningDB;

namespace Ananas.Authoritative.Store;

/// <summary>
/// Puts whole zones into the store: all given zones in one write transaction (replacing each zone's old
/// nodes, keeping its id), the generation bumped in the same transaction. Either every zone is in afterwards
/// or, on any failure, none of the change is.
/// </summary>
public static class ZoneWriter
{
    public static void Replace(EdgeStore store, IReadOnlyList<ZoneImage> images)
    {
        using var txn = store.BeginWrite();
        foreach (var image in images) Replace(store, txn, image);
        store.BumpGeneration(txn);
        txn.Commit().ThrowOnError();
    }

    /// <summary>Removes a zone (its row and every node); false if the store does not hold it.</summary>
    public static bool Remove(EdgeStore store, DnsName apex)
    {
        using var txn = store.BeginWrite();
        if (!Remove(store, txn, apex)) return false;
        store.BumpGeneration(txn);
        txn.Commit().ThrowOnError();
        return true;
    }

    /// <summary>Writes one zone whole inside <paramref name="txn"/> (the caller bumps the generation and commits).</summary>
    internal static void Replace(EdgeStore store, LightningTransaction txn, ZoneImage image)
    {
        var key = new byte[NodeKey.MaxLength];
        var apexKey = image.Apex.ToLowerCase().Wire.ToArray();
        uint id;
        var (code, _, existing) = txn.Get(store.Zones, apexKey);
        if (code == MDBResultCode.Success)
        {
            id = ZoneEntry.Decode(existing.CopyToNewArray()).Id;
            DeleteNodes(store, txn, id);
        }
        else id = store.AllocateZoneId(txn);

        foreach (var (relative, value) in image.Nodes)
        {
            NodeKey.WritePrefix(key, id, NodeKey.NodeKind);
            relative.CopyTo(key, NodeKey.PrefixLength);
            txn.Put(store.Nodes, key.AsSpan(0, NodeKey.PrefixLength + relative.Length), value).ThrowOnError();
        }
        txn.Put(store.Nodes, NodeKey.End(id), image.EndValue).ThrowOnError();
        var row = new ZoneEntry
        {
            Id = id, Apex = image.Apex, SoaTtl = image.SoaTtl, SoaRdata = image.SoaRdata,
            Names = image.Nodes.Count, Records = image.RecordCount,
        };
        txn.Put(store.Zones, apexKey, row.Encode()).ThrowOnError();
    }

    /// <summary>Removes one zone inside <paramref name="txn"/>; false if the store does not hold it.</summary>
    internal static bool Remove(EdgeStore store, LightningTransaction txn, DnsName apex)
    {
        var apexKey = apex.ToLowerCase().Wire.ToArray();
        var (code, _, existing) = txn.Get(store.Zones, apexKey);
        if (code != MDBResultCode.Success) return false;
        DeleteNodes(store, txn, ZoneEntry.Decode(existing.CopyToNewArray()).Id);
        txn.Delete(store.Zones, apexKey).ThrowOnError();
        return true;
    }

    private static void DeleteNodes(EdgeStore store, LightningTransaction txn, uint id)
    {
        var prefix = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(prefix, id);
        using var cursor = txn.CreateCursor(store.Nodes);
        var code = cursor.SetRange(prefix);
        while (code == MDBResultCode.Success)
        {
            var (_, key, _) = cursor.GetCurrent();
            if (!key.AsSpan().StartsWith(prefix)) break;
            cursor.Delete().ThrowOnError();
            // After a delete the cursor already stands on the next key.
            (code, _, _) = cursor.GetCurrent();
        }
    }
}

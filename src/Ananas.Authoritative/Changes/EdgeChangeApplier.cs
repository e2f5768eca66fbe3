using System.Buffers.Binary;
using Ananas.Authoritative.Store;
using LightningDB;

namespace Ananas.Authoritative.Changes;

/// <summary>
/// Applies the pipeline's <see cref="EdgeChange"/>s to an edge store, each in one LMDB write transaction
/// together with the meta key <c>applied-sequence</c> and the generation bump: a change is in the store with
/// its sequence number or not at all, so a crash leaves the store before or after it and a replayed or
/// out-of-date change (sequence at or below the applied one) is refused without a write.
/// </summary>
public static class EdgeChangeApplier
{
    /// <summary>Meta key: int64, the sequence of the last change applied (absent: none yet).</summary>
    public static readonly byte[] AppliedSequenceKey = "applied-sequence"u8.ToArray();

    /// <summary>Most RRsets one owner may have (a node value the answerer reads holds at most 256).</summary>
    public const int MaxRRsetsPerOwner = 256;

    /// <returns>False (and nothing written) when <paramref name="change"/> is not newer than the applied sequence.</returns>
    /// <exception cref="InvalidDataException">The change does not fit the store (an unknown zone, an owner outside
    /// the zone, no SOA left at the apex, a node too large); nothing is written.</exception>
    public static bool Apply(EdgeStore store, EdgeChange change)
    {
        Check(change);
        using var txn = store.BeginWrite();
        if (change.Sequence <= AppliedSequence(store, txn)) return false;
        switch (change.Kind)
        {
            case EdgeChangeKind.SetNodes:
                var (code, _, row) = txn.Get(store.Zones, change.Apex.ToLowerCase().Wire);
                if (code != MDBResultCode.Success) throw new InvalidDataException($"edge change {change.Sequence}: zone {change.Apex} is not in the store");
                ZonePatch.Apply(store, txn, ZoneEntry.Decode(row.CopyToNewArray()), change.Nodes);
                break;
            case EdgeChangeKind.ReplaceZone:
                ZoneWriter.Replace(store, txn, ZoneImage.Build(change.Apex, change.Nodes));
                break;
            case EdgeChangeKind.DeleteZone:
                ZoneWriter.Remove(store, txn, change.Apex);
                break;
            default:
                throw new InvalidDataException($"edge change {change.Sequence}: unknown kind {(byte)change.Kind}");
        }
        WriteAppliedSequence(store, txn, change.Sequence);
        store.BumpGeneration(txn);
        txn.Commit().ThrowOnError();
        return true;
    }

    /// <summary>The sequence of the last change applied; 0 for a store no change has reached.</summary>
    public static long AppliedSequence(EdgeStore store)
    {
        using var txn = store.BeginRead();
        return AppliedSequence(store, txn);
    }

    internal static long AppliedSequence(EdgeStore store, LightningTransaction txn)
    {
        var (code, _, value) = txn.Get(store.Meta, AppliedSequenceKey);
        return code == MDBResultCode.Success ? BinaryPrimitives.ReadInt64BigEndian(value.AsSpan()) : 0;
    }

    internal static void WriteAppliedSequence(EdgeStore store, LightningTransaction txn, long sequence)
    {
        Span<byte> v = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(v, sequence);
        txn.Put(store.Meta, AppliedSequenceKey, v).ThrowOnError();
    }

    private static void Check(EdgeChange change)
    {
        foreach (var node in change.Nodes)
        {
            if (node.RRsets.Count > MaxRRsetsPerOwner)
                throw new InvalidDataException($"edge change {change.Sequence}: {node.Owner} has {node.RRsets.Count} RRsets (at most {MaxRRsetsPerOwner})");
            foreach (var rrset in node.RRsets)
            {
                if (rrset.Records.Count > ushort.MaxValue)
                    throw new InvalidDataException($"edge change {change.Sequence}: {node.Owner} {rrset.Type} has {rrset.Records.Count} records");
                foreach (var rdata in rrset.Records)
                {
                    if (rdata.Length > ushort.MaxValue) throw new InvalidDataException($"edge change {change.Sequence}: {node.Owner} {rrset.Type}: RDATA longer than 65535 octets");
                }
            }
        }
    }
}

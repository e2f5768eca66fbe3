using System.Buffers.Binary;
using Ananas.Authoritative.Store;
using Ananas.Dns;
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
    public static bool Apply(EdgeStore store, EdgeChange change) => ApplyAll(store, [change]) == 1;

    /// <summary>
    /// Applies changes in the given order in one write transaction (one disk flush for the lot), skipping each
    /// that is not newer than the last applied; returns how many were applied. One change that does not fit and
    /// none is written (<see cref="InvalidDataException"/>): the caller then applies them one at a time.
    /// </summary>
    public static int ApplyAll(EdgeStore store, IReadOnlyList<EdgeChange> changes)
    {
        foreach (var change in changes) Check(change);
        using var txn = store.BeginWrite();
        long applied = AppliedSequence(store, txn);
        int count = 0;
        foreach (var change in changes)
        {
            if (change.Sequence <= applied) continue;
            ApplyIn(store, txn, change);
            applied = change.Sequence;
            count++;
        }
        if (count == 0) return 0;
        WriteAppliedSequence(store, txn, applied);
        store.BumpGeneration(txn);
        txn.Commit().ThrowOnError();
        return count;
    }

    /// <summary>
    /// Makes the store exactly a snapshot of the pipeline taken at <paramref name="sequence"/>: every zone of the
    /// snapshot (each a <see cref="EdgeChangeKind.ReplaceZone"/>) written whole, every other zone removed, and the
    /// applied sequence set, in one write transaction. How a new edge starts before reading the stream from there.
    /// </summary>
    public static void Bootstrap(EdgeStore store, long sequence, IEnumerable<EdgeChange> zones)
    {
        using var txn = store.BeginWrite();
        var kept = new HashSet<DnsName>();
        foreach (var zone in zones)
        {
            if (zone.Kind != EdgeChangeKind.ReplaceZone) throw new InvalidDataException($"snapshot: zone {zone.Apex} is not a whole zone ({zone.Kind})");
            Check(zone);
            ZoneWriter.Replace(store, txn, ZoneImage.Build(zone.Apex, zone.Nodes));
            kept.Add(zone.Apex);
        }
        var stale = new List<DnsName>();
        foreach (var zone in ZoneIndex.Load(store, txn).Zones)
        {
            if (!kept.Contains(zone.Apex)) stale.Add(zone.Apex);
        }
        foreach (var apex in stale) ZoneWriter.Remove(store, txn, apex);
        WriteAppliedSequence(store, txn, sequence);
        store.BumpGeneration(txn);
        txn.Commit().ThrowOnError();
    }

    private static void ApplyIn(EdgeStore store, LightningTransaction txn, EdgeChange change)
    {
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

using Ananas.Authoritative.Changes;
using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Pipeline.Database;

namespace Ananas.Pipeline.Changes;

/// <summary>
/// Turns an outbox entry into the <see cref="EdgeChange"/> the edges apply: for a record change, the complete RRset
/// groups of only the owner names it touched, read from the database as they are now; for a zone created or
/// imported, the whole zone; for a zone deleted, its removal. A change read later than it committed carries the
/// owners' newer state, which the later entries would bring anyway: edges converge on the database.
/// </summary>
public static class ChangeTransformer
{
    public static async Task<EdgeChange> TransformAsync(CentralDatabase database, OutboxEntry entry, CancellationToken cancellationToken) =>
        (await TransformAllAsync(database, [entry], cancellationToken))[0];

    /// <summary>
    /// Transforms a batch of entries from one snapshot of the database: one query for their zones, one for the
    /// records of every owner the record changes touched, and one per zone created or imported.
    /// </summary>
    public static async Task<List<EdgeChange>> TransformAllAsync(CentralDatabase database, IReadOnlyList<OutboxEntry> entries, CancellationToken cancellationToken)
    {
        var changes = new List<EdgeChange>(entries.Count);
        if (entries.Count == 0) return changes;
        await using var connection = await database.Dialect.OpenForPublisherAsync(cancellationToken);
        await using var transaction = await database.Dialect.BeginSnapshotAsync(connection, cancellationToken);
        var zones = new Dictionary<DnsName, ZoneRow>();
        foreach (var zone in await CentralDatabase.ZonesNamedAsync(connection, transaction, entries.Select(e => e.Zone), cancellationToken)) zones[zone.Name] = zone;

        // Every record at every owner a record change touched, by (zone id, owner).
        var touched = entries.Where(e => e.Kind == OutboxKind.SetNodes && zones.ContainsKey(e.Zone.ToLowerCase())).ToList();
        var byOwner = new Dictionary<(string, DnsName), List<RecordRow>>();
        if (touched.Count > 0)
        {
            var rows = await CentralDatabase.RecordsAtAsync(connection, transaction, touched.Select(e => zones[e.Zone.ToLowerCase()].Id).Distinct(),
                touched.SelectMany(e => e.Owners), cancellationToken);
            foreach (var row in rows)
            {
                if (!byOwner.TryGetValue((row.ZoneId, row.Name), out var list)) byOwner[(row.ZoneId, row.Name)] = list = [];
                list.Add(row);
            }
        }
        var whole = new Dictionary<string, List<EdgeNode>>();
        foreach (var entry in entries)
        {
            if (!zones.TryGetValue(entry.Zone.ToLowerCase(), out var zone) || entry.Kind == OutboxKind.DeleteZone)
            {
                // Deleted (by this entry or a later one, which will say so again: an edge removes a missing zone as a no-op).
                changes.Add(new EdgeChange(entry.Sequence, EdgeChangeKind.DeleteZone, entry.Zone, entry.CommittedMs, []));
            }
            else if (entry.Kind == OutboxKind.ReplaceZone)
            {
                if (!whole.TryGetValue(zone.Id, out var nodes))
                    whole[zone.Id] = nodes = Nodes(await CentralDatabase.ZoneRecordsAsync(connection, transaction, zone.Id, cancellationToken), null);
                changes.Add(new EdgeChange(entry.Sequence, EdgeChangeKind.ReplaceZone, zone.Name, entry.CommittedMs, nodes));
            }
            else
            {
                var rows = new List<RecordRow>();
                foreach (var owner in entry.Owners.Select(o => o.ToLowerCase()).Distinct())
                    if (byOwner.TryGetValue((zone.Id, owner), out var list)) rows.AddRange(list);
                changes.Add(new EdgeChange(entry.Sequence, EdgeChangeKind.SetNodes, zone.Name, entry.CommittedMs, Nodes(rows, entry.Owners)));
            }
        }
        return changes;
    }

    /// <summary>
    /// One node per owner: RRsets in ascending type order, each with the smallest TTL of its records (RFC 2181 §5.2
    /// wants one TTL per RRset) and its RDATA in canonical order. With <paramref name="owners"/>, each of them gets a
    /// node, empty when it has no records left (the edge removes its data).
    /// </summary>
    public static List<EdgeNode> Nodes(IEnumerable<RecordRow> rows, IReadOnlyList<DnsName>? owners)
    {
        var byOwner = new SortedDictionary<DnsName, List<RecordRow>>();
        if (owners is not null)
            foreach (var owner in owners) byOwner.TryAdd(owner.ToLowerCase(), []);
        foreach (var row in rows)
        {
            if (!byOwner.TryGetValue(row.Name, out var list)) byOwner[row.Name] = list = [];
            list.Add(row);
        }
        var nodes = new List<EdgeNode>(byOwner.Count);
        foreach (var (owner, list) in byOwner)
        {
            var rrsets = new List<StoredRRset>();
            foreach (var group in list.GroupBy(r => r.Type).OrderBy(g => (ushort)g.Key))
            {
                var records = group.Select(r => r.Rdata).Distinct(ByteArrayComparer.Instance).ToList();
                records.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
                rrsets.Add(new StoredRRset(group.Key, group.Min(r => r.Ttl), records));
            }
            nodes.Add(new EdgeNode(owner, rrsets));
        }
        return nodes;
    }

    /// <summary>
    /// Every zone as a ReplaceZone change, read in one snapshot, with the last outbox sequence given by then: the
    /// snapshot holds every change through it (and maybe changes still pending, which arrive later with higher
    /// sequences and set what they touched again, as it is then).
    /// </summary>
    public static async Task<EdgeSnapshot> SnapshotAsync(CentralDatabase database, CancellationToken cancellationToken)
    {
        await database.SequencePendingAsync(OutboxPublisher.BatchSize, cancellationToken); // so that the sequence covers what committed before
        await using var connection = await database.Dialect.OpenAsync(cancellationToken);
        await using var transaction = await database.Dialect.BeginSnapshotAsync(connection, cancellationToken);
        long sequence, committed = 0;
        using (var last = CentralDatabase.Command(connection, transaction, "SELECT last_sequence FROM outbox_counter WHERE id = 1"))
            sequence = Convert.ToInt64(await last.ExecuteScalarAsync(cancellationToken));
        using (var time = CentralDatabase.Command(connection, transaction, "SELECT committed_ms FROM outbox WHERE sequence = @s", ("s", sequence)))
            if (await time.ExecuteScalarAsync(cancellationToken) is { } value and not DBNull) committed = Convert.ToInt64(value);
        List<ZoneRow> zones;
        using (var list = CentralDatabase.Command(connection, transaction, $"SELECT {CentralDatabase.ZoneColumns} FROM zones ORDER BY name"))
            zones = await CentralDatabase.ReadZonesAsync(list, cancellationToken);
        var changes = new List<EdgeChange>(zones.Count);
        foreach (var zone in zones)
        {
            var rows = await CentralDatabase.ZoneRecordsAsync(connection, transaction, zone.Id, cancellationToken);
            changes.Add(new EdgeChange(sequence, EdgeChangeKind.ReplaceZone, zone.Name, committed, Nodes(rows, null)));
        }
        return new EdgeSnapshot(sequence, changes);
    }

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj)
        {
            var hash = new HashCode();
            hash.AddBytes(obj);
            return hash.ToHashCode();
        }
    }
}

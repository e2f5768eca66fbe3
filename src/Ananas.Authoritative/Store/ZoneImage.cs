using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Authoritative.Store;

/// <summary>
/// A zone turned into store entries: every owner name and every empty non-terminal as a node (RRsets, the
/// ancestor flags, the previous name and its flags), in key order, plus the end key and the zone row. Built
/// whole from the zone's records; what issue 21's pipeline changes must keep these invariants (see
/// docs/AUTHORITATIVE.md, "Writing").
/// </summary>
public sealed class ZoneImage
{
    public required DnsName Apex { get; init; }

    /// <summary>(relative key, value) in key order; the apex first.</summary>
    public required List<(byte[] Relative, byte[] Value)> Nodes { get; init; }

    /// <summary>The end key's value (the gap after the last name).</summary>
    public required byte[] EndValue { get; init; }

    public required uint SoaTtl { get; init; }

    public required byte[] SoaRdata { get; init; }

    public int RecordCount { get; init; }

    /// <summary>Builds the image; the records must be checked (in zone, one SOA at the apex).</summary>
    public static ZoneImage Build(DnsName apex, IEnumerable<ResourceRecord> records)
    {
        // Owner (relative key) → type → RRset. Duplicate records collapse; an RRset keeps its first TTL.
        var owners = new SortedDictionary<byte[], SortedDictionary<ushort, (uint Ttl, List<byte[]> Records)>>(RelativeKeyComparer.Instance);
        var scratch = new byte[NodeKey.MaxLength];
        Span<int> offsets = stackalloc int[128];
        int total = 0;
        ResourceRecord? soa = null;
        foreach (var record in records)
        {
            if (record.Type == RRType.SOA && record.Name == apex) soa ??= record;
            int length = NodeKey.EncodeRelative(record.Name.Wire, apex.LabelCount, scratch, offsets);
            var relative = scratch.AsSpan(0, length).ToArray();
            // Every ancestor between the apex and the owner exists (as an empty non-terminal if nothing else).
            int depth = NodeKey.Depth(relative);
            for (int d = 0; d <= depth; d++)
            {
                var prefix = d == 0 ? [] : relative.AsSpan(0, offsets[d - 1]).ToArray();
                if (!owners.ContainsKey(prefix)) owners[prefix] = [];
            }
            var sets = owners[relative];
            var wire = record.Data.ToWire();
            ushort type = (ushort)record.Type;
            if (!sets.TryGetValue(type, out var set)) sets[type] = set = (record.Ttl, []);
            if (!set.Records.Exists(r => r.AsSpan().SequenceEqual(wire)))
            {
                set.Records.Add(wire);
                total++;
            }
        }
        if (soa is null) throw new InvalidDataException($"zone {apex}: no SOA record at the apex");

        // Flags per node, then each node's chain of ancestor flags.
        var flags = new Dictionary<byte[], NodeFlags>(WireNameComparer.Instance);
        foreach (var (relative, sets) in owners)
        {
            var f = NodeFlags.None;
            if (sets.Count > 0) f |= NodeFlags.HasData;
            if (relative.Length > 0 && sets.ContainsKey((ushort)RRType.NS)) f |= NodeFlags.Cut;
            if (sets.ContainsKey((ushort)RRType.DNAME)) f |= NodeFlags.Dname;
            flags[relative] = f;
        }
        foreach (var relative in owners.Keys)
        {
            int depth = NodeKey.Depth(relative);
            if (depth == 0) continue;
            int labelStart = NodeKey.PrefixOf(relative, depth - 1);
            if (relative.Length - labelStart == 2 && relative[labelStart] == (byte)'*')
            {
                var parent = relative.AsSpan(0, labelStart).ToArray();
                flags[parent] |= NodeFlags.WildcardChild;
            }
        }

        var nodes = new List<(byte[], byte[])>(owners.Count);
        byte[]? previous = null;
        byte[]? previousFlags = null;
        foreach (var (relative, sets) in owners)
        {
            int depth = NodeKey.Depth(relative);
            var chain = new byte[depth + 1];
            for (int d = 0; d <= depth; d++) chain[d] = (byte)flags[relative.AsSpan(0, NodeKey.PrefixOf(relative, d)).ToArray()];
            var rrsets = new List<StoredRRset>(sets.Count);
            foreach (var (type, set) in sets) rrsets.Add(new StoredRRset((RRType)type, set.Ttl, set.Records));
            nodes.Add((relative, NodeValue.Encode(chain, previous, previousFlags, rrsets)));
            previous = relative;
            previousFlags = chain;
        }
        return new ZoneImage
        {
            Apex = apex,
            Nodes = nodes,
            EndValue = NodeValue.Encode([], previous, previousFlags, []),
            SoaTtl = soa.Ttl,
            SoaRdata = soa.Data.ToWire(),
            RecordCount = total,
        };
    }
}

/// <summary>Byte order of encoded relative names (= canonical name order).</summary>
public sealed class RelativeKeyComparer : IComparer<byte[]>
{
    public static RelativeKeyComparer Instance { get; } = new();

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
}

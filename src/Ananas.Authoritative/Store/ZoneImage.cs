using Ananas.Authoritative.Changes;
using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Authoritative.Store;

/// <summary>
/// A zone turned into store entries: every owner name and every empty non-terminal as a node (RRsets, the
/// ancestor flags, the previous name and its flags), in key order, plus the end key and the zone row. Built
/// whole from the zone's records; <see cref="ZonePatch"/> keeps the same invariants when only some owners
/// change (docs/AUTHORITATIVE.md, "Writing").
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
        var owners = new SortedDictionary<byte[], OwnerRRsets>(RelativeKeyComparer.Instance);
        foreach (var record in records) Owner(owners, apex, record.Name).Add(record.Type, record.Ttl, record.Data.ToWire());
        return Build(apex, owners);
    }

    /// <summary>Builds the image from each owner's RRsets (an owner listed twice gets the union).</summary>
    public static ZoneImage Build(DnsName apex, IEnumerable<EdgeNode> owners)
    {
        var byKey = new SortedDictionary<byte[], OwnerRRsets>(RelativeKeyComparer.Instance);
        foreach (var node in owners) Owner(byKey, apex, node.Owner).AddAll(node.RRsets);
        return Build(apex, byKey);
    }

    /// <summary>The owner's entry, creating it and every missing ancestor (an empty non-terminal unless it has data).</summary>
    private static OwnerRRsets Owner(SortedDictionary<byte[], OwnerRRsets> owners, DnsName apex, DnsName name)
    {
        if (!name.IsSubdomainOf(apex)) throw new InvalidDataException($"zone {apex}: {name} is outside the zone");
        var relative = NodeKey.Relative(name, apex);
        if (owners.TryGetValue(relative, out var sets)) return sets;
        int depth = NodeKey.Depth(relative);
        for (int d = 0; d < depth; d++)
        {
            var prefix = relative.AsSpan(0, NodeKey.PrefixOf(relative, d)).ToArray();
            owners.TryAdd(prefix, new OwnerRRsets());
        }
        return owners[relative] = new OwnerRRsets();
    }

    private static ZoneImage Build(DnsName apex, SortedDictionary<byte[], OwnerRRsets> owners)
    {
        if (!owners.TryGetValue([], out var top) || !top.TryGetFirst(RRType.SOA, out uint soaTtl, out var soaRdata))
            throw new InvalidDataException($"zone {apex}: no SOA record at the apex");

        // Flags per node, then each node's chain of ancestor flags.
        var flags = new Dictionary<byte[], NodeFlags>(WireNameComparer.Instance);
        int total = 0;
        foreach (var (relative, sets) in owners)
        {
            flags[relative] = NodeRules.DataFlags(relative, sets);
            total += sets.RecordCount;
        }
        foreach (var relative in owners.Keys)
        {
            int parent = NodeRules.WildcardParentLength(relative);
            if (parent >= 0) flags[relative.AsSpan(0, parent).ToArray()] |= NodeFlags.WildcardChild;
        }

        var nodes = new List<(byte[], byte[])>(owners.Count);
        byte[]? previous = null;
        byte[]? previousFlags = null;
        foreach (var (relative, sets) in owners)
        {
            int depth = NodeKey.Depth(relative);
            var chain = new byte[depth + 1];
            for (int d = 0; d <= depth; d++) chain[d] = (byte)flags[relative.AsSpan(0, NodeKey.PrefixOf(relative, d)).ToArray()];
            nodes.Add((relative, NodeValue.Encode(chain, previous, previousFlags, sets.ToList())));
            previous = relative;
            previousFlags = chain;
        }
        return new ZoneImage
        {
            Apex = apex,
            Nodes = nodes,
            EndValue = NodeValue.EncodeEnd(previous!, previousFlags!),
            SoaTtl = soaTtl,
            SoaRdata = soaRdata,
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

using Ananas.Authoritative.Changes;
using Ananas.Dns;
using LightningDB;

namespace Ananas.Authoritative.Store;

/// <summary>
/// Gives some owner names of one zone their complete new RRsets inside an open write transaction, writing only
/// what the store layout requires (docs/AUTHORITATIVE.md, "Writing"): the owners, the empty non-terminals that
/// appear or disappear above them, the ancestor flags of every node at or below a name whose own flags changed
/// (cut, DNAME, wildcard child, data), the previous name and flags of the key after every added, removed or
/// re-flagged node, and the zone row. The result is byte for byte what <see cref="ZoneImage.Build(DnsName, IEnumerable{EdgeNode})"/>
/// writes for the whole new zone.
/// </summary>
internal sealed class ZonePatch
{
    private readonly EdgeStore _store;
    private readonly LightningTransaction _txn;
    private readonly ZoneEntry _zone;
    private readonly NodeView _view = new();

    // Ancestor flags before the patch of each node the patch wrote (null: the node is new).
    private readonly Dictionary<byte[], byte[]?> _oldChains = new(WireNameComparer.Instance);

    // Nodes whose own flags may have changed (new data, or a `*` child came or went), and their new flags.
    private readonly HashSet<byte[]> _recheck = new(WireNameComparer.Instance);
    private readonly Dictionary<byte[], NodeFlags> _own = new(WireNameComparer.Instance);
    private readonly Dictionary<byte[], byte[]> _newChains = new(WireNameComparer.Instance);

    // Nodes whose value must be worked out again, in key order (each depends only on keys before it).
    private readonly SortedSet<byte[]> _rewrite = new(RelativeKeyComparer.Instance);
    private readonly List<byte[]> _removed = [];
    private bool _rewriteEnd;
    private int _names;
    private int _records;

    private ZonePatch(EdgeStore store, LightningTransaction txn, ZoneEntry zone)
    {
        _store = store;
        _txn = txn;
        _zone = zone;
    }

    /// <summary>Applies the owners' data (an owner listed twice gets the union) and rewrites the zone row.</summary>
    public static void Apply(EdgeStore store, LightningTransaction txn, ZoneEntry zone, IEnumerable<EdgeNode> nodes)
    {
        var owners = new SortedDictionary<byte[], OwnerRRsets>(RelativeKeyComparer.Instance);
        foreach (var node in nodes)
        {
            if (!node.Owner.IsSubdomainOf(zone.Apex)) throw new InvalidDataException($"zone {zone.Apex}: {node.Owner} is outside the zone");
            var relative = NodeKey.Relative(node.Owner, zone.Apex);
            if (!owners.TryGetValue(relative, out var sets)) owners[relative] = sets = new OwnerRRsets();
            sets.AddAll(node.RRsets);
        }
        var soa = owners.TryGetValue([], out var apex) ? apex : null;
        uint soaTtl = zone.SoaTtl;
        byte[] soaRdata = zone.SoaRdata;
        if (soa is not null && !soa.TryGetFirst(RRType.SOA, out soaTtl, out soaRdata))
            throw new InvalidDataException($"zone {zone.Apex}: the change leaves no SOA record at the apex");

        var patch = new ZonePatch(store, txn, zone);
        patch.SetOwners(owners);
        patch.RecheckFlags();
        patch.Rewrite();
        var row = new ZoneEntry
        {
            Id = zone.Id, Apex = zone.Apex, SoaTtl = soaTtl, SoaRdata = soaRdata,
            Names = zone.Names + patch._names, Records = zone.Records + patch._records,
        };
        txn.Put(store.Zones, zone.Apex.ToLowerCase().Wire, row.Encode()).ThrowOnError();
    }

    /// <summary>Writes each owner's data (with a provisional rest of the value), adds missing ancestors, prunes empty leaves.</summary>
    private void SetOwners(SortedDictionary<byte[], OwnerRRsets> owners)
    {
        var emptied = new List<byte[]>();
        foreach (var (relative, sets) in owners)
        {
            if (Read(relative) is not null)
            {
                _oldChains.TryAdd(relative, _view.AncestorFlags.ToArray());
                _records -= _view.RecordCount();
            }
            else if (sets.Count == 0) continue;
            else Created(relative);
            _records += sets.RecordCount;
            Put(relative, NodeValue.Encode([], null, null, sets.ToList()));
            _recheck.Add(relative);
            _rewrite.Add(relative);
            if (sets.Count > 0) AddAncestors(relative);
            else if (relative.Length > 0) emptied.Add(relative);
        }
        // Deepest first: a name left without data and without children goes, and then perhaps its parent.
        for (int i = emptied.Count - 1; i >= 0; i--)
        {
            var name = emptied[i];
            while (name.Length > 0 && Read(name) is not null && _view.SetCount == 0 && !HasChild(name))
            {
                _txn.Delete(_store.Nodes, FullKey(name)).ThrowOnError();
                _names--;
                _removed.Add(name);
                _rewrite.Remove(name);
                _recheck.Remove(name);
                int parent = NodeRules.WildcardParentLength(name);
                if (parent >= 0) _recheck.Add(name[..parent]);
                name = name[..NodeKey.PrefixOf(name, NodeKey.Depth(name) - 1)];
            }
        }
        // The key after a removed one now follows a different node.
        foreach (var name in _removed) MarkNext(name);
    }

    private void AddAncestors(byte[] relative)
    {
        for (int d = NodeKey.Depth(relative) - 1; d >= 0; d--)
        {
            var prefix = relative[..NodeKey.PrefixOf(relative, d)];
            if (Read(prefix) is not null) break; // its ancestors exist too
            Created(prefix);
            Put(prefix, NodeValue.Encode([], null, null, []));
            _recheck.Add(prefix);
            _rewrite.Add(prefix);
        }
    }

    private void Created(byte[] relative)
    {
        _oldChains[relative] = null;
        _names++;
        int parent = NodeRules.WildcardParentLength(relative);
        if (parent >= 0) _recheck.Add(relative[..parent]);
    }

    /// <summary>Works out the own flags of every node that may have new ones; a change re-flags its whole subtree.</summary>
    private void RecheckFlags()
    {
        foreach (var relative in _recheck)
        {
            if (Read(relative) is null) throw new InvalidDataException($"zone {_zone.Apex}: a parent node is missing");
            var flags = NodeRules.DataFlags(relative.Length == 0, _view.SetCount > 0, _view.Find(RRType.NS) >= 0, _view.Find(RRType.DNAME) >= 0);
            if (Exists(NodeRules.WildcardChild(relative))) flags |= NodeFlags.WildcardChild;
            _own[relative] = flags;
            var old = _oldChains.TryGetValue(relative, out var written) ? written : _view.AncestorFlags.ToArray();
            if (old is null || old.Length == 0 || old[^1] != (byte)flags) AddSubtree(relative);
        }
    }

    /// <summary>Rewrites each queued node from its data, its parent's chain and the key before it, in key order.</summary>
    private void Rewrite()
    {
        while (_rewrite.Count > 0)
        {
            var relative = _rewrite.Min!;
            _rewrite.Remove(relative);
            var stored = Read(relative) ?? throw new InvalidDataException($"zone {_zone.Apex}: a rewritten node is missing");
            var storedChain = _view.AncestorFlags.ToArray();
            var rrsets = _view.ToRRsets();
            var own = _own.TryGetValue(relative, out var fresh) ? fresh : (NodeFlags)storedChain[^1];
            byte[] chain;
            if (relative.Length == 0) chain = [(byte)own];
            else
            {
                var parentChain = ChainOf(relative[..NodeKey.PrefixOf(relative, NodeKey.Depth(relative) - 1)]);
                chain = [.. parentChain, (byte)own];
            }
            var (previous, previousChain) = Previous(FullKey(relative));
            var value = NodeValue.Encode(chain, previous, previousChain, rrsets);
            if (!value.AsSpan().SequenceEqual(stored)) Put(relative, value);
            _newChains[relative] = chain;
            var old = _oldChains.TryGetValue(relative, out var written) ? written : storedChain;
            if (old is null || !old.AsSpan().SequenceEqual(chain)) MarkNext(relative);
        }
        if (!_rewriteEnd) return;
        var end = NodeKey.End(_zone.Id);
        var (last, lastChain) = Previous(end);
        var endValue = NodeValue.EncodeEnd(last!, lastChain!);
        var (code, _, current) = _txn.Get(_store.Nodes, end);
        if (code != MDBResultCode.Success || !current.AsSpan().SequenceEqual(endValue)) _txn.Put(_store.Nodes, end, endValue).ThrowOnError();
    }

    private byte[] ChainOf(byte[] relative)
    {
        if (_newChains.TryGetValue(relative, out var chain)) return chain;
        if (Read(relative) is null) throw new InvalidDataException($"zone {_zone.Apex}: a parent node is missing");
        return _view.AncestorFlags.ToArray();
    }

    /// <summary>The node before <paramref name="key"/> in the zone and its (already final) ancestor flags; nulls before the apex.</summary>
    private (byte[]? Relative, byte[]? Chain) Previous(byte[] key)
    {
        using var cursor = _txn.CreateCursor(_store.Nodes);
        if (cursor.SetRange(key) != MDBResultCode.Success) throw new InvalidDataException($"zone {_zone.Apex}: the end key is missing");
        var (code, found, value) = cursor.Previous();
        if (code != MDBResultCode.Success || !IsNode(found.AsSpan())) return (null, null);
        var relative = found.AsSpan()[NodeKey.PrefixLength..].ToArray();
        if (_newChains.TryGetValue(relative, out var chain)) return (relative, chain);
        if (!_view.Load(value.AsSpan())) throw new InvalidDataException($"zone {_zone.Apex}: a stored value is corrupt");
        return (relative, _view.AncestorFlags.ToArray());
    }

    /// <summary>Queues the key after <paramref name="relative"/> (a node or the end key): its previous node changed.</summary>
    private void MarkNext(byte[] relative)
    {
        var key = FullKey(relative);
        using var cursor = _txn.CreateCursor(_store.Nodes);
        if (cursor.SetRange(key) != MDBResultCode.Success) return;
        var (code, found, _) = cursor.GetCurrent();
        if (code == MDBResultCode.Success && found.AsSpan().SequenceEqual(key)) (code, found, _) = cursor.Next();
        if (code != MDBResultCode.Success) return;
        var next = found.AsSpan();
        if (IsNode(next)) _rewrite.Add(next[NodeKey.PrefixLength..].ToArray());
        else if (next.SequenceEqual(NodeKey.End(_zone.Id))) _rewriteEnd = true;
    }

    /// <summary>Queues <paramref name="relative"/> and every node below it (their ancestor flags change).</summary>
    private void AddSubtree(byte[] relative)
    {
        using var cursor = _txn.CreateCursor(_store.Nodes);
        var code = cursor.SetRange(FullKey(relative));
        while (code == MDBResultCode.Success)
        {
            var (_, found, _) = cursor.GetCurrent();
            var key = found.AsSpan();
            if (!IsNode(key) || !key[NodeKey.PrefixLength..].StartsWith(relative)) break;
            _rewrite.Add(key[NodeKey.PrefixLength..].ToArray());
            (code, _, _) = cursor.Next();
        }
    }

    private bool HasChild(byte[] relative)
    {
        var key = FullKey(relative);
        using var cursor = _txn.CreateCursor(_store.Nodes);
        if (cursor.SetRange(key) != MDBResultCode.Success) return false;
        var (code, found, _) = cursor.GetCurrent();
        if (code == MDBResultCode.Success && found.AsSpan().SequenceEqual(key)) (code, found, _) = cursor.Next();
        return code == MDBResultCode.Success && IsNode(found.AsSpan()) && found.AsSpan()[NodeKey.PrefixLength..].StartsWith(relative);
    }

    private bool IsNode(ReadOnlySpan<byte> key) =>
        key.Length >= NodeKey.PrefixLength && key[4] == NodeKey.NodeKind
        && System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(key) == _zone.Id;

    /// <summary>The stored value of a node (a copy), loaded into the view; null if there is no such node.</summary>
    private byte[]? Read(byte[] relative)
    {
        var (code, _, value) = _txn.Get(_store.Nodes, FullKey(relative));
        if (code != MDBResultCode.Success) return null;
        var bytes = value.CopyToNewArray();
        if (!_view.Load(bytes)) throw new InvalidDataException($"zone {_zone.Apex}: a stored value is corrupt");
        return bytes;
    }

    private bool Exists(byte[] relative) => _txn.Get(_store.Nodes, FullKey(relative)).resultCode == MDBResultCode.Success;

    private void Put(byte[] relative, byte[] value) => _txn.Put(_store.Nodes, FullKey(relative), value).ThrowOnError();

    private byte[] FullKey(byte[] relative)
    {
        var key = new byte[NodeKey.PrefixLength + relative.Length];
        NodeKey.WritePrefix(key, _zone.Id, NodeKey.NodeKind);
        relative.CopyTo(key, NodeKey.PrefixLength);
        return key;
    }
}

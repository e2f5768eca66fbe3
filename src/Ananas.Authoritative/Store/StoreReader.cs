using LightningDB;

namespace Ananas.Authoritative.Store;

/// <summary>
/// One thread's way into the store: a read transaction renewed per query (a consistent snapshot, never a
/// half-written zone) and reset afterwards, one cursor, a key buffer, and the count of store reads the query
/// made. Reused across queries, so reading allocates nothing.
/// </summary>
public sealed class StoreReader : IDisposable
{
    private readonly LightningTransaction _txn;
    private readonly LightningCursor _cursor;
    private readonly byte[] _key = new byte[NodeKey.MaxLength];
    private bool _active = true;
    private bool _cursorStale;

    private bool _disposed;

    internal StoreReader(EdgeStore store)
    {
        Store = store;
        _txn = store.BeginRead();
        _cursor = _txn.CreateCursor(store.Nodes);
    }

    public EdgeStore Store { get; }

    /// <summary>Store reads (positionings that returned a value) since <see cref="Begin"/>.</summary>
    public int Reads { get; private set; }

    public void Begin()
    {
        if (!_active)
        {
            _txn.Renew().ThrowOnError();
            _active = true;
            // The cursor follows at the first seek: a reply-cache hit needs the snapshot's id and no cursor.
            _cursorStale = true;
        }
        Reads = 0;
    }

    /// <summary>The id of the store snapshot this query reads (the LMDB transaction id; every write makes a new one).</summary>
    public ulong Snapshot => (ulong)_txn.Id;

    public void End()
    {
        if (!_active) return;
        _txn.Reset();
        _active = false;
    }

    /// <summary>
    /// Positions at the node of <paramref name="relative"/> in zone <paramref name="zoneId"/> or, when it does
    /// not exist, at the next key of the zone (a later name or the zone's end key), and loads that value. One read.
    /// </summary>
    public bool Seek(uint zoneId, ReadOnlySpan<byte> relative, NodeView view, out bool exact)
    {
        exact = false;
        Reads++;
        NodeKey.WritePrefix(_key, zoneId, NodeKey.NodeKind);
        relative.CopyTo(_key.AsSpan(NodeKey.PrefixLength));
        var search = _key.AsSpan(0, NodeKey.PrefixLength + relative.Length);
        if (_cursorStale)
        {
            _cursor.Renew(_txn).ThrowOnError();
            _cursorStale = false;
        }
        if (_cursor.SetRange(search) != MDBResultCode.Success) return false;
        var (code, key, value) = _cursor.GetCurrent();
        if (code != MDBResultCode.Success) return false;
        var found = key.AsSpan();
        // The zone's end key bounds every search, so a key of another zone means the zone is damaged.
        if (found.Length < NodeKey.PrefixLength || !found[..4].SequenceEqual(search[..4])) return false;
        exact = found.SequenceEqual(search);
        view.Load(value.AsSpan());
        return true;
    }

    /// <summary>Loads the node of <paramref name="relative"/> if it exists. One read.</summary>
    public bool Get(uint zoneId, ReadOnlySpan<byte> relative, NodeView view)
    {
        Reads++;
        NodeKey.WritePrefix(_key, zoneId, NodeKey.NodeKind);
        relative.CopyTo(_key.AsSpan(NodeKey.PrefixLength));
        var (code, _, value) = _txn.Get(Store.Nodes, _key.AsSpan(0, NodeKey.PrefixLength + relative.Length));
        if (code != MDBResultCode.Success) return false;
        view.Load(value.AsSpan());
        return true;
    }

    public bool IsDisposed => Volatile.Read(ref _disposed);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _cursor.Dispose();
        _txn.Dispose();
    }
}

using System.Buffers.Binary;
using LightningDB;

namespace Ananas.Authoritative.Store;

/// <summary>
/// The edge store: one LMDB environment (memory-mapped; many readers, one writer, in this process or others)
/// with three tables, <c>meta</c> (layout version, generation), <c>zones</c> (apex → zone row) and <c>nodes</c>
/// (one value per owner name; see <see cref="NodeKey"/> and <see cref="NodeValue"/>). Every change is one write
/// transaction, so a reader sees a zone entirely before or entirely after it; the generation is bumped in the
/// same transaction, which is how a server notices changes made by another process.
/// </summary>
public sealed class EdgeStore : IDisposable
{
    /// <summary>The key/value layout this code reads and writes (docs/AUTHORITATIVE.md).</summary>
    public const int LayoutVersion = 2;

    /// <summary>
    /// The oldest layout this code opens: version 2 only added the <c>keys</c> table, so a version-1 store is
    /// upgraded in place when opened (its zones are unsigned until a key is made).
    /// </summary>
    public const int OldestReadableVersion = 1;

    public static readonly byte[] VersionKey = "layout-version"u8.ToArray();
    public static readonly byte[] GenerationKey = "generation"u8.ToArray();
    public static readonly byte[] NextZoneIdKey = "next-zone-id"u8.ToArray();

    private readonly LightningEnvironment _env;
    private readonly List<StoreReader> _readers = [];
    private bool _disposed;

    /// <param name="durableCommits">
    /// False: a commit flushes its data but not the meta page (LMDB <c>NoMetaSync</c>: one flush per commit instead of
    /// two). The store stays consistent, but an operating-system crash may undo the last commit; only for a store that
    /// can get it again, one following the pipeline's stream (its applied sequence is undone with the change, and the
    /// edge resumes from it).
    /// </param>
    public EdgeStore(string directory, long mapSizeBytes = 4L << 30, bool durableCommits = true)
    {
        LmdbLibrary.Register();
        Directory.CreateDirectory(directory);
        Path = directory;
        _env = new LightningEnvironment(directory, new EnvironmentConfiguration { MapSize = mapSizeBytes, MaxDatabases = 8, MaxReaders = 1024 });
        try
        {
            // NoThreadLocalStorage: a read transaction belongs to its object, not its thread (TCP answers run on pool threads).
            _env.Open(EnvironmentOpenFlags.NoThreadLocalStorage | (durableCommits ? EnvironmentOpenFlags.None : EnvironmentOpenFlags.NoMetaSync));
            (Meta, Zones, Nodes, Keys) = OpenTables(directory);
            if (!LmdbLibrary.BindEnvironmentInfo()) throw new InvalidOperationException("the LMDB library loaded has no mdb_env_info");
        }
        catch
        {
            // A refused store is closed here: LightningDB's finalizer throws for an environment left open.
            _env.Dispose();
            throw;
        }
    }

    /// <summary>Opens (creating) the tables and checks or writes the layout version, upgrading an older readable one.</summary>
    private (LightningDatabase, LightningDatabase, LightningDatabase, LightningDatabase) OpenTables(string directory)
    {
        using var txn = _env.BeginTransaction();
        var meta = txn.OpenDatabase("meta", new DatabaseConfiguration { Flags = DatabaseOpenFlags.Create });
        var zones = txn.OpenDatabase("zones", new DatabaseConfiguration { Flags = DatabaseOpenFlags.Create });
        var nodes = txn.OpenDatabase("nodes", new DatabaseConfiguration { Flags = DatabaseOpenFlags.Create });
        var keys = txn.OpenDatabase("keys", new DatabaseConfiguration { Flags = DatabaseOpenFlags.Create });
        var (code, _, value) = txn.Get(meta, VersionKey);
        int version = code == MDBResultCode.Success ? BinaryPrimitives.ReadInt32BigEndian(value.AsSpan()) : 0;
        if (code == MDBResultCode.Success && (version < OldestReadableVersion || version > LayoutVersion))
            throw new InvalidDataException($"{directory}: store layout version {version}, this build reads versions {OldestReadableVersion} to {LayoutVersion}");
        if (version != LayoutVersion)
        {
            Span<byte> v = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(v, LayoutVersion);
            txn.Put(meta, VersionKey, v);
        }
        txn.Commit().ThrowOnError();
        return (meta, zones, nodes, keys);
    }

    public string Path { get; }

    internal LightningEnvironment Environment => _env;

    internal LightningDatabase Meta { get; }

    internal LightningDatabase Zones { get; }

    internal LightningDatabase Nodes { get; }

    /// <summary>Signing keys by zone apex (layout version 2; see Signing/KeyTable).</summary>
    internal LightningDatabase Keys { get; }

    /// <summary>A read-only transaction (the caller disposes it).</summary>
    internal LightningTransaction BeginRead() => _env.BeginTransaction(TransactionBeginFlags.ReadOnly);

    internal LightningTransaction BeginWrite() => _env.BeginTransaction();

    /// <summary>
    /// The id of the last committed write transaction, without a transaction (the newest meta page): equal to the
    /// <see cref="StoreReader.Snapshot"/> a read transaction begun now gets, and moved by every commit, in this
    /// process or another.
    /// </summary>
    public ulong LastCommitted()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        return LmdbLibrary.LastCommitted(_env);
    }

    /// <summary>The change counter: bumped by every committed write.</summary>
    public ulong ReadGeneration()
    {
        using var txn = BeginRead();
        return ReadGeneration(txn);
    }

    internal ulong ReadGeneration(LightningTransaction txn)
    {
        var (code, _, value) = txn.Get(Meta, GenerationKey);
        return code == MDBResultCode.Success ? BinaryPrimitives.ReadUInt64BigEndian(value.AsSpan()) : 0;
    }

    internal void BumpGeneration(LightningTransaction txn)
    {
        Span<byte> v = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(v, ReadGeneration(txn) + 1);
        txn.Put(Meta, GenerationKey, v).ThrowOnError();
    }

    internal uint AllocateZoneId(LightningTransaction txn)
    {
        var (code, _, value) = txn.Get(Meta, NextZoneIdKey);
        uint id = code == MDBResultCode.Success ? BinaryPrimitives.ReadUInt32BigEndian(value.AsSpan()) : 1;
        Span<byte> v = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(v, id + 1);
        txn.Put(Meta, NextZoneIdKey, v).ThrowOnError();
        return id;
    }

    /// <summary>Bytes used by the data file (pages in use × page size).</summary>
    public long UsedBytes()
    {
        var info = _env.Info;
        var stats = _env.EnvironmentStats;
        return (long)(info.LastPageNumber + 1) * stats.PageSize;
    }

    /// <summary>A reader for one thread; the store disposes it when it is disposed itself.</summary>
    public StoreReader CreateReader()
    {
        lock (_readers)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var reader = new StoreReader(this);
            _readers.Add(reader);
            return reader;
        }
    }

    public void Dispose()
    {
        lock (_readers)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var reader in _readers) reader.Dispose();
            _readers.Clear();
        }
        Meta.Dispose();
        Zones.Dispose();
        Nodes.Dispose();
        Keys.Dispose();
        _env.Dispose();
    }
}

using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LightningDB;

namespace Ananas.Authoritative.Store;

/// <summary>
/// Loads the native LMDB library: the one bundled with the LightningDB package, or, when that cannot load
/// (it is built against a newer glibc than Debian 12's), the system's <c>liblmdb.so.0</c> (Debian liblmdb0,
/// installed by scripts/setup.sh).
/// </summary>
internal static unsafe class LmdbLibrary
{
    // The library the resolver loaded, for the one call LightningDB wraps with an allocation (mdb_env_info).
    private static IntPtr s_loaded;
    private static delegate* unmanaged[SuppressGCTransition]<IntPtr, EnvInfo*, int> s_envInfo;

    // Lazy: a second thread waits until the resolver is in place instead of loading LMDB without it.
    private static readonly Lazy<bool> s_registered = new(() =>
    {
        NativeLibrary.SetDllImportResolver(typeof(LightningEnvironment).Assembly, Resolve);
        return true;
    });

    public static void Register() => _ = s_registered.Value;

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != "lmdb") return IntPtr.Zero;
        if (NativeLibrary.TryLoad(name, assembly, path, out var bundled)) return s_loaded = bundled;
        foreach (var candidate in new[] { "liblmdb.so.0", "liblmdb.so" })
        {
            if (NativeLibrary.TryLoad(candidate, out var system)) return s_loaded = system;
        }
        return IntPtr.Zero;
    }

    /// <summary>MDB_envinfo (the same in LMDB 0.9 and the 1.0 branch LightningDB bundles, on 64-bit platforms).</summary>
    private struct EnvInfo
    {
        public IntPtr MapAddress;
        public ulong MapSize;
        public ulong LastPage;
        public ulong LastTransactionId;
        public uint MaxReaders;
        public uint Readers;
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_handle")]
    private static extern ref IntPtr EnvironmentHandle(LightningEnvironment environment);

    /// <summary>
    /// Binds <see cref="LastCommitted"/> once the library is loaded (an open environment has made LMDB calls);
    /// false when the library or its export is missing (the store then refuses to open, naming it).
    /// </summary>
    public static bool BindEnvironmentInfo()
    {
        if (s_envInfo != null) return true;
        if (s_loaded == IntPtr.Zero || !NativeLibrary.TryGetExport(s_loaded, "mdb_env_info", out var export)) return false;
        s_envInfo = (delegate* unmanaged[SuppressGCTransition]<IntPtr, EnvInfo*, int>)export;
        return true;
    }

    /// <summary>
    /// The id of the environment's last committed write transaction, read from its newest meta page: no transaction,
    /// no lock, no allocation (LightningDB's <c>Info</c> allocates). mdb_env_info only copies fields, so the call
    /// skips the GC transition. Only after <see cref="BindEnvironmentInfo"/> returned true.
    /// </summary>
    public static ulong LastCommitted(LightningEnvironment environment)
    {
        EnvInfo info;
        s_envInfo(EnvironmentHandle(environment), &info);
        return info.LastTransactionId;
    }
}

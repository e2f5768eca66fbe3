using System.Reflection;
using System.Runtime.InteropServices;
using LightningDB;

namespace Ananas.Authoritative.Store;

/// <summary>
/// Loads the native LMDB library: the one bundled with the LightningDB package, or, when that cannot load
/// (it is built against a newer glibc than Debian 12's), the system's <c>liblmdb.so.0</c> (Debian liblmdb0,
/// installed by scripts/setup.sh).
/// </summary>
internal static class LmdbLibrary
{
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
        if (NativeLibrary.TryLoad(name, assembly, path, out var bundled)) return bundled;
        foreach (var candidate in new[] { "liblmdb.so.0", "liblmdb.so" })
        {
            if (NativeLibrary.TryLoad(candidate, out var system)) return system;
        }
        return IntPtr.Zero;
    }
}

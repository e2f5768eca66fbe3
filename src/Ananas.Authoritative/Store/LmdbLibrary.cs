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
    private static int s_registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(LightningEnvironment).Assembly, Resolve);
    }

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

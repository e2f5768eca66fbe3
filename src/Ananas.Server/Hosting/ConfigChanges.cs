using Ananas.Server.Configuration;

namespace Ananas.Server.Hosting;

/// <summary>
/// Which configuration keys differ between two <see cref="ServerConfig"/>s, and what a running server does with
/// each (<see cref="ConfigKey.Reload"/>, declared in <see cref="ConfigKeys"/>).
/// </summary>
public static class ConfigChanges
{
    /// <summary>The keys whose values differ, in declaration order, split into those applied live and those needing a restart.</summary>
    public static (List<string> Live, List<string> RestartNeeded) Compare(ServerConfig running, ServerConfig next)
    {
        var live = new List<string>();
        var restart = new List<string>();
        foreach (var key in ConfigKeys.All)
        {
            if (Equals(key.Value(running), key.Value(next))) continue;
            (key.Reload == ReloadEffect.Restart ? restart : live).Add(key.Name);
        }
        return (live, restart);
    }

    /// <summary>What actually runs after a reload: <paramref name="next"/>, with the restart-only keys kept from <paramref name="running"/>.</summary>
    public static ServerConfig Effective(ServerConfig running, ServerConfig next)
    {
        var effective = next.Copy();
        foreach (var key in ConfigKeys.All)
            if (key.Reload == ReloadEffect.Restart) key.Copy(running, effective);
        return effective;
    }

    /// <summary>Whether the recursor must be rebuilt (its options are immutable; caches are kept).</summary>
    public static bool AffectsRecursor(IEnumerable<string> keys) => keys.Any(k => ConfigKeys.Find(k)?.Reload == ReloadEffect.Recursor);
}

using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Iteration;

namespace Ananas.Resolver;

/// <summary>
/// The one place where a deployed resolver's options start and its parts are assembled from them: <c>ananas resolve</c>
/// uses it, and so should the server's configuration, so that both resolve alike. Configuration sources (command-line
/// flags, config keys) change <see cref="Defaults"/> with <c>with</c>; <see cref="CreateRecursor"/> then sizes the
/// record cache from the same options (TTL bounds, stale retention for serve-stale), which building a
/// <see cref="RecordCache"/> with its own defaults would not.
/// </summary>
public static class ResolverProfile
{
    /// <summary>The options before any configuration: <see cref="RecursorOptions"/>' defaults.</summary>
    public static RecursorOptions Defaults { get; } = new();

    /// <summary>A recursor with a record cache and lame-server list built from <paramref name="options"/>.</summary>
    public static Recursor CreateRecursor(RecursorOptions options, IClock clock, IServerSelector selector) =>
        new(options, clock, new RecordCache(clock, RecordCacheOptions.For(options)), selector, new LameServerList(clock, options.LameHoldDown));
}

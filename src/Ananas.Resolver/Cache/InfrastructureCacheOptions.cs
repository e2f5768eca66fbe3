namespace Ananas.Resolver.Cache;

/// <summary>Settings of the <see cref="InfrastructureCache"/>.</summary>
public sealed record InfrastructureCacheOptions
{
    /// <summary>RTO for a server never measured (Unbound uses 376 ms; RFC 6298's 1 s is slow for DNS).</summary>
    public TimeSpan InitialRto { get; init; } = TimeSpan.FromMilliseconds(400);

    public TimeSpan MinRto { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan MaxRto { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>After this many failures in a row the server is held down (not asked) for a while.</summary>
    public int HoldDownAfterFailures { get; init; } = 4;

    /// <summary>The first hold-down; each further failure in a row doubles it, up to <see cref="MaxHoldDown"/>.</summary>
    public TimeSpan InitialHoldDown { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxHoldDown { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A server not heard about for this long is forgotten, so a recovered server gets a fresh start.</summary>
    public TimeSpan EntryLifetime { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Most servers remembered; beyond it the least recently updated are forgotten.</summary>
    public int MaxServers { get; init; } = 100_000;
}

using Ananas.Server.Scheduling;

namespace Ananas.Server.Pipeline;

/// <summary>How the worker pipeline treats frames.</summary>
public sealed record PipelineOptions
{
    /// <summary>Who may query.</summary>
    public AccessList Access { get; init; } = AccessList.Default;

    /// <summary>
    /// Clients (among those <see cref="Access"/> admits) whose queries without RD that the cache cannot answer get a
    /// referral from the cache instead of REFUSED (cache snooping, Unbound <c>allow_snoop</c>). Nobody by default.
    /// </summary>
    public AccessList Snoop { get; init; } = AccessList.Parse([]);

    /// <summary>A recursion is abandoned (SERVFAIL) after this long.</summary>
    public TimeSpan ResolveTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Our largest UDP reply and the payload size we advertise (RFC 9715: 1232 avoids fragmentation).</summary>
    public ushort MaxUdpPayload { get; init; } = 1232;

    /// <summary>Client groups for fairness: IPv4 prefix length.</summary>
    public int GroupPrefixV4 { get; init; } = 24;

    /// <summary>Client groups for fairness: IPv6 prefix length.</summary>
    public int GroupPrefixV6 { get; init; } = 56;

    /// <summary>The miss scheduler's bounds; null runs every miss at once (tests).</summary>
    public SchedulerOptions? Scheduler { get; init; } = new();
}

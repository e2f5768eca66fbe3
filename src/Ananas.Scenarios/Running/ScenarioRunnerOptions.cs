namespace Ananas.Scenarios.Running;

/// <summary>Knobs of <see cref="ScenarioRunner"/>.</summary>
public sealed class ScenarioRunnerOptions
{
    /// <summary>Wall-clock limit for one scenario (all variants), so a hanging resolver cannot stall the run.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Only run unbound files whose name has a DNS-behaviour prefix (iter_, val_, fwd_, …); see README of the corpus.</summary>
    public bool FilterUnboundPrefixes { get; init; } = true;

    /// <summary>Seed for message IDs, so runs are reproducible.</summary>
    public int Seed { get; init; } = 20240101;
}

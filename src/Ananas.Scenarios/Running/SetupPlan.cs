using Ananas.Scenarios.Model;

namespace Ananas.Scenarios.Running;

/// <summary>
/// What a scenario's config asks for: one setup per run variant (deckard runs a scenario without a
/// <c>query-minimization</c> key twice), the features it needs, and config it cannot honour.
/// </summary>
public sealed record SetupPlan(IReadOnlyList<ScenarioSetup> Variants, ScenarioCapabilities Required, IReadOnlyList<SkipReason> SkipReasons);

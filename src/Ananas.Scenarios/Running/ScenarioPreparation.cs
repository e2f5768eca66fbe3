using Ananas.Scenarios.Messages;
using Ananas.Scenarios.Model;

namespace Ananas.Scenarios.Running;

/// <summary>
/// A scenario checked for runnability against a resolver's capabilities: either ready (plan and templates
/// built) or skipped with every reason found.
/// </summary>
public sealed record ScenarioPreparation(Scenario Scenario, SetupPlan Plan, ScenarioTemplates? Templates, IReadOnlyList<SkipReason> SkipReasons)
{
    public bool CanRun => SkipReasons.Count == 0 && Templates is not null;
}

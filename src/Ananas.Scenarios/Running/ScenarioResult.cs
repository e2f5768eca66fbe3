using Ananas.Scenarios.Model;

namespace Ananas.Scenarios.Running;

public enum ScenarioOutcome
{
    Passed,
    Failed,
    Skipped,
}

/// <summary>
/// One reason a scenario failed: a CHECK_ANSWER element that did not match (with dig-like text of both
/// messages), a missing answer, an undefined upstream query, an unused MANDATORY entry, an exception or a timeout.
/// </summary>
public sealed record ScenarioFailure(string Variant, int StepId, int Line, string Element, string Expected, string Actual)
{
    public string? ExpectedMessage { get; init; }

    public string? ActualMessage { get; init; }

    public override string ToString()
    {
        var where = StepId > 0 ? $"step {StepId} (line {Line})" : Line > 0 ? $"line {Line}" : "end";
        var variant = Variant.Length == 0 ? "" : $"[{Variant}] ";
        return $"{variant}{where} {Element}: expected {Expected}, got {Actual}";
    }
}

/// <summary>The result of one scenario file.</summary>
public sealed class ScenarioResult(string path, ScenarioOutcome outcome)
{
    public string Path { get; } = path;

    public ScenarioOutcome Outcome { get; } = outcome;

    public string Title { get; init; } = "";

    public IReadOnlyList<ScenarioFailure> Failures { get; init; } = [];

    public IReadOnlyList<SkipReason> SkipReasons { get; init; } = [];

    /// <summary>The exchange trace of every run (for <c>--verbose</c>).</summary>
    public IReadOnlyList<string> Trace { get; init; } = [];

    /// <summary>A one-line reason: the first failure or skip reason, with a count of the rest.</summary>
    public string Summary
    {
        get
        {
            static string More(int n) => n > 1 ? $" (+{n - 1} more)" : "";
            return Outcome switch
            {
                ScenarioOutcome.Failed => Failures.Count == 0 ? "failed" : Failures[0] + More(Failures.Count),
                ScenarioOutcome.Skipped => SkipReasons.Count == 0 ? "skipped" : SkipReasons[0] + More(SkipReasons.Count),
                _ => "",
            };
        }
    }
}

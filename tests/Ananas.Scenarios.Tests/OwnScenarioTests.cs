using Ananas.Scenarios.Running;

namespace Ananas.Scenarios.Tests;

/// <summary>Every scenario we wrote (tests/scenarios) must pass against the real recursor.</summary>
public sealed class OwnScenarioTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.EnumerateFiles(TestPaths.OwnScenarios, "*.rpl").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Scenario_passes_against_the_recursor(string file)
    {
        var result = await new ScenarioRunner(new RecursorScenarioResolverFactory())
            .RunFileAsync(Path.Combine(TestPaths.OwnScenarios, file));
        Assert.True(result.Outcome == ScenarioOutcome.Passed,
            $"{file}: {result.Outcome}: {result.Summary}\n{string.Join("\n", result.Failures.Select(f => f.ToString()))}");
    }
}

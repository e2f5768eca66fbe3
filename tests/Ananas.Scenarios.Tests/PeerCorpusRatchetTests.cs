using System.Text;
using Ananas.Scenarios.Running;
using Xunit.Abstractions;

namespace Ananas.Scenarios.Tests;

/// <summary>
/// Runs the peer corpus (../shared/corpus, when present) against the recursor. Scenarios listed in
/// Data/corpus-passing.txt are known to pass: one of them failing is a regression (a ratchet). The counts
/// for both corpora go to the test output and to a report that ./test prints before its summary.
/// </summary>
public sealed class PeerCorpusRatchetTests(ITestOutputHelper output)
{
    private static readonly string PassingListPath =
        Path.Combine(TestPaths.RepoRoot, "tests", "Ananas.Scenarios.Tests", "Data", "corpus-passing.txt");

    [Fact]
    public async Task Known_passing_peer_scenarios_still_pass()
    {
        if (!Directory.Exists(TestPaths.Corpus))
        {
            output.WriteLine($"peer corpus not present at {TestPaths.Corpus}; nothing to run");
            return;
        }
        var expected = File.ReadAllLines(PassingListPath)
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToHashSet(StringComparer.Ordinal);

        var runner = new ScenarioRunner(new RecursorScenarioResolverFactory());
        var report = new StringBuilder();
        var regressions = new List<string>();
        var newlyPassing = new List<string>();
        foreach (var corpus in new[] { "deckard", "unbound" })
        {
            int passed = 0, failed = 0, skipped = 0;
            var dir = Path.Combine(TestPaths.Corpus, corpus);
            var files = Directory.EnumerateFiles(dir)
                .Where(f => f.EndsWith(".rpl", StringComparison.Ordinal) || f.EndsWith(".crpl", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal);
            foreach (var file in files)
            {
                string key = corpus + "/" + Path.GetFileName(file);
                var result = await runner.RunFileAsync(file);
                switch (result.Outcome)
                {
                    case ScenarioOutcome.Passed:
                        passed++;
                        if (!expected.Contains(key)) newlyPassing.Add(key);
                        break;
                    case ScenarioOutcome.Failed:
                        failed++;
                        if (expected.Contains(key)) regressions.Add($"{key}: {result.Summary}");
                        break;
                    default:
                        skipped++;
                        if (expected.Contains(key)) regressions.Add($"{key}: now skipped: {result.Summary}");
                        break;
                }
            }
            report.AppendLine($"peer corpus {corpus}: {passed} passed, {failed} failed, {skipped} skipped");
        }
        output.WriteLine(report.ToString());
        foreach (var n in newlyPassing) output.WriteLine($"newly passing (add to corpus-passing.txt): {n}");
        WriteReport(report.ToString());
        Assert.True(regressions.Count == 0, "scenarios on the known-passing list failed:\n" + string.Join("\n", regressions));
    }

    private static void WriteReport(string text)
    {
        var dir = Path.Combine(TestPaths.RepoRoot, ".build", "test-results");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "peer-corpus.report.txt"), text);
    }
}

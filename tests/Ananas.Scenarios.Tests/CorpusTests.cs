using Ananas.Scenarios.Model;
using Ananas.Scenarios.Parsing;
using Ananas.Scenarios.Running;
using Xunit.Abstractions;

namespace Ananas.Scenarios.Tests;

/// <summary>Every file of the shared peer corpus must parse, or at least yield skip reasons: never an exception.</summary>
public sealed class CorpusTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("deckard")]
    [InlineData("unbound")]
    public void EveryCorpusFileParsesOrYieldsSkipReasons(string folder)
    {
        var dir = Path.Combine(TestPaths.Corpus, folder);
        if (!Directory.Exists(dir))
        {
            output.WriteLine($"corpus not present at {dir}; nothing to check");
            return;
        }
        int clean = 0, skipped = 0;
        var tally = new Dictionary<string, int>();
        var files = Directory.EnumerateFiles(dir).Where(f => f.EndsWith(".rpl", StringComparison.Ordinal) || f.EndsWith(".crpl", StringComparison.Ordinal)).Order().ToList();
        foreach (var file in files)
        {
            Scenario scenario;
            try { scenario = ScenarioParser.ParseFile(file); }
            catch (ScenarioParseException e) { Assert.Fail($"corpus file does not parse: {e.Message}"); return; }
            Assert.Equal(folder == "unbound" ? ScenarioDialect.Unbound : ScenarioDialect.Deckard, scenario.Dialect);
            var prep = ScenarioRunner.Prepare(scenario, ScenarioCapabilities.All, new ScenarioRunnerOptions { FilterUnboundPrefixes = false });
            if (prep.CanRun) clean++;
            else
            {
                skipped++;
                foreach (var r in prep.SkipReasons.Select(r => Normalize(r.Reason)).Distinct())
                    tally[r] = tally.GetValueOrDefault(r) + 1;
            }
        }
        output.WriteLine($"{folder}: {files.Count} files, {clean} ready to run, {skipped} with skip reasons (all capabilities assumed)");
        foreach (var (reason, count) in tally.OrderByDescending(kv => kv.Value).Take(25)) output.WriteLine($"  {count,4}  {reason}");
        Assert.NotEmpty(files);
    }

    // Record texts vary per file; group "record not parseable yet" reasons by their problem without the record text.
    private static string Normalize(string reason)
    {
        int cut = reason.IndexOf(" is not supported", StringComparison.Ordinal);
        return reason.StartsWith("record not parseable yet", StringComparison.Ordinal) && cut > 0 ? reason[..cut] : reason;
    }
}

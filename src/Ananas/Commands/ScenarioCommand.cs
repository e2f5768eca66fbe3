using System.CommandLine;
using Ananas.Scenarios.Model;
using Ananas.Scenarios.Running;

namespace Ananas.Cli;

/// <summary><c>ananas scenario FILE|DIR...</c>: replays <c>.rpl</c> scenarios against the bound resolver.</summary>
internal static class ScenarioCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "Scenario files (.rpl/.crpl) or folders of them.", Arity = ArgumentArity.ZeroOrMore };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Print expected and actual messages for every mismatch, and the exchange trace." };
        var dialect = new Option<string>("--dialect") { Description = "Scenario dialect: auto, deckard or unbound.", DefaultValueFactory = _ => "auto" };
        // Paths and dialect are validated in the action, so that usage errors exit with 2 (parse errors exit with 1).
        var listSkips = new Option<bool>("--list-skips") { Description = "Print every skip reason and a tally of them." };

        var command = new Command("scenario", "Run resolver test scenarios (deckard/unbound .rpl) offline against Ananas.") { paths, verbose, dialect, listSkips };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(paths)!, parse.GetValue(verbose), parse.GetValue(dialect)!, parse.GetValue(listSkips), ct));
        return command;
    }

    private static async Task<int> RunAsync(string[] paths, bool verbose, string dialectText, bool listSkips, CancellationToken ct)
    {
        if (paths.Length == 0) return Usage("give at least one scenario file or folder");
        if (dialectText is not ("auto" or "deckard" or "unbound")) return Usage($"--dialect must be auto, deckard or unbound, not '{dialectText}'");
        ScenarioDialect? dialect = dialectText switch { "deckard" => ScenarioDialect.Deckard, "unbound" => ScenarioDialect.Unbound, _ => null };
        var files = new List<string>();
        foreach (var p in paths)
        {
            if (Directory.Exists(p))
                files.AddRange(Directory.EnumerateFiles(p).Where(f => f.EndsWith(".rpl", StringComparison.Ordinal) || f.EndsWith(".crpl", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
            else if (File.Exists(p)) files.Add(p);
            else return Usage($"no such file or folder: {p}");
        }

        IScenarioResolverFactory factory;
        try { factory = ScenarioResolvers.GetDefault(); }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"ananas scenario: {e.Message}");
            return 2;
        }

        var runner = new ScenarioRunner(factory);
        int passed = 0, failed = 0, skipped = 0;
        var tally = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var r = await runner.RunFileAsync(file, dialect, ct).ConfigureAwait(false);
            switch (r.Outcome)
            {
                case ScenarioOutcome.Passed:
                    passed++;
                    Console.WriteLine($"PASS {file}");
                    break;
                case ScenarioOutcome.Failed:
                    failed++;
                    Console.WriteLine($"FAIL {file}: {r.Summary}");
                    if (verbose) PrintFailures(r);
                    break;
                default:
                    skipped++;
                    Console.WriteLine($"SKIP {file}: {r.Summary}");
                    foreach (var reason in r.SkipReasons)
                    {
                        if (listSkips) Console.WriteLine($"    {reason}");
                        tally[reason.Reason] = tally.GetValueOrDefault(reason.Reason) + 1;
                    }
                    break;
            }
            if (verbose && r.Trace.Count > 0)
            {
                Console.WriteLine("  exchanges:");
                foreach (var line in r.Trace) Console.WriteLine($"    {line}");
            }
        }
        if (listSkips && tally.Count > 0)
        {
            Console.WriteLine("skip reasons:");
            foreach (var (reason, count) in tally.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
                Console.WriteLine($"  {count,5}  {reason}");
        }
        Console.WriteLine($"{passed} passed, {failed} failed, {skipped} skipped");
        return failed > 0 ? 1 : 0;
    }

    private static int Usage(string message)
    {
        Console.Error.WriteLine($"ananas scenario: {message}");
        return 2;
    }

    private static void PrintFailures(ScenarioResult r)
    {
        foreach (var f in r.Failures)
        {
            Console.WriteLine($"  {f}");
            if (f.ExpectedMessage is { } e) Console.WriteLine("  expected:\n" + Indent(e));
            if (f.ActualMessage is { } a) Console.WriteLine("  actual:\n" + Indent(a));
        }
    }

    private static string Indent(string text) =>
        string.Join('\n', text.TrimEnd('\n').Split('\n').Select(l => "    " + l));
}

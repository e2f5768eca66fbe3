namespace Ananas.Scenarios.Messages;

/// <summary>A record or question line that the DNS library cannot parse (yet): the scenario is skipped, not failed.</summary>
public sealed class UnsupportedRecordException(int line, string text, string problem)
    : Exception($"record at line {line} not parseable: {problem} ('{text}')")
{
    public int Line { get; } = line;

    public string Problem { get; } = problem;
}

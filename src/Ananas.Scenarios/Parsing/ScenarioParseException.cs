namespace Ananas.Scenarios.Parsing;

/// <summary>A scenario file that is malformed (not merely unsupported). The message starts with <c>file:line:</c>.</summary>
public sealed class ScenarioParseException(string path, int line, string problem)
    : Exception($"{path}:{line}: {problem}")
{
    public string Path { get; } = path;

    public int Line { get; } = line;

    public string Problem { get; } = problem;
}

namespace Ananas.Scenarios.Messages;

/// <summary>One MATCH element that failed: what the entry expected and what the message had.</summary>
public sealed record Mismatch(string Element, string Expected, string Actual)
{
    public override string ToString() => $"{Element}: expected {Expected}, got {Actual}";
}

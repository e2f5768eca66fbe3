namespace Ananas.Scenarios.Model;

/// <summary>Why a scenario cannot run (yet): an unsupported keyword, option or feature, with the line it came from.</summary>
public sealed record SkipReason(string Reason, int Line = 0)
{
    public override string ToString() => Line > 0 ? $"{Reason} (line {Line})" : Reason;
}

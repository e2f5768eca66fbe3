namespace Ananas.Dns.Zones;

public enum ZoneIssueSeverity : byte
{
    /// <summary>Suspicious but loadable (what BIND's named-checkzone warns about).</summary>
    Warning,

    /// <summary>The zone is broken and should not be served.</summary>
    Error,
}

/// <summary>One finding of <see cref="ZoneChecker"/>, placed at the record it concerns.</summary>
public sealed record ZoneIssue(ZoneIssueSeverity Severity, string File, int Line, int Column, string Message)
{
    public override string ToString() =>
        $"{File}:{Line}:{Column}: {(Severity == ZoneIssueSeverity.Error ? "error" : "warning")}: {Message}";
}

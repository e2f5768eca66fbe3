using System.Net;

namespace Ananas.Scenarios.Model;

/// <summary>Step types of both dialects (the unbound-only ones are parsed so that they can be reported as skipped).</summary>
public enum StepKind
{
    Query,
    CheckAnswer,
    TimePasses,
    Reply,
    CheckOutQuery,
    Nothing,
    Timeout,
    Error,
    Traffic,
    Assign,
    CheckAutotrust,
    CheckTempfile,
    InfraRtt,
    FlushMessage,
    ExpireMessage,
}

/// <summary>One <c>STEP id KIND …</c> line, with its entry when the kind takes one.</summary>
public sealed class ScenarioStep(int id, StepKind kind, int line)
{
    public int Id { get; } = id;

    public StepKind Kind { get; } = kind;

    public int Line { get; } = line;

    public ScenarioEntry? Entry { get; set; }

    /// <summary>TIME_PASSES ELAPSE seconds (unbound allows fractions).</summary>
    public double? Elapse { get; set; }

    /// <summary>Unbound <c>ADDRESS ip</c> option (QUERY source or CHECK_OUT_QUERY destination).</summary>
    public IPAddress? Address { get; set; }

    /// <summary>The rest of the line for kinds we only report (ASSIGN, TIME_PASSES EVAL, …).</summary>
    public string Arguments { get; set; } = "";
}

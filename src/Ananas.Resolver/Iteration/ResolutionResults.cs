using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Iteration;

/// <summary>Why resolution failed, as it will be reported to the client (an Extended DNS Error, RFC 8914).</summary>
public sealed record ResolutionFailure(EdeCode Code, string Text)
{
    /// <summary>A validation verdict (bogus data), not a failure to get the data: void once validation no longer covers the name.</summary>
    public bool Bogus { get; init; }

    /// <summary>No server sent any response (timeouts, network errors, no address): the data was never seen.</summary>
    public bool NoServerAnswered { get; init; }

    public static ResolutionFailure Bound(string bound, object value) => new(EdeCode.Other, Limits.Describe(bound, value));
}

/// <summary>The result of resolving one client question: the RCODE, the answer chain, the SOA for negatives.</summary>
public sealed class ResolutionOutcome(Rcode rcode, List<ResourceRecord> answer)
{
    public Rcode Rcode { get; } = rcode;

    public List<ResourceRecord> Answer { get; } = answer;

    /// <summary>Authority section content: the SOA of a negative answer (TTL already the negative TTL).</summary>
    public ResourceRecord? Soa { get; init; }

    /// <summary>Further authority records of a negative answer (after the SOA).</summary>
    public IReadOnlyList<ResourceRecord> Authority { get; init; } = [];

    /// <summary>Set when <see cref="Rcode"/> is SERVFAIL (or another failure).</summary>
    public ResolutionFailure? Failure { get; init; }

    /// <summary>
    /// Owners of answer RRsets that a server sent after an alias in the same response (the rest of the chain it
    /// followed itself): not necessarily authoritative (RFC 2181 §5.4.1). Null when there were none.
    /// </summary>
    internal HashSet<DnsName>? AliasTails { get; init; }

    public static ResolutionOutcome Fail(ResolutionFailure failure, List<ResourceRecord>? partial = null) =>
        new(Rcode.ServFail, partial ?? []) { Failure = failure };
}

/// <summary>What one name step (cache lookup or iteration for one name) produced.</summary>
internal enum StepKind : byte
{
    Answer,
    Alias,
    Negative,
    YXDomain,
    Failure,
}

/// <summary>
/// The result of one name step: the records to append to the answer (the data, or the alias links), and for
/// aliases the name to continue at. A value: every name step of every resolution makes one.
/// </summary>
internal readonly struct Step(StepKind kind, List<ResourceRecord> records)
{
    public StepKind Kind { get; } = kind;

    public List<ResourceRecord> Records { get; } = records;

    public DnsName? Target { get; init; }

    /// <summary>Alias links (CNAMEs followed, DNAMEs applied) in <see cref="Records"/>.</summary>
    public int Links { get; init; }

    public Rcode NegativeRcode { get; init; }

    public ResourceRecord? Soa { get; init; }

    public IReadOnlyList<ResourceRecord> Authority { get; init; } = [];

    public ResolutionFailure? Failure { get; init; }

    public static Step Fail(ResolutionFailure failure) => new(StepKind.Failure, []) { Failure = failure };
}

using System.Net;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Scenarios.Model;

namespace Ananas.Scenarios.Replay;

/// <summary>What became of one upstream query.</summary>
public enum ExchangeOutcome
{
    /// <summary>An entry answered it.</summary>
    Answered,

    /// <summary>No entry matched; deckard answers SERVFAIL and counts an undefined answer, unbound lets it time out.</summary>
    Unmatched,

    /// <summary>The destination is in no range: dropped (timeout).</summary>
    UnknownAddress,

    /// <summary>The matching entry says <c>do_not_answer</c>, or the reply's ID did not match the query (a real client drops it).</summary>
    Dropped,

    /// <summary>The entry's raw reply does not parse.</summary>
    Malformed,

    /// <summary>Unbound dialect: no range answered; waiting for a step (REPLY, TIMEOUT, ERROR, CHECK_OUT_QUERY).</summary>
    Pending,

    /// <summary>A pending query a <c>STEP TIMEOUT</c> (or the runner, when the client answer was due) timed out.</summary>
    TimedOut,

    /// <summary>A pending query a <c>STEP ERROR</c> closed (network error).</summary>
    Closed,
}

/// <summary>One exchange the resolver made, for traces and assertions.</summary>
public sealed record ExchangeRecord(int Step, IPEndPoint Server, UpstreamTransport Transport, Question? Question,
                                    DnsMessage Query, ExchangeOutcome Outcome, ScenarioEntry? Entry, string Note)
{
    public override string ToString()
    {
        var q = Question?.ToString() ?? "(no question)";
        var by = Entry is null ? "" : $" by entry at line {Entry.Line}";
        var note = Note.Length == 0 ? "" : $" ({Note})";
        return $"step {Step}: {q} -> {Server.Address} {Transport}: {Outcome}{by}{note}";
    }
}

using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Scenarios.Messages;
using Ananas.Scenarios.Model;

namespace Ananas.Scenarios.Replay;

/// <summary>
/// The mock upstream: answers the resolver's queries from the scenario's RANGEs and REPLY steps.
/// Deckard (FORMAT.md §1.6): the first range in file order whose window covers <see cref="CurrentStep"/> and
/// which serves the address is chosen, with no fall-through; an unmatched query gets SERVFAIL and counts as an
/// undefined answer; when no range is eligible, one-shot <c>STEP n REPLY</c> entries with n ≥ current are tried.
/// Unbound (§2.2): ranges are tried in reverse file order and fall through; an unmatched query stays pending,
/// and the runner's steps answer, time out or close it (<see cref="PendingReplay"/>; without it, a timeout).
/// Queries to addresses no range serves time out. Every exchange is recorded in <see cref="Exchanges"/>.
/// </summary>
public sealed class ReplayExchanger : IExchanger
{
    /// <summary>Round trip reported for answered queries (the replay is instantaneous; a plausible RTT keeps server selection sane).</summary>
    public static readonly TimeSpan ReplyRoundTrip = TimeSpan.FromMilliseconds(10);

    /// <summary>Wait reported for timeouts.</summary>
    public static readonly TimeSpan TimeoutWait = TimeSpan.FromSeconds(2);

    private readonly Scenario _scenario;
    private readonly ScenarioTemplates _templates;
    private readonly IRandom _random;
    private readonly Lock _lock = new();
    private readonly List<ExchangeRecord> _exchanges = [];
    private readonly HashSet<ScenarioEntry> _used = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<ScenarioStep> _consumedReplies = new(ReferenceEqualityComparer.Instance);
    private readonly List<PendingQuery> _pending = [];
    private List<TaskCompletionSource> _pendingWaiters = [];
    private int _pendingVersion;
    private int _currentStep;

    public ReplayExchanger(Scenario scenario, ScenarioTemplates templates, IRandom? random = null)
    {
        _scenario = scenario;
        _templates = templates;
        _random = random ?? new SeededRandom(1);
    }

    /// <summary>The step id that selects ranges (set by the runner before each step).</summary>
    public int CurrentStep
    {
        get => Volatile.Read(ref _currentStep);
        set => Volatile.Write(ref _currentStep, value);
    }

    /// <summary>A snapshot of every exchange so far, in order.</summary>
    public IReadOnlyList<ExchangeRecord> Exchanges
    {
        get { lock (_lock) return _exchanges.ToArray(); }
    }

    /// <summary>Deckard "undefined answers": queries no entry scripted (each fails the scenario at the end).</summary>
    public IReadOnlyList<ExchangeRecord> UndefinedAnswers
    {
        get { lock (_lock) return _exchanges.Where(e => e.Outcome == ExchangeOutcome.Unmatched && _scenario.Dialect == ScenarioDialect.Deckard).ToArray(); }
    }

    /// <summary>Whether an entry has answered at least once (for MANDATORY).</summary>
    public bool WasUsed(ScenarioEntry entry)
    {
        lock (_lock) return _used.Contains(entry);
    }

    public ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken)
    {
        // The exchanger owns the message ID (as the real conductor does): replies must carry it back.
        var query = MessageCopy.Clone(request.Query);
        query.Id = (ushort)_random.Next(ushort.MaxValue + 1);
        var address = Normalize(request.Server.Address);
        PendingQuery pending;
        lock (_lock)
        {
            int step = CurrentStep;
            var (template, outcome, note) = _scenario.Dialect == ScenarioDialect.Deckard
                ? SelectDeckard(query, address, step)
                : SelectUnbound(query, address, step, request.Transport);
            if (template is not null || _scenario.Dialect == ScenarioDialect.Deckard || !PendingReplay)
            {
                var (o, n, result) = Respond(request, query, template, outcome, note);
                _exchanges.Add(new ExchangeRecord(step, request.Server, request.Transport, query.Questions.FirstOrDefault(), query, o, template?.Entry, n));
                return new ValueTask<ExchangeResult>(result);
            }
            // Testbound (FORMAT.md §2.2): a query no range answers stays pending until a step answers it
            // (REPLY, CHECK_OUT_QUERY with copy_id), times it out (TIMEOUT) or closes it (ERROR).
            pending = new PendingQuery(request, query, _exchanges.Count);
            _exchanges.Add(new ExchangeRecord(step, request.Server, request.Transport, query.Questions.FirstOrDefault(), query, ExchangeOutcome.Pending, null, note));
            _pending.Add(pending);
            _pendingVersion++;
            var waiters = _pendingWaiters;
            _pendingWaiters = [];
            foreach (var w in waiters) w.TrySetResult();
        }
        if (cancellationToken.CanBeCanceled)
            cancellationToken.Register(() => pending.Completion.TrySetCanceled(cancellationToken));
        return new ValueTask<ExchangeResult>(pending.Completion.Task);
    }

    /// <summary>
    /// Whether unmatched unbound-dialect queries stay pending (the runner then drives them with REPLY/TIMEOUT/ERROR/
    /// CHECK_OUT_QUERY steps); when false they time out at once.
    /// </summary>
    public bool PendingReplay { get; init; }

    /// <summary>A query waiting for a step to answer it.</summary>
    public sealed class PendingQuery(ExchangeRequest request, DnsMessage query, int recordIndex)
    {
        public ExchangeRequest Request { get; } = request;

        /// <summary>The query as sent (with the exchanger's ID).</summary>
        public DnsMessage Query { get; } = query;

        public int RecordIndex { get; } = recordIndex;

        // Continuations run inline on the completing thread, so a step's effects are done when it returns.
        internal TaskCompletionSource<ExchangeResult> Completion { get; } = new();
    }

    /// <summary>Queries still pending, oldest first (the last one is testbound's "head of the pending list").</summary>
    public IReadOnlyList<PendingQuery> Pending
    {
        get { lock (_lock) return _pending.ToArray(); }
    }

    /// <summary>Increases every time a query becomes pending.</summary>
    public int PendingVersion
    {
        get { lock (_lock) return _pendingVersion; }
    }

    /// <summary>Completes once a query became pending after <paramref name="version"/>.</summary>
    public Task WaitForPendingAsync(int version)
    {
        lock (_lock)
        {
            if (_pendingVersion > version) return Task.CompletedTask;
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _pendingWaiters.Add(tcs);
            return tcs.Task;
        }
    }

    /// <summary>Answers a pending query with an entry (STEP REPLY, CHECK_OUT_QUERY with copy_id); false if it is no longer pending.</summary>
    public bool Answer(PendingQuery pending, ScenarioEntry entry, int step, string note)
    {
        ExchangeResult result;
        lock (_lock)
        {
            if (!_pending.Remove(pending)) return false;
            var (o, n, r) = Respond(pending.Request, pending.Query, _templates[entry], ExchangeOutcome.Answered, note);
            _exchanges[pending.RecordIndex] = _exchanges[pending.RecordIndex] with { Outcome = o, Entry = entry, Note = Join(n, $"step {step}") };
            result = r;
        }
        pending.Completion.TrySetResult(result);
        return true;
    }

    /// <summary>Ends a pending query without an answer: a timeout (STEP TIMEOUT) or a closed connection (STEP ERROR).</summary>
    public bool Fail(PendingQuery pending, ExchangeStatus status, int step, string note)
    {
        ExchangeResult result;
        lock (_lock)
        {
            if (!_pending.Remove(pending)) return false;
            var transport = pending.Request.Transport;
            result = status == ExchangeStatus.Timeout ? ExchangeResult.Timeout(TimeoutWait, transport) : ExchangeResult.Failed(status, transport);
            var outcome = status == ExchangeStatus.Timeout ? ExchangeOutcome.TimedOut : ExchangeOutcome.Closed;
            _exchanges[pending.RecordIndex] = _exchanges[pending.RecordIndex] with { Outcome = outcome, Note = Join(note, $"step {step}") };
        }
        pending.Completion.TrySetResult(result);
        return true;
    }

    private (MessageTemplate?, ExchangeOutcome, string) SelectDeckard(DnsMessage query, IPAddress address, int step)
    {
        var range = _scenario.Ranges.FirstOrDefault(r => r.Covers(step) && r.Serves(address));
        if (range is not null)
        {
            foreach (var entry in range.Entries)
            {
                var t = _templates[entry];
                if (MessageComparer.Matches(t, query, ScenarioDialect.Deckard)) return (t, ExchangeOutcome.Answered, "");
            }
            return (null, ExchangeOutcome.Unmatched, $"no entry of the range at line {range.Line} matches");
        }
        foreach (var s in _scenario.Steps)
        {
            if (s.Kind != StepKind.Reply || s.Id < step || s.Entry is null || _consumedReplies.Contains(s)) continue;
            var t = _templates[s.Entry];
            if (!MessageComparer.Matches(t, query, ScenarioDialect.Deckard)) continue;
            _consumedReplies.Add(s);
            return (t, ExchangeOutcome.Answered, $"one-shot STEP {s.Id} REPLY");
        }
        if (!_scenario.Ranges.Any(r => r.Serves(address)))
            return (null, ExchangeOutcome.UnknownAddress, "no range serves this address");
        return (null, ExchangeOutcome.Unmatched, "no range covers this step for this address");
    }

    private (MessageTemplate?, ExchangeOutcome, string) SelectUnbound(DnsMessage query, IPAddress address, int step, UpstreamTransport transport)
    {
        bool known = false;
        for (int i = _scenario.Ranges.Count - 1; i >= 0; i--)
        {
            var range = _scenario.Ranges[i];
            if (!range.Serves(address)) continue;
            known = true;
            if (!range.Covers(step)) continue;
            foreach (var entry in range.Entries)
            {
                var t = _templates[entry];
                if (MessageComparer.Matches(t, query, ScenarioDialect.Unbound, transport)) return (t, ExchangeOutcome.Answered, "");
            }
        }
        return known
            ? (null, ExchangeOutcome.Unmatched, "no entry matches; would stay pending, timed out")
            : (null, ExchangeOutcome.UnknownAddress, "no range serves this address");
    }

    private (ExchangeOutcome, string, ExchangeResult) Respond(ExchangeRequest request, DnsMessage query, MessageTemplate? template, ExchangeOutcome outcome, string note)
    {
        var transport = request.Transport;
        if (template is null)
        {
            if (outcome == ExchangeOutcome.Unmatched && _scenario.Dialect == ScenarioDialect.Deckard)
                return (outcome, note, ExchangeResult.Ok(query.CreateResponse(Rcode.ServFail), ReplyRoundTrip, transport));
            return (outcome, note, ExchangeResult.Timeout(TimeoutWait, transport));
        }

        var entry = template.Entry;
        _used.Add(entry);
        if (entry.HasAdjust("do_not_answer")) return (ExchangeOutcome.Dropped, Join(note, "do_not_answer"), ExchangeResult.Timeout(TimeoutWait, transport));

        byte[] wire;
        if (template.Raw is { } raw)
        {
            wire = (byte[])raw.Clone();
            if (entry.HasAdjust("raw_id") && wire.Length >= 2)
            {
                wire[0] = (byte)(query.Id >> 8);
                wire[1] = (byte)query.Id;
            }
        }
        else
        {
            wire = Adjust(template.Message, query, entry).ToArray();
        }

        DnsMessage reply;
        try
        {
            reply = DnsMessage.Parse(wire, skipMalformedRecords: true);
        }
        catch (DnsFormatException e)
        {
            return (ExchangeOutcome.Malformed, Join(note, e.Message), ExchangeResult.Failed(ExchangeStatus.MalformedResponse, transport));
        }
        // A real client discards a reply whose ID differs from its query's (an entry without copy_id). Testbound's fake
        // network hands the reply to the pending query it answers without looking at the ID, so in the Unbound
        // dialect the reply is delivered as if it carried the query's ID.
        if (reply.Id != query.Id && _scenario.Dialect == ScenarioDialect.Unbound)
            reply.Id = query.Id;
        if (reply.Id != query.Id)
            return (ExchangeOutcome.Dropped, Join(note, "reply ID differs from the query's"), ExchangeResult.Timeout(TimeoutWait, transport));
        return (ExchangeOutcome.Answered, note, ExchangeResult.Ok(reply, ReplyRoundTrip, transport));
    }

    /// <summary>Applies copy_id / copy_query (FORMAT.md §1.5) to a copy of the template.</summary>
    private DnsMessage Adjust(DnsMessage template, DnsMessage query, ScenarioEntry entry)
    {
        var reply = MessageCopy.Clone(template);
        bool copyId = entry.HasAdjust("copy_id"), copyQuery = entry.HasAdjust("copy_query");
        bool deckard = _scenario.Dialect == ScenarioDialect.Deckard;
        if (copyId)
        {
            reply.Id = query.Id;
            // Deckard also copies the query's qname letter case into the template question (0x20).
            if (deckard && reply.Questions.Count > 0 && query.Questions.Count > 0)
                reply.Questions[0] = reply.Questions[0] with { Name = query.Question.Name };
        }
        if (copyQuery)
        {
            reply.Questions.Clear();
            reply.Questions.AddRange(query.Questions);
        }
        if (deckard && (copyId || copyQuery))
        {
            // Deckard mirrors the query's EDNS: OPT only if the query had one, its flags, the template's options.
            if (query.Edns is null)
            {
                reply.Edns = null;
                if ((ushort)reply.Rcode > 0xF) reply.Rcode = (Rcode)((ushort)reply.Rcode & 0xF);
            }
            else
            {
                var edns = new Edns
                {
                    UdpPayloadSize = template.Edns?.UdpPayloadSize ?? EntryMessageBuilder.DeckardPayloadSize,
                    DnssecOk = query.Edns.DnssecOk,
                    OtherFlags = query.Edns.OtherFlags,
                };
                if (template.Edns is not null) edns.Options.AddRange(template.Edns.Options);
                reply.Edns = edns;
            }
        }
        return reply;
    }

    private static string Join(string a, string b) => a.Length == 0 ? b : $"{a}; {b}";

    private static IPAddress Normalize(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
}

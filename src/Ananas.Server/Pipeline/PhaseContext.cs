using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Server.Frames;

namespace Ananas.Server.Pipeline;

/// <summary>
/// One query as phase handlers see it: the frame (bytes, client, transport, arrival), its shape read without
/// allocating, the parsed query (parsed on first use only), the response being built or sent, and, in
/// <see cref="Phase.Upstream"/>, the sub-request. The pipeline reuses one context per listener thread while a
/// query's phases complete synchronously, so nothing is allocated on a cache hit that no handler answers.
/// </summary>
public sealed class PhaseContext
{
    private Frame? _frame;
    private DnsMessage? _query;

    /// <summary>The frame; replaced by a detached copy when a handler awaits on a listener's thread.</summary>
    public Frame Frame => _frame ?? throw new InvalidOperationException("the context is not in use");

    public QueryShape Shape { get; private set; }

    /// <summary>The phase being run.</summary>
    public Phase Phase { get; internal set; }

    /// <summary>The prefix length of <see cref="Frame"/>'s client group (the client network of the plugin ABI).</summary>
    public int GroupPrefixLength { get; private set; }

    /// <summary>The query, parsed on first use (allocates; raises <see cref="Ananas.Dns.DnsFormatException"/> if malformed).</summary>
    public DnsMessage Query => _query ??= DnsMessage.Parse(Frame.Message);

    /// <summary>
    /// The response: null in phases 1–3 until a handler builds one (<see cref="CreateResponse"/>), the resolved
    /// or cached answer in 5–6. A handler that sets or edits it returns <see cref="PhaseVerdict.Answer"/>.
    /// </summary>
    public DnsMessage? Response { get; set; }

    /// <summary>In <see cref="Phase.Upstream"/>: the sub-request about to be sent.</summary>
    public ExchangeRequest? Upstream { get; private set; }

    /// <summary>Whether the service offers recursion: false in the authoritative role (an answer source), whose answers carry no RA.</summary>
    public bool RecursionAvailable { get; internal set; } = true;

    /// <summary>A NOERROR response to the query, with RA when <see cref="RecursionAvailable"/>, stored in <see cref="Response"/>.</summary>
    public DnsMessage CreateResponse(Rcode rcode = Rcode.NoError)
    {
        var response = Query.CreateResponse(rcode);
        if (RecursionAvailable) response.Set(HeaderFlags.RA);
        Response = response;
        return response;
    }

    // The state machine's place (QueryPipeline walks QueryStage in order; these say where it is and what it carries).
    internal QueryStage Stage;
    internal int HandlerIndex;
    /// <summary>The response handed to the handler being run (a Continue restores it).</summary>
    internal DnsMessage? Before;
    internal PhaseTable Phases = null!;
    internal ReplyKind Kind;
    /// <summary>A Response handler changed the reply (the console counts it as decided by a plugin).</summary>
    internal bool ChangedByPhase;
    internal bool Cacheable;
    /// <summary>The flow owns <see cref="Frame"/> (a detached copy): it disposes it unless a miss took it over.</summary>
    internal bool OwnsFrame;
    /// <summary>The front detached the frame itself (a handler awaited): the flow counts as in flight until done.</summary>
    internal bool WentAsync;
    internal bool Dispatched;
    internal CancellationToken Cancellation;
    internal CancellationTokenSource? Timeout;
    internal Recursor? Recursor;
    internal IExchanger? Exchanger;
    /// <summary>The stored answer's encoding, reused by Send when no Response handler replaced the message.</summary>
    internal byte[]? Encoded;
    internal int EncodedLength;

    internal void Start(Frame frame, in QueryShape shape, int groupPrefixLength, DnsMessage? query = null)
    {
        Stage = QueryStage.Request;
        HandlerIndex = 0;
        Before = null;
        Kind = ReplyKind.CacheHit;
        ChangedByPhase = false;
        Cacheable = true;
        OwnsFrame = false;
        WentAsync = false;
        Dispatched = false;
        Cancellation = default;
        Timeout = null;
        Recursor = null;
        Exchanger = null;
        Encoded = null;
        EncodedLength = 0;
        _frame = frame;
        Shape = shape;
        GroupPrefixLength = groupPrefixLength;
        _query = query;
        Response = null;
        Upstream = null;
    }

    internal void ReplaceFrame(Frame detached) => _frame = detached;

    /// <summary>A context for one upstream sub-request of this query (sub-requests may run in parallel).</summary>
    internal PhaseContext ForUpstream(ExchangeRequest request)
    {
        var child = new PhaseContext { Phase = Phase.Upstream, Upstream = request };
        child.Start(Frame, Shape, GroupPrefixLength, _query);
        child.Upstream = request;
        return child;
    }

    internal void Clear()
    {
        _frame = null;
        Before = null;
        Phases = null!;
        Recursor = null;
        Exchanger = null;
        _query = null;
        Response = null;
        Upstream = null;
    }
}

using System.Buffers;
using System.Runtime.CompilerServices;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Server.Frames;
using Ananas.Server.Scheduling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Server.Pipeline;

/// <summary>
/// The worker pipeline: every listener hands its frames to <see cref="Handle"/>. On the caller's thread, with
/// nothing allocated, it reads the header and question, answers errors (FORMERR, NOTIMP, REFUSED for clients
/// outside the ACL) and answers from the wire-format <see cref="AnswerCache"/> straight into a reply buffer.
/// With phase handlers installed the query walks the stages of <see cref="QueryStage"/> instead
/// (QueryPipeline.Flow.cs). Only a miss leaves that thread: the frame is detached (copied to a pooled buffer),
/// queued by client group in the <see cref="FairScheduler{T}"/>, and resolved by a thread-pool task with a
/// deadline (<see cref="ResolveAsync"/>, the same stages from BeforeRecursion), unless the cluster's owner of the
/// name is asked for it from this thread first (QueryPipeline.Forwarding.cs). Every reply, whichever way it
/// came, leaves through Finish (QueryPipeline.Reply.cs).
/// </summary>
public sealed partial class QueryPipeline
{
    private const int MaxMessage = ushort.MaxValue;
    private const int MinUdpPayload = 512;

    [ThreadStatic]
    private static byte[]? t_reply;

    private PipelineOptions _options;
    private readonly AnswerCache _answers;
    private Recursor _recursor;
    private readonly IExchanger _exchanger;
    private readonly IClock _clock;
    private readonly ILogger _logger;
    private readonly FairScheduler<Frame>? _scheduler;
    private readonly ResolutionLanes? _lanes;
    private readonly CancellationTokenSource _stopping = new();
    private int _inFlight;

    public QueryPipeline(PipelineOptions options, AnswerCache answers, Recursor recursor, IExchanger exchanger, IClock clock,
        IEnumerable<IPhaseHandler>? handlers = null, ILogger? logger = null)
    {
        _options = options;
        _answers = answers;
        _recursor = recursor;
        _exchanger = exchanger;
        _clock = clock;
        _logger = logger ?? NullLogger.Instance;
        _phases = PhaseTable.Of(handlers);
        if (options.Scheduler is { } schedulerOptions)
        {
            _lanes = new ResolutionLanes(schedulerOptions.Runners);
            _scheduler = new FairScheduler<Frame>(schedulerOptions, frame => ResolveInLaneAsync(frame, _lanes.Enter(frame.Group)), Shed);
        }
    }

    /// <summary>
    /// A pipeline whose every admitted query is answered by <paramref name="source"/> (the authoritative role): it
    /// has no answer cache, recursor or scheduler, since nothing is resolved; phase handlers run around the source.
    /// </summary>
    public QueryPipeline(PipelineOptions options, IAnswerSource source, IEnumerable<IPhaseHandler>? handlers = null, ILogger? logger = null)
        : this(options with { Scheduler = null }, null!, null!, null!, SystemClock.Instance, handlers, logger)
    {
        AnswerSource = source;
    }

    public PipelineOptions Options => _options;

    public Recursor Recursor => _recursor;

    /// <summary>The optional query log: every reply sent is offered to it (off the hot path: a copy into a bounded queue).</summary>
    public Hosting.QueryLog? QueryLog { get; set; }

    /// <summary>The <c>/help</c> page's test names (<see cref="Help.HelpProbes"/>); null: resolved like any name.</summary>
    public Ananas.Server.Help.HelpProbes? Help { get; set; }

    /// <summary>What the start-up warm-up did (null: it did not run), for /metrics.</summary>
    public WarmUp.WarmUpReport? WarmUp { get; set; }

    /// <summary>Live shadow mode (<c>[shadow]</c>), for its metrics; its tap is added with <see cref="AddTap"/>.</summary>
    public Shadow.ShadowMirror? Shadow { get; set; }
    /// <summary>Answers every admitted query in place of the answer cache and the recursor (the authoritative role); null in the resolver.</summary>
    public IAnswerSource? AnswerSource { get; }

    /// <summary>When set, a miss that did not come from a peer is first offered to the cluster's owner of the name.</summary>
    public IMissForwarder? Forwarder { get; set; }

    /// <summary>
    /// Live reconfiguration (a config reload): frames arriving afterwards use <paramref name="options"/> (ACL,
    /// timeouts, groups, scheduler bounds) and, when given, <paramref name="recursor"/>; queries in flight finish
    /// with what they started with. Nothing is dropped.
    /// </summary>
    public void Reconfigure(PipelineOptions options, Recursor? recursor = null)
    {
        Volatile.Write(ref _options, options);
        if (recursor is not null) Volatile.Write(ref _recursor, recursor);
        if (options.Scheduler is { } scheduler)
        {
            _scheduler?.Reconfigure(scheduler);
            _lanes?.Reconfigure(scheduler.Runners);
        }
    }

    public PipelineCounters Counters { get; } = new();

    private Hosting.SampledTap[] _taps = [];

    /// <summary>Samplers of the replies sent (the live shadow mirror, the console's top names): each sees a sample, off the query path.</summary>
    public void AddTap(Hosting.SampledTap tap)
    {
        lock (_stopping) _taps = [.. _taps, tap];
    }

    public AnswerCache Answers => _answers;

    /// <summary>Misses being resolved or waiting in the scheduler.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public FairScheduler<Frame>? Scheduler => _scheduler;

    /// <summary>
    /// Takes one frame. Errors and cache hits are answered before this returns; a miss is queued (detached from
    /// the caller's buffer) and answered later. The caller may reuse <paramref name="frame"/> once this returns.
    /// </summary>
    [SkipLocalsInit] // the reader writes the name buffer before anything reads it
    public void Handle(Frame frame)
    {
        Counters.CountFrame(frame.Counts);
        frame.Spans?.Clear(); // a receive loop's frame is reused (and its list with it): the previous query's spans are not this one's
        frame.Group = ClientGroup.Of(frame.Address, _options.GroupPrefixV4, _options.GroupPrefixV6);
        var message = frame.Message;
        // One read of the query serves the first look and the answer-cache key.
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        bool read = QueryReader.TryRead(message, name, out var view, out var readError);
        var shape = QueryShape.From(message, view, readError);
        if (shape.Status is QueryStatus.TooShort or QueryStatus.NotAQuery)
        {
            Drop(frame);
            return;
        }
        if (!_options.Access.Allows(frame.Address))
        {
            Interlocked.Increment(ref Counters.Refused);
            SendError(frame, shape, Rcode.Refused);
            return;
        }
        if (shape.Status == QueryStatus.NotImplemented)
        {
            Interlocked.Increment(ref Counters.NotImp);
            SendError(frame, shape, Rcode.NotImp);
            return;
        }
        if (shape.Status == QueryStatus.Malformed)
        {
            Interlocked.Increment(ref Counters.FormErr);
            SendError(frame, shape, Rcode.FormErr);
            return;
        }
        if (AnswerSource is { } source)
        {
            AnswerFromSource(frame, shape, source, view, read);
            return;
        }
        if (_phases.HitPath)
        {
            HandleWithPhases(frame, shape);
            return;
        }

        var reply = ReplyBuffer();
        int limit = ReplyLimit(frame, shape);
        int written = 0;
        if (read && _answers.TryAnswer(view, message, reply.AsSpan(0, Math.Min(limit, reply.Length)), TimeSpan.Zero, out written) == CacheLookup.Fresh)
        {
            Interlocked.Increment(ref Counters.CacheHits);
            Finish(frame, shape, reply, written, limit, ReplyKind.CacheHit);
            return;
        }

        Interlocked.Increment(ref Counters.CacheMisses);
        if (ShedsAtOnce(frame)) return;
        Miss(frame.Detach());
    }

    /// <summary>
    /// A miss its group has no room for is shed here, on the receive thread, before it is copied: the reply (if the
    /// shed action gives one) goes out with the receive loop's batch, and a flood costs one O(1) check per query.
    /// </summary>
    private bool ShedsAtOnce(Frame frame)
    {
        if (_scheduler is not { } scheduler || !scheduler.ShedsAtOnce(frame.Group)) return false;
        ShedReply(frame);
        return true;
    }

    /// <summary>
    /// Hands a detached miss to the scheduler. A separate method on purpose: a lambda capturing a local in
    /// <see cref="Handle"/> would allocate its closure on every call, hits included.
    /// </summary>
    private void Dispatch(Frame owned)
    {
        Interlocked.Increment(ref _inFlight);
        if (t_heldMisses is { Holding: true } held) held.Frames.Add(owned);
        else Schedule(owned);
    }

    private void Schedule(Frame owned)
    {
        if (_scheduler is null) _ = Task.Run(() => ResolveAsync(owned));
        else _scheduler.Enqueue(owned.Group, owned);
    }

    private sealed class HeldMisses
    {
        public readonly List<Frame> Frames = new(64);
        public bool Holding;
    }

    [ThreadStatic]
    private static HeldMisses? t_heldMisses;

    /// <summary>
    /// A receive loop about to hand a batch of datagrams to <see cref="Handle"/> on this thread: the misses among
    /// them (already detached) are held until <see cref="ReleaseMisses"/>, so that the batch's cache hits and
    /// errors can be sent first and never wait for the misses' scheduling. Nothing is allocated per batch.
    /// </summary>
    public void HoldMisses() => (t_heldMisses ??= new HeldMisses()).Holding = true;

    /// <summary>Schedules the misses held on this thread since <see cref="HoldMisses"/>, in arrival order.</summary>
    public void ReleaseMisses()
    {
        if (t_heldMisses is not { } held) return;
        held.Holding = false;
        var frames = held.Frames;
        for (int i = 0; i < frames.Count; i++) Schedule(frames[i]);
        frames.Clear();
    }

    /// <summary>The lanes in which scheduled resolutions run (null without a scheduler).</summary>
    public ResolutionLanes? Lanes => _lanes;

    /// <summary>
    /// A scheduled miss runs in its client group's lane from its first step: its work after every upstream answer
    /// waits its group's turn, not behind every other group's (<see cref="ResolutionLanes"/>).
    /// </summary>
    private async Task ResolveInLaneAsync(Frame frame, ResolutionLane lane)
    {
        ResolutionLane.Current = lane; // flows to this resolution's calls only, not back to the caller (a receive loop)
        try
        {
            await ResolutionLane.Yield();
            await ResolveAsync(frame).ConfigureAwait(false);
        }
        finally
        {
            _lanes!.Leave(lane);
        }
    }

    /// <summary>A detached miss, from the scheduler: the flow from BeforeRecursion to Send; always disposes the frame.</summary>
    internal async Task ResolveAsync(Frame frame)
    {
        try
        {
            var shape = QueryShape.Read(frame.Message);
            DnsMessage query;
            try
            {
                query = DnsMessage.Parse(frame.Message);
            }
            catch (DnsFormatException)
            {
                Interlocked.Increment(ref Counters.FormErr);
                SendError(frame, shape, Rcode.FormErr, miss: true);
                return;
            }

            // /help's test names are answered here (transport and client recorded), never resolved or cached.
            if (Help is { } help && query.Questions.Count == 1 && Ananas.Server.Help.HelpProbes.IsProbe(query.Question.Name))
            {
                SendMessage(frame, shape, help.Answer(query, frame.Transport, frame.Address), ReplyKind.Local, miss: true);
                return;
            }
            using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(frame.Sink.ClientGone, _stopping.Token);
            // A miss its cluster owner did not answer has what is left of the timeout that started with the offer.
            cancellation.CancelAfter(frame.ResolveBy == 0 ? _options.ResolveTimeout : TimeLeft(frame.ResolveBy));
            var phases = _phases;
            var context = new PhaseContext();
            context.Start(frame, shape, GroupPrefixLength(frame), query);
            context.Stage = QueryStage.BeforeRecursion;
            context.Phases = phases;
            context.OwnsFrame = true;
            context.Cancellation = cancellation.Token;
            context.Recursor = Volatile.Read(ref _recursor);
            context.Exchanger = phases.Upstream.Length > 0 ? new PhaseExchanger(_exchanger, this, context, phases.Upstream) : _exchanger;
            await RunAsync(context).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogError(ServerEvents.ResolveFailed, e, "answering a frame from {Client} failed", frame.ClientEndPoint);
            frame.Sink.Drop(frame);
        }
        finally
        {
            frame.Dispose();
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Waits (at most <paramref name="timeout"/>) for queued and running misses to be answered; then cancels the rest.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (InFlight > 0 && DateTime.UtcNow < deadline) await Task.Delay(20).ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>The scheduler sheds a queued miss: answer as configured (never resolving it).</summary>
    private void Shed(Frame frame)
    {
        try
        {
            ShedReply(frame);
        }
        finally
        {
            frame.Dispose();
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private void ShedReply(Frame frame)
    {
        Interlocked.Increment(ref Counters.Shed);
        var action = _options.Scheduler?.Shed ?? ShedAction.Drop;
        if (action == ShedAction.Drop)
        {
            frame.Sink.Drop(frame);
            return;
        }
        bool truncate = action == ShedAction.Truncate && frame.Transport == Transport.Udp;
        SendError(frame, QueryShape.Read(frame.Message), truncate ? Rcode.NoError : Rcode.Refused, truncated: truncate, miss: true);
    }

    /// <summary>DoT and DoH: replies are padded (RFC 8467).</summary>
    public static bool IsEncrypted(Transport transport) => transport is Transport.Tls or Transport.Https;

    private static byte[] ReplyBuffer() => t_reply ??= GC.AllocateUninitializedArray<byte>(MaxMessage, pinned: true);

    /// <summary>The UDP reply limit for a client: its EDNS payload size (512 without EDNS), at most ours.</summary>
    public static int UdpLimit(int clientUdpPayload, int serverMax) => Math.Min(Math.Max(clientUdpPayload, MinUdpPayload), serverMax);
}

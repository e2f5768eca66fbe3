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
/// Only a miss leaves that thread: the frame is detached (copied to a pooled buffer), queued by client group in
/// the <see cref="FairScheduler{T}"/>, and resolved by a thread-pool task with a deadline; the answer is cached,
/// encoded for the transport (UDP size limit with TC, 65535 on streams) and sent through the frame's sink.
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
            _scheduler = new FairScheduler<Frame>(schedulerOptions, frame => Task.Run(() => ResolveAsync(frame)), Shed);
    }

    public PipelineOptions Options => _options;

    public Recursor Recursor => _recursor;

    /// <summary>The optional query log: every reply sent is offered to it (off the hot path: a copy into a bounded queue).</summary>
    public Hosting.QueryLog? QueryLog { get; set; }

    /// <summary>The <c>/help</c> page's test names (<see cref="Help.HelpProbes"/>); null: resolved like any name.</summary>
    public Ananas.Server.Help.HelpProbes? Help { get; set; }

    /// <summary>Live shadow mode (<c>[shadow]</c>), for its metrics; its tap is added with <see cref="AddTap"/>.</summary>
    public Shadow.ShadowMirror? Shadow { get; set; }
    /// <summary>When set, answers every admitted query in place of the answer cache and the recursor (the authoritative role).</summary>
    public IAnswerSource? AnswerSource { get; set; }

    /// <summary>
    /// Live reconfiguration (a config reload): frames arriving afterwards use <paramref name="options"/> (ACL,
    /// timeouts, groups, scheduler bounds) and, when given, <paramref name="recursor"/>; queries in flight finish
    /// with what they started with. Nothing is dropped.
    /// </summary>
    public void Reconfigure(PipelineOptions options, Recursor? recursor = null)
    {
        Volatile.Write(ref _options, options);
        if (recursor is not null) Volatile.Write(ref _recursor, recursor);
        if (options.Scheduler is { } scheduler) _scheduler?.Reconfigure(scheduler);
    }

    public PipelineCounters Counters { get; } = new();

    private Hosting.SampledTap[] _taps = [];

    /// <summary>Samplers of the replies sent (the live shadow mirror, the console's top names): each sees a sample, off the query path.</summary>
    public void AddTap(Hosting.SampledTap tap)
    {
        lock (_stopping) _taps = [.. _taps, tap];
    }

    /// <summary>Every reply sent passes here: the query log and the taps (each copies only its sample; nothing allocated otherwise).</summary>
    private void Observe(Frame frame, ReadOnlySpan<byte> reply, bool cacheHit, bool byPhase = false)
    {
        QueryLog?.Record(frame, reply, cacheHit);
        var taps = _taps;
        for (int i = 0; i < taps.Length; i++) taps[i].Offer(frame, reply, byPhase);
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
        Interlocked.Increment(ref Counters.Frames);
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
            AnswerFromSource(frame, shape, source);
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
            if (shape.HasEdns && IsEncrypted(frame.Transport)) written = ResponsePadding.Apply(reply, written, limit);
            Counters.CountResponse(frame.Transport, reply.AsSpan(0, written));
            Counters.HitLatency.Observe(frame.ArrivalTimestamp);
            Observe(frame, reply.AsSpan(0, written), cacheHit: true);
            Deliver(frame, shape, reply, written);
            return;
        }

        Interlocked.Increment(ref Counters.CacheMisses);
        Dispatch(frame.Detach());
    }

    private void AnswerFromSource(Frame frame, in QueryShape shape, IAnswerSource source)
    {
        var reply = ReplyBuffer();
        int limit = Math.Min(ReplyLimit(frame, shape), reply.Length);
        int written = source.Answer(frame.Message, frame.Transport, reply, limit);
        if (written == 0)
        {
            Drop(frame);
            return;
        }
        if (shape.HasEdns && IsEncrypted(frame.Transport)) written = ResponsePadding.Apply(reply, written, limit);
        Counters.CountResponse(frame.Transport, reply.AsSpan(0, written));
        Counters.HitLatency.Observe(frame.ArrivalTimestamp);
        QueryLog?.Record(frame, reply.AsSpan(0, written), cacheHit: false);
        // Response rate limiting and cookies apply as to any reply (RRL matters most for an authoritative server).
        Deliver(frame, shape, reply, written);
    }

    /// <summary>
    /// Hands a detached miss to the scheduler. A separate method on purpose: a lambda capturing a local in
    /// <see cref="Handle"/> would allocate its closure on every call, hits included.
    /// </summary>
    private void Dispatch(Frame owned)
    {
        Interlocked.Increment(ref _inFlight);
        if (_scheduler is null) _ = Task.Run(() => ResolveAsync(owned));
        else _scheduler.Enqueue(owned.Group, owned);
    }

    /// <summary>Resolves a detached frame and answers it; always disposes it.</summary>
    internal async Task ResolveAsync(Frame frame)
    {
        byte[]? buffer = null;
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
                SendError(frame, shape, Rcode.FormErr);
                return;
            }

            // /help's test names are answered here (transport and client recorded), never resolved or cached.
            if (Help is { } help && query.Questions.Count == 1 && Ananas.Server.Help.HelpProbes.IsProbe(query.Question.Name))
            {
                SendMessage(frame, shape, help.Answer(query, frame.Transport, frame.Address), byPhase: false);
                return;
            }
            var sink = frame.Sink;
            var recursor = Volatile.Read(ref _recursor);
            using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(sink.ClientGone, _stopping.Token);
            cancellation.CancelAfter(_options.ResolveTimeout);
            var phases = _phases;
            PhaseContext? context = null;
            var exchanger = _exchanger;
            if (phases.MissPath)
            {
                context = new PhaseContext();
                context.Start(frame, shape, GroupPrefixLength(frame), query);
                if (!await BeforeRecursionAsync(context, phases, cancellation.Token).ConfigureAwait(false)) return;
                if (phases.Upstream.Length > 0) exchanger = new PhaseExchanger(_exchanger, this, context, phases.Upstream);
            }
            var request = new Request(query) { Client = frame.ClientEndPoint, Deadline = _clock.UtcNow + _options.ResolveTimeout };
            DnsMessage answer;
            try
            {
                answer = (await recursor.ResolveAsync(request, exchanger, cancellation.Token).ConfigureAwait(false)).Message;
            }
            catch (OperationCanceledException) when (sink.ClientGone.IsCancellationRequested)
            {
                Interlocked.Increment(ref Counters.ClientGone);
                sink.Drop(frame);
                return;
            }
            catch (Exception e)
            {
                if (e is not OperationCanceledException) _logger.LogError(ServerEvents.ResolveFailed, e, "resolving {Question} for {Client} failed", query.Questions.FirstOrDefault(), frame.ClientEndPoint);
                answer = query.CreateResponse(Rcode.ServFail);
                answer.Set(HeaderFlags.RA);
            }
            if (sink.ClientGone.IsCancellationRequested)
            {
                Interlocked.Increment(ref Counters.ClientGone);
                sink.Drop(frame);
                return;
            }
            // A handler's answer at Resolved is not cached: policies differ by client, the cache key does not.
            bool cacheable = true;
            if (context is not null && phases.Resolved.Length > 0)
            {
                context.Response = answer;
                var verdict = await RunMissPhaseAsync(Phase.Resolved, context, phases.Resolved, cancellation.Token).ConfigureAwait(false);
                if (verdict is null) return;
                if (verdict == PhaseVerdict.Answer)
                {
                    cacheable = false;
                    answer = context.Response!;
                }
            }

            if (answer.Edns is not null) answer.Edns.UdpPayloadSize = _options.MaxUdpPayload;
            if (answer.Rcode == Rcode.ServFail) Interlocked.Increment(ref Counters.ServFail);
            buffer = ArrayPool<byte>.Shared.Rent(MaxMessage);
            int length = answer.WriteTo(buffer, MaxMessage);
            if (cacheable && answer.Rcode is Rcode.NoError or Rcode.NXDomain && !answer.Has(HeaderFlags.TC))
                _answers.Store(frame.Message, buffer.AsSpan(0, length));
            if (context is not null && phases.Response.Length > 0)
            {
                context.Response = answer;
                var verdict = await RunMissPhaseAsync(Phase.Response, context, phases.Response, cancellation.Token).ConfigureAwait(false);
                if (verdict is null) return;
                if (verdict == PhaseVerdict.Answer)
                {
                    answer = context.Response!;
                    if (answer.Edns is not null) answer.Edns.UdpPayloadSize = _options.MaxUdpPayload;
                    length = answer.WriteTo(buffer, MaxMessage);
                }
            }

            int limit = ReplyLimit(frame, shape);
            if (length > limit)
            {
                // Whole RRsets are dropped from the overflow on and TC is set (RFC 2181 §9).
                Interlocked.Increment(ref Counters.Truncated);
                length = answer.WriteTo(buffer, limit);
            }
            // RFC 8467: pad on encrypted transports (the cache keeps the unpadded bytes for every transport).
            if (shape.HasEdns && IsEncrypted(frame.Transport)) length = ResponsePadding.Apply(buffer, length, limit);
            Counters.CountResponse(frame.Transport, buffer.AsSpan(0, length));
            Counters.CountEdes(answer);
            Counters.MissLatency.Observe(frame.ArrivalTimestamp);
            Observe(frame, buffer.AsSpan(0, length), cacheHit: false);
            Deliver(frame, shape, buffer, length);
        }
        catch (Exception e)
        {
            _logger.LogError(ServerEvents.ResolveFailed, e, "answering a frame from {Client} failed", frame.ClientEndPoint);
            frame.Sink.Drop(frame);
        }
        finally
        {
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
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
            Interlocked.Increment(ref Counters.Shed);
            var action = _options.Scheduler?.Shed ?? ShedAction.Drop;
            var shape = QueryShape.Read(frame.Message);
            if (action == ShedAction.Drop) frame.Sink.Drop(frame);
            else SendError(frame, shape, action == ShedAction.Truncate && frame.Transport == Transport.Udp ? Rcode.NoError : Rcode.Refused, truncated: action == ShedAction.Truncate && frame.Transport == Transport.Udp);
        }
        finally
        {
            frame.Dispose();
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private void SendError(Frame frame, in QueryShape shape, Rcode rcode, bool truncated = false, bool byPhase = false)
    {
        var reply = ReplyBuffer();
        int n = ErrorReply.Write(frame.Message, shape, rcode, reply, _options.MaxUdpPayload, truncated);
        if (n > 0 && shape.HasEdns && IsEncrypted(frame.Transport)) n = ResponsePadding.Apply(reply, n, frame.Sink.MaxReplySize(shape.UdpPayloadSize));
        if (n == 0)
        {
            frame.Sink.Drop(frame);
            return;
        }
        Counters.CountResponse(frame.Transport, reply.AsSpan(0, n));
        Observe(frame, reply.AsSpan(0, n), cacheHit: false, byPhase);
        Deliver(frame, shape, reply, n);
    }

    private void Drop(Frame frame)
    {
        Interlocked.Increment(ref Counters.Dropped);
        frame.Sink.Drop(frame);
    }

    /// <summary>DoT and DoH: replies are padded (RFC 8467).</summary>
    public static bool IsEncrypted(Transport transport) => transport is Transport.Tls or Transport.Https;

    private static byte[] ReplyBuffer() => t_reply ??= GC.AllocateUninitializedArray<byte>(MaxMessage, pinned: true);

    /// <summary>The UDP reply limit for a client: its EDNS payload size (512 without EDNS), at most ours.</summary>
    public static int UdpLimit(int clientUdpPayload, int serverMax) => Math.Min(Math.Max(clientUdpPayload, MinUdpPayload), serverMax);
}

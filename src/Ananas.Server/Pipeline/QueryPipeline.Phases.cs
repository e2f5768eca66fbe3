using System.Buffers;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Frames;
using Microsoft.Extensions.Logging;

namespace Ananas.Server.Pipeline;

/// <summary>
/// The phase handlers' part of the pipeline. Phases run synchronously on the listener's thread as long as every
/// handler completes synchronously (a reused context, nothing allocated); the first handler that awaits moves the
/// query to a task after its frame is detached. With no handler for the hit path's phases, <see cref="Handle"/>
/// never comes here.
/// </summary>
public sealed partial class QueryPipeline
{
    [ThreadStatic]
    private static PhaseContext? t_context;

    private volatile PhaseTable _phases;

    /// <summary>
    /// Installs a new set of handlers (plugins loaded, removed or reordered by a reload). Queries already past a
    /// phase keep the set they started with; new frames see the new one.
    /// </summary>
    public void SetHandlers(IEnumerable<IPhaseHandler> handlers) => _phases = PhaseTable.Of(handlers);

    private int GroupPrefixLength(Frame frame) => frame.Address.IsIPv4 ? _options.GroupPrefixV4 : _options.GroupPrefixV6;

    /// <summary>Request and CacheLookup phases, then the cache (with the Response phase on a hit), on the listener's thread.</summary>
    private void HandleWithPhases(Frame frame, in QueryShape shape)
    {
        var phases = _phases;
        var context = t_context ?? new PhaseContext();
        t_context = null;
        context.Start(frame, shape, GroupPrefixLength(frame));
        bool escaped = false;
        try
        {
            escaped = FrontPhases(context, phases);
        }
        finally
        {
            if (!escaped)
            {
                context.Clear();
                t_context = context;
            }
        }
    }

    /// <summary>The synchronous part of <see cref="HandleWithPhases"/>; true when the query moved to a task (the context went with it).</summary>
    private bool FrontPhases(PhaseContext context, PhaseTable phases)
    {
        var frame = context.Frame;
        var token = _stopping.Token;
        foreach (var phase in FrontPhaseOrder)
        {
            var handlers = phases.Of(phase);
            if (handlers.Length == 0) continue;
            if (!TryRunPhase(phase, context, handlers, token, out var verdict, out int index, out var pending, out var before))
            {
                GoAsync(context, FrontAsync(context, phases, phase, index, pending, before));
                return true;
            }
            if (verdict != PhaseVerdict.Continue) return Conclude(context, phases, verdict);
        }

        var reply = ReplyBuffer();
        var shape = context.Shape;
        int limit = ReplyLimit(frame, shape);
        if (_answers.TryAnswer(frame.Message, reply.AsSpan(0, Math.Min(limit, reply.Length)), out int written))
        {
            Interlocked.Increment(ref Counters.CacheHits);
            if (phases.Response.Length == 0)
            {
                if (shape.HasEdns && IsEncrypted(frame.Transport)) written = ResponsePadding.Apply(reply, written, limit);
                Counters.CountResponse(frame.Transport, reply.AsSpan(0, written));
                Counters.HitLatency.Observe(frame.ArrivalTimestamp);
                Deliver(frame, shape, reply, written);
                return false;
            }
            // Response handlers see the cached answer as a message (this allocates; only with such handlers).
            context.Response = DnsMessage.Parse(reply.AsSpan(0, written));
            return Respond(context, phases);
        }

        Interlocked.Increment(ref Counters.CacheMisses);
        Dispatch(frame.Detach());
        return false;
    }

    private static readonly Phase[] FrontPhaseOrder = [Phase.Request, Phase.CacheLookup];

    /// <summary>Ends a query a handler decided in phases 1–3: answers (after the Response phase), refuses or drops. True if it went async.</summary>
    private bool Conclude(PhaseContext context, PhaseTable phases, PhaseVerdict verdict)
    {
        if (verdict != PhaseVerdict.Answer)
        {
            Finish(context, verdict);
            return false;
        }
        Interlocked.Increment(ref Counters.PhaseAnswers);
        return Respond(context, phases);
    }

    /// <summary>Runs the Response phase on <see cref="PhaseContext.Response"/>, then sends it. True if it went async.</summary>
    private bool Respond(PhaseContext context, PhaseTable phases)
    {
        var verdict = PhaseVerdict.Continue;
        if (phases.Response.Length > 0
            && !TryRunPhase(Phase.Response, context, phases.Response, _stopping.Token, out verdict, out int index, out var pending, out var before))
        {
            GoAsync(context, RespondAsync(context, index, pending, before, phases.Response));
            return true;
        }
        Finish(context, verdict == PhaseVerdict.Continue ? PhaseVerdict.Answer : verdict);
        return false;
    }

    /// <summary>A handler awaits: detach the frame before the listener reuses its buffer, and let the task finish the query.</summary>
    private void GoAsync(PhaseContext context, Func<Task> continuation)
    {
        Interlocked.Increment(ref _inFlight);
        context.ReplaceFrame(context.Frame.Detach());
        _ = continuation();
    }

    private Func<Task> FrontAsync(PhaseContext context, PhaseTable phases, Phase phase, int index, ValueTask<PhaseVerdict> pending, DnsMessage? before) => async () =>
    {
        var frame = context.Frame;
        bool dispatched = false;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(_options.ResolveTimeout);
            var verdict = await RunPhaseAsync(phase, context, phases.Of(phase), index, pending, before, timeout.Token).ConfigureAwait(false);
            if (verdict == PhaseVerdict.Continue && phase == Phase.Request && phases.CacheLookup.Length > 0)
                verdict = await RunPhaseAsync(Phase.CacheLookup, context, phases.CacheLookup, 0, default, null, timeout.Token).ConfigureAwait(false);
            if (verdict != PhaseVerdict.Continue)
            {
                if (verdict == PhaseVerdict.Answer)
                {
                    Interlocked.Increment(ref Counters.PhaseAnswers);
                    verdict = await ResponsePhaseAsync(context, phases.Response, timeout.Token).ConfigureAwait(false);
                }
                Finish(context, verdict);
                return;
            }

            var shape = context.Shape;
            int limit = frame.Sink.MaxReplySize(shape.HasEdns ? shape.UdpPayloadSize : 0);
            var reply = ArrayPool<byte>.Shared.Rent(MaxMessage);
            try
            {
                if (_answers.TryAnswer(frame.Message, reply.AsSpan(0, Math.Min(limit, reply.Length)), out int written))
                {
                    Interlocked.Increment(ref Counters.CacheHits);
                    context.Response = DnsMessage.Parse(reply.AsSpan(0, written));
                    Finish(context, await ResponsePhaseAsync(context, phases.Response, timeout.Token).ConfigureAwait(false));
                    return;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(reply);
            }
            Interlocked.Increment(ref Counters.CacheMisses);
            dispatched = true;
            Dispatch(frame);
        }
        catch (Exception e)
        {
            _logger.LogError(ServerEvents.ResolveFailed, e, "answering a frame from {Client} failed", frame.ClientEndPoint);
            frame.Sink.Drop(frame);
        }
        finally
        {
            if (!dispatched) frame.Dispose();
            Interlocked.Decrement(ref _inFlight);
        }
    };

    private Func<Task> RespondAsync(PhaseContext context, int index, ValueTask<PhaseVerdict> pending, DnsMessage? before, IPhaseHandler[] handlers) => async () =>
    {
        var frame = context.Frame;
        try
        {
            var verdict = await RunPhaseAsync(Phase.Response, context, handlers, index, pending, before, _stopping.Token).ConfigureAwait(false);
            Finish(context, verdict == PhaseVerdict.Continue ? PhaseVerdict.Answer : verdict);
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
    };

    /// <summary>The Response phase on <see cref="PhaseContext.Response"/>; Answer unless a handler refused or dropped.</summary>
    private async ValueTask<PhaseVerdict> ResponsePhaseAsync(PhaseContext context, IPhaseHandler[] handlers, CancellationToken cancellationToken)
    {
        if (handlers.Length == 0) return PhaseVerdict.Answer;
        var verdict = await RunPhaseAsync(Phase.Response, context, handlers, 0, default, null, cancellationToken).ConfigureAwait(false);
        return verdict == PhaseVerdict.Continue ? PhaseVerdict.Answer : verdict;
    }

    /// <summary>BeforeRecursion on a miss: true to recurse; false when a handler answered, refused or dropped (and it was done).</summary>
    private async ValueTask<bool> BeforeRecursionAsync(PhaseContext context, PhaseTable phases, CancellationToken cancellationToken)
    {
        if (phases.BeforeRecursion.Length == 0) return true;
        var verdict = await RunPhaseAsync(Phase.BeforeRecursion, context, phases.BeforeRecursion, 0, default, null, cancellationToken).ConfigureAwait(false);
        if (verdict == PhaseVerdict.Continue) return true;
        if (verdict == PhaseVerdict.Answer)
        {
            Interlocked.Increment(ref Counters.PhaseAnswers);
            verdict = await ResponsePhaseAsync(context, phases.Response, cancellationToken).ConfigureAwait(false);
        }
        Finish(context, verdict);
        return false;
    }

    /// <summary>A phase of the miss path: Continue or Answer; null after a refusal or drop (which was carried out).</summary>
    private async ValueTask<PhaseVerdict?> RunMissPhaseAsync(Phase phase, PhaseContext context, IPhaseHandler[] handlers, CancellationToken cancellationToken)
    {
        var verdict = await RunPhaseAsync(phase, context, handlers, 0, default, null, cancellationToken).ConfigureAwait(false);
        if (verdict is PhaseVerdict.Continue or PhaseVerdict.Answer) return verdict;
        Finish(context, verdict);
        return null;
    }

    /// <summary>Carries out a final verdict: Answer sends <see cref="PhaseContext.Response"/>, Refuse answers REFUSED, Drop sends nothing.</summary>
    private void Finish(PhaseContext context, PhaseVerdict verdict)
    {
        var frame = context.Frame;
        switch (verdict)
        {
            case PhaseVerdict.Answer when context.Response is { } response:
                SendMessage(frame, context.Shape, response);
                break;
            case PhaseVerdict.Drop:
                Drop(frame);
                break;
            default:
                Interlocked.Increment(ref Counters.Refused);
                SendError(frame, context.Shape, Rcode.Refused);
                break;
        }
    }

    /// <summary>Encodes a message for the frame's transport (TC within the client's limit, padding when encrypted) and sends it.</summary>
    private void SendMessage(Frame frame, in QueryShape shape, DnsMessage message)
    {
        if (message.Edns is not null) message.Edns.UdpPayloadSize = _options.MaxUdpPayload;
        if (message.Rcode == Rcode.ServFail) Interlocked.Increment(ref Counters.ServFail);
        var buffer = ArrayPool<byte>.Shared.Rent(MaxMessage);
        try
        {
            int limit = ReplyLimit(frame, shape);
            int length = message.WriteTo(buffer, MaxMessage);
            if (length > limit)
            {
                Interlocked.Increment(ref Counters.Truncated);
                length = message.WriteTo(buffer, limit);
            }
            if (shape.HasEdns && IsEncrypted(frame.Transport)) length = ResponsePadding.Apply(buffer, length, limit);
            Counters.CountResponse(frame.Transport, buffer.AsSpan(0, length));
            Counters.CountEdes(message);
            Deliver(frame, shape, buffer, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Runs a phase's handlers while they complete synchronously. False when handler <paramref name="index"/>
    /// is pending (<paramref name="pending"/>; <paramref name="before"/> is the response it was given); true
    /// with the phase's verdict otherwise: the first that is not Continue, or Continue.
    /// </summary>
    private bool TryRunPhase(Phase phase, PhaseContext context, IPhaseHandler[] handlers, CancellationToken cancellationToken,
        out PhaseVerdict verdict, out int index, out ValueTask<PhaseVerdict> pending, out DnsMessage? before)
    {
        context.Phase = phase;
        verdict = PhaseVerdict.Continue;
        for (index = 0; index < handlers.Length; index++)
        {
            before = context.Response;
            pending = Invoke(handlers[index], phase, context, cancellationToken);
            if (!pending.IsCompletedSuccessfully) return false;
            verdict = Settle(phase, context, pending.Result, before);
            if (verdict != PhaseVerdict.Continue) return true;
        }
        pending = default;
        before = null;
        return true;
    }

    /// <summary>
    /// Runs a phase's handlers from <paramref name="index"/>, awaiting each. When <paramref name="pending"/> is a
    /// started call (not <c>default</c>), it is handler <paramref name="index"/>'s, given <paramref name="before"/>.
    /// </summary>
    internal async ValueTask<PhaseVerdict> RunPhaseAsync(Phase phase, PhaseContext context, IPhaseHandler[] handlers, int index,
        ValueTask<PhaseVerdict> pending, DnsMessage? before, CancellationToken cancellationToken)
    {
        context.Phase = phase;
        bool started = !pending.Equals(default(ValueTask<PhaseVerdict>));
        for (; index < handlers.Length; index++)
        {
            if (!started)
            {
                before = context.Response;
                pending = Invoke(handlers[index], phase, context, cancellationToken);
            }
            started = false;
            PhaseVerdict result;
            try
            {
                result = await pending.ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Fault(handlers[index], phase, e);
                result = PhaseVerdict.Continue;
            }
            var verdict = Settle(phase, context, result, before);
            if (verdict != PhaseVerdict.Continue) return verdict;
        }
        return PhaseVerdict.Continue;
    }

    private ValueTask<PhaseVerdict> Invoke(IPhaseHandler handler, Phase phase, PhaseContext context, CancellationToken cancellationToken)
    {
        try
        {
            return handler.InvokeAsync(phase, context, cancellationToken);
        }
        catch (Exception e)
        {
            Fault(handler, phase, e);
            return new ValueTask<PhaseVerdict>(PhaseVerdict.Continue);
        }
    }

    private void Fault(IPhaseHandler handler, Phase phase, Exception e)
    {
        Interlocked.Increment(ref Counters.PhaseFaults);
        _logger.LogWarning(ServerEvents.PhaseHandlerFailed, e, "phase handler {Handler} failed in phase {Phase}; the query carries on", handler, phase);
    }

    /// <summary>
    /// What a handler's result means here: Continue restores the response it was given; an Answer without a
    /// response, or in a phase that cannot answer (Upstream), counts as Continue.
    /// </summary>
    private static PhaseVerdict Settle(Phase phase, PhaseContext context, PhaseVerdict result, DnsMessage? before)
    {
        if (result == PhaseVerdict.Answer && (context.Response is null || phase == Phase.Upstream)) result = PhaseVerdict.Continue;
        if (result == PhaseVerdict.Continue) context.Response = before;
        return result;
    }
}

/// <summary>The installed handlers, by phase (an immutable snapshot; <see cref="QueryPipeline.SetHandlers"/> swaps it).</summary>
internal sealed class PhaseTable
{
    private readonly IPhaseHandler[][] _byPhase;

    private PhaseTable(IPhaseHandler[] all)
    {
        _byPhase = new IPhaseHandler[(int)Phase.Response + 1][];
        for (int p = 0; p < _byPhase.Length; p++)
        {
            var list = new List<IPhaseHandler>();
            foreach (var handler in all)
                if (p > 0 && handler.Handles((Phase)p)) list.Add(handler);
            _byPhase[p] = [.. list];
        }
        HitPath = Request.Length + CacheLookup.Length + Response.Length > 0;
        MissPath = BeforeRecursion.Length + Upstream.Length + Resolved.Length + Response.Length > 0;
    }

    public static PhaseTable Of(IEnumerable<IPhaseHandler>? handlers) => new(handlers?.ToArray() ?? []);

    public IPhaseHandler[] Of(Phase phase) => _byPhase[(int)phase];

    public IPhaseHandler[] Request => _byPhase[(int)Phase.Request];
    public IPhaseHandler[] CacheLookup => _byPhase[(int)Phase.CacheLookup];
    public IPhaseHandler[] BeforeRecursion => _byPhase[(int)Phase.BeforeRecursion];
    public IPhaseHandler[] Upstream => _byPhase[(int)Phase.Upstream];
    public IPhaseHandler[] Resolved => _byPhase[(int)Phase.Resolved];
    public IPhaseHandler[] Response => _byPhase[(int)Phase.Response];

    /// <summary>Whether a cache hit must go through handlers (Request, CacheLookup or Response).</summary>
    public bool HitPath { get; }

    /// <summary>Whether a miss must go through handlers (BeforeRecursion, Upstream, Resolved or Response).</summary>
    public bool MissPath { get; }
}

using System.Buffers;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Microsoft.Extensions.Logging;

namespace Ananas.Server.Pipeline;

/// <summary>
/// The state machine every query with handlers walks (<see cref="QueryStage"/>, in order). One driver,
/// <see cref="RunAsync"/>: it runs on the caller's thread while each step completes synchronously (a reused
/// context, nothing allocated); the first step that is really pending detaches the frame from the listener's
/// buffer and the same loop goes on in a task. <see cref="Step"/> does one step (one handler call, or one of the
/// pipeline's own stages); <see cref="Advance"/> applies a handler's verdict. A reply leaves only through Send
/// (or an error reply), both ending in <see cref="Finish"/>.
/// </summary>
public sealed partial class QueryPipeline
{
    [ThreadStatic]
    private static PhaseContext? t_context;

    private int GroupPrefixLength(Frames.Frame frame) => frame.Address.IsIPv4 ? _options.GroupPrefixV4 : _options.GroupPrefixV6;

    /// <summary>A hit-path query with handlers: the flow from Request, on the listener's thread while it can.</summary>
    private void HandleWithPhases(Frames.Frame frame, in QueryShape shape)
    {
        var context = t_context ?? new PhaseContext();
        t_context = null;
        context.Start(frame, shape, GroupPrefixLength(frame));
        context.Phases = _phases;
        context.RecursionAvailable = AnswerSource is null; // the authoritative role's answers never carry RA
        context.Cancellation = _stopping.Token;
        var run = RunAsync(context);
        if (run.IsCompleted)
        {
            context.Clear();
            t_context = context;
        }
    }

    /// <summary>Walks the stages from <see cref="PhaseContext.Stage"/> to Done. Never throws: a failure drops the query.</summary>
    private async ValueTask RunAsync(PhaseContext context)
    {
        try
        {
            while (context.Stage != QueryStage.Done)
            {
                var stage = context.Stage;
                var pending = Step(context);
                PhaseVerdict result;
                if (pending.IsCompletedSuccessfully)
                {
                    result = pending.Result;
                }
                else
                {
                    if (!context.OwnsFrame) GoAsync(context);
                    try
                    {
                        result = await pending.ConfigureAwait(false);
                    }
                    catch (Exception e) when (PhaseOf(stage) is { } phase)
                    {
                        Fault(context.Phases.Of(phase)[context.HandlerIndex], phase, e);
                        result = PhaseVerdict.Continue;
                    }
                }
                Advance(context, stage, result);
            }
        }
        catch (Exception e)
        {
            _logger.LogError(ServerEvents.ResolveFailed, e, "answering a frame from {Client} failed", context.Frame.ClientEndPoint);
            context.Frame.Sink.Drop(context.Frame);
        }
        finally
        {
            if (context.Encoded is { } encoded)
            {
                context.Encoded = null;
                ArrayPool<byte>.Shared.Return(encoded);
            }
            if (context.WentAsync)
            {
                if (!context.Dispatched) context.Frame.Dispose();
                context.Timeout?.Dispose();
                Interlocked.Decrement(ref _inFlight);
            }
        }
    }

    /// <summary>A handler awaits on the listener's thread: copy the frame before the listener reuses its buffer; the query now has the query timeout.</summary>
    private void GoAsync(PhaseContext context)
    {
        Interlocked.Increment(ref _inFlight);
        context.ReplaceFrame(context.Frame.Detach());
        context.OwnsFrame = context.WentAsync = true;
        context.Timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        context.Timeout.CancelAfter(_options.ResolveTimeout);
        context.Cancellation = context.Timeout.Token;
    }

    private static Phase? PhaseOf(QueryStage stage) => stage switch
    {
        QueryStage.Request => Phase.Request,
        QueryStage.CacheLookup => Phase.CacheLookup,
        QueryStage.BeforeRecursion => Phase.BeforeRecursion,
        QueryStage.Resolved => Phase.Resolved,
        QueryStage.Response => Phase.Response,
        _ => null,
    };

    /// <summary>The stage after a phase whose handlers all continued (an answer source has no CacheLookup phase).</summary>
    private QueryStage After(QueryStage stage) => stage switch
    {
        QueryStage.Request => AnswerSource is null ? QueryStage.CacheLookup : QueryStage.Cache,
        QueryStage.CacheLookup => QueryStage.Cache,
        QueryStage.BeforeRecursion => QueryStage.Resolve,
        QueryStage.Resolved => QueryStage.Store,
        _ => QueryStage.Send,
    };

    /// <summary>One step: the next handler of a phase stage (its verdict is the result), or one of the pipeline's stages (which moves the stage itself).</summary>
    private ValueTask<PhaseVerdict> Step(PhaseContext context)
    {
        if (PhaseOf(context.Stage) is { } phase)
        {
            var handlers = context.Phases.Of(phase);
            if (context.HandlerIndex >= handlers.Length) return new(PhaseVerdict.Continue);
            context.Phase = phase;
            context.Before = context.Response;
            return Invoke(handlers[context.HandlerIndex], phase, context, context.Cancellation);
        }
        switch (context.Stage)
        {
            case QueryStage.Cache when AnswerSource is { } source:
                SourceStep(context, source);
                break;
            case QueryStage.Cache:
                CacheStep(context);
                break;
            case QueryStage.Resolve:
                return ResolveStepAsync(context);
            case QueryStage.Store:
                StoreStep(context);
                break;
            case QueryStage.Send:
                SendStep(context);
                break;
        }
        return new(PhaseVerdict.Continue);
    }

    /// <summary>Applies a phase stage's handler verdict: the next handler, the next stage, or the end the handler chose.</summary>
    private void Advance(PhaseContext context, QueryStage stage, PhaseVerdict result)
    {
        if (PhaseOf(stage) is not { } phase) return;
        if (context.HandlerIndex >= context.Phases.Of(phase).Length)
        {
            context.HandlerIndex = 0;
            context.Stage = After(stage);
            return;
        }
        var verdict = Settle(phase, context, result, context.Before);
        context.Before = null;
        if (verdict == PhaseVerdict.Continue)
        {
            context.HandlerIndex++;
            return;
        }
        context.HandlerIndex = 0;
        switch (verdict)
        {
            case PhaseVerdict.Answer when phase == Phase.Response:
                context.ChangedByPhase = true;
                context.Stage = QueryStage.Send;
                break;
            case PhaseVerdict.Answer:
                // A handler's answer is not cached: policies differ by client, the cache key does not.
                Interlocked.Increment(ref Counters.PhaseAnswers);
                context.Kind = ReplyKind.PhaseAnswer;
                context.Cacheable = false;
                context.Stage = QueryStage.Response;
                break;
            case PhaseVerdict.Drop:
                Drop(context.Frame);
                context.Stage = QueryStage.Done;
                break;
            default:
                Interlocked.Increment(ref Counters.Refused);
                SendError(context.Frame, context.Shape, Rcode.Refused, kind: ReplyKind.PhaseRefusal, miss: context.Stage > QueryStage.Cache);
                context.Stage = QueryStage.Done;
                break;
        }
    }

    /// <summary>The answer cache, after the front phases: a hit goes to Response (straight to Finish when no Response handler could see it), a miss to the scheduler.</summary>
    private void CacheStep(PhaseContext context)
    {
        var frame = context.Frame;
        var shape = context.Shape;
        // The thread's reply buffer is safe here: nothing awaits between the lookup and Finish.
        var reply = ReplyBuffer();
        int limit = ReplyLimit(frame, shape);
        if (_answers.TryAnswer(frame.Message, reply.AsSpan(0, Math.Min(limit, reply.Length)), out int written))
        {
            Interlocked.Increment(ref Counters.CacheHits);
            context.Kind = ReplyKind.CacheHit;
            if (context.Phases.Response.Length == 0)
            {
                Finish(frame, shape, reply, written, limit, ReplyKind.CacheHit);
                context.Stage = QueryStage.Done;
                return;
            }
            // Response handlers see the cached answer as a message (this allocates; only with such handlers).
            context.Response = DnsMessage.Parse(reply.AsSpan(0, written));
            context.Stage = QueryStage.Response;
            return;
        }
        Interlocked.Increment(ref Counters.CacheMisses);
        context.Stage = QueryStage.Done;
        if (!context.OwnsFrame && ShedsAtOnce(frame)) return;
        context.Dispatched = true;
        Miss(context.OwnsFrame ? frame : frame.Detach());
    }

    /// <summary>The recursor answers (SERVFAIL when it fails); a client that left is dropped here.</summary>
    private async ValueTask<PhaseVerdict> ResolveStepAsync(PhaseContext context)
    {
        var frame = context.Frame;
        var sink = frame.Sink;
        var query = context.Query;
        var options = _options;
        var request = new Request(query)
        {
            Client = frame.ClientEndPoint,
            Deadline = _clock.UtcNow + options.ResolveTimeout,
            CacheReferrals = !query.Has(HeaderFlags.RD) && options.Snoop.Allows(frame.Address),
        };
        DnsMessage answer;
        try
        {
            // [cluster]: a miss that did not come from a peer is first offered to the name's owner (null: resolve here).
            var forwarded = Forwarder is { } forwarder && !frame.FromPeer && frame.ResolveBy == 0
                ? await AskOwnerAsync(forwarder, frame, query).ConfigureAwait(false)
                : null;
            if (forwarded is not null) answer = forwarded;
            else
            {
                var resolved = await context.Recursor!.ResolveAsync(request, context.Exchanger!, context.Cancellation).ConfigureAwait(false);
                answer = resolved.Message;
                // A referral answers this client's RD=0 query, not the question: the answer cache, keyed by the question, keeps none.
                if (resolved.Referral)
                {
                    context.Cacheable = false;
                    Interlocked.Increment(ref Counters.CacheReferrals);
                }
            }
        }
        catch (OperationCanceledException) when (sink.ClientGone.IsCancellationRequested)
        {
            answer = null!;
        }
        catch (Exception e)
        {
            if (e is not OperationCanceledException) _logger.LogError(ServerEvents.ResolveFailed, e, "resolving {Question} for {Client} failed", query.Questions.FirstOrDefault(), frame.ClientEndPoint);
            answer = query.CreateResponse(Rcode.ServFail);
            answer.Set(HeaderFlags.RA);
        }
        return TakeAnswer(context, answer) ? PhaseVerdict.Continue : PhaseVerdict.Drop;
    }

    /// <summary>Caches a resolved answer (NOERROR or NXDOMAIN, not truncated) as encoded once, for Send to reuse.</summary>
    private void StoreStep(PhaseContext context)
    {
        var answer = context.Response!;
        if (context.Cacheable && answer.Rcode is Rcode.NoError or Rcode.NXDomain && !answer.Has(HeaderFlags.TC))
        {
            var buffer = ArrayPool<byte>.Shared.Rent(MaxMessage);
            context.EncodedLength = answer.WriteTo(buffer, MaxMessage);
            context.Encoded = buffer;
            _answers.Store(context.Frame.Message, buffer.AsSpan(0, context.EncodedLength));
        }
        context.Stage = QueryStage.Response;
    }

    private void SendStep(PhaseContext context)
    {
        var encoded = context.Encoded;
        context.Encoded = null;
        if (context.Response is { } response)
            SendMessage(context.Frame, context.Shape, response, context.Kind, miss: context.Recursor is not null,
                byPhase: context.ChangedByPhase, encoded: context.ChangedByPhase ? null : encoded, encodedLength: context.EncodedLength);
        if (encoded is not null) ArrayPool<byte>.Shared.Return(encoded);
        context.Stage = QueryStage.Done;
    }
}

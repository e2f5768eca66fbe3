using System.Buffers;
using Ananas.Dns.Messages;
using Ananas.Server.Frames;
using Microsoft.Extensions.Logging;

namespace Ananas.Server.Pipeline;

/// <summary>
/// The answer source's part of the pipeline (the authoritative role). Without phase handlers the source writes the
/// reply on the listener's thread, allocating nothing. With handlers, the phases of the resolver that have a
/// meaning here run around it: <see cref="Phase.Request"/> before the source (a handler may answer, refuse or
/// drop), <see cref="Phase.Resolved"/> on the source's answer, then <see cref="Phase.Response"/>. There is no
/// cache or recursion, so CacheLookup, BeforeRecursion and Upstream never run.
/// </summary>
public sealed partial class QueryPipeline
{
    private void AnswerFromSource(Frame frame, in QueryShape shape, IAnswerSource source)
    {
        if (source.TryTakeOver(frame, shape)) return;
        var phases = _phases;
        if (phases.Request.Length + phases.Resolved.Length + phases.Response.Length > 0)
        {
            // Handlers see and build messages (this allocates; only with handlers), and may await: the frame is detached.
            var context = new PhaseContext { RecursionAvailable = false };
            context.Start(frame.Detach(), shape, GroupPrefixLength(frame));
            Interlocked.Increment(ref _inFlight);
            _ = AnswerWithPhasesAsync(context, source, phases);
            return;
        }
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

    private async Task AnswerWithPhasesAsync(PhaseContext context, IAnswerSource source, PhaseTable phases)
    {
        var frame = context.Frame;
        byte[]? buffer = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(_options.ResolveTimeout);
            var verdict = phases.Request.Length == 0 ? PhaseVerdict.Continue
                : await RunPhaseAsync(Phase.Request, context, phases.Request, 0, default, null, timeout.Token).ConfigureAwait(false);
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

            buffer = ArrayPool<byte>.Shared.Rent(MaxMessage);
            // The source writes at most the full message size; the reply is fitted to the client's limit when it is sent.
            int written = source.Answer(frame.Message, frame.Transport, buffer, MaxMessage);
            if (written == 0)
            {
                Drop(frame);
                return;
            }
            context.Response = DnsMessage.Parse(buffer.AsSpan(0, written));
            bool changed = false;
            if (phases.Resolved.Length > 0)
            {
                var resolved = await RunMissPhaseAsync(Phase.Resolved, context, phases.Resolved, timeout.Token).ConfigureAwait(false);
                if (resolved is null) return;
                changed = resolved == PhaseVerdict.Answer;
            }
            verdict = phases.Response.Length == 0 ? PhaseVerdict.Continue
                : await RunPhaseAsync(Phase.Response, context, phases.Response, 0, default, null, timeout.Token).ConfigureAwait(false);
            changed |= verdict != PhaseVerdict.Continue;
            Finish(context, verdict == PhaseVerdict.Continue ? PhaseVerdict.Answer : verdict, byPhase: changed);
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
}

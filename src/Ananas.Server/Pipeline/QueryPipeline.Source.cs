using System.Buffers;
using Ananas.Dns.Messages;
using Ananas.Server.Frames;

namespace Ananas.Server.Pipeline;

/// <summary>
/// The answer source's part of the pipeline (the authoritative role). Without phase handlers the source writes the
/// reply on the listener's thread, allocating nothing, and it goes to Finish. With handlers, the query walks the
/// same stage machine as the resolver's, with the source at the Cache stage: <see cref="Phase.Request"/> before the
/// source (a handler may answer, refuse or drop), <see cref="Phase.Resolved"/> on the source's answer, then
/// <see cref="Phase.Response"/>. There is no cache or recursion, so CacheLookup, BeforeRecursion and Upstream never run.
/// </summary>
public sealed partial class QueryPipeline
{
    /// <param name="view">The query as <see cref="Handle"/> read it (when <paramref name="read"/>): the source does not read it again.</param>
    private void AnswerFromSource(Frame frame, in QueryShape shape, IAnswerSource source, in QueryView view, bool read)
    {
        if (source.TryTakeOver(frame, shape)) return;
        var phases = _phases;
        if (phases.Request.Length + phases.Resolved.Length + phases.Response.Length > 0)
        {
            HandleWithPhases(frame, shape);
            return;
        }
        var reply = ReplyBuffer();
        int limit = Math.Min(ReplyLimit(frame, shape), reply.Length);
        int written = read ? source.Answer(frame.Message, view, frame.Transport, reply, limit) : source.Answer(frame.Message, frame.Transport, reply, limit);
        if (written == 0)
        {
            Drop(frame);
            return;
        }
        // Response rate limiting and cookies apply as to any reply (RRL matters most for an authoritative server).
        Finish(frame, shape, reply, written, limit, ReplyKind.Local);
    }

    /// <summary>The Cache stage of the authoritative role: the source's answer, as a message for the Resolved and Response handlers.</summary>
    private void SourceStep(PhaseContext context, IAnswerSource source)
    {
        var frame = context.Frame;
        var buffer = ArrayPool<byte>.Shared.Rent(MaxMessage);
        try
        {
            // The source writes at most the full message size; the reply is fitted to the client's limit when it is sent.
            int written = source.Answer(frame.Message, frame.Transport, buffer, MaxMessage);
            if (written == 0)
            {
                Drop(frame);
                context.Stage = QueryStage.Done;
                return;
            }
            context.Response = DnsMessage.Parse(buffer.AsSpan(0, written));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        context.Kind = ReplyKind.Local;
        context.Cacheable = false;
        context.Stage = QueryStage.Resolved;
    }
}

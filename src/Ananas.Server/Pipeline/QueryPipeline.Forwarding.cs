using System.Diagnostics;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Frames;
using Microsoft.Extensions.Logging;

namespace Ananas.Server.Pipeline;

/// <summary>
/// The cluster's part of the miss path (<see cref="IMissForwarder"/>). A miss that would be forwarded and has nothing
/// to run before the forward (no BeforeRecursion handler) is sent to its owner from the thread that found it, without
/// the scheduler's worker; the owner's answer continues the query (Resolved to Send) on the thread that received it,
/// the peer link's reader. So a forwarded cache hit wakes three threads in all: the receive thread here, the owner's
/// link reader, and this node's link reader. A miss the owner does not answer goes to the scheduler as any other.
/// </summary>
public sealed partial class QueryPipeline
{
    /// <summary>A detached miss: to its owner now when the cluster forwards it, else to the scheduler.</summary>
    private void Miss(Frame owned)
    {
        if (Forwarder is { } forwarder && !owned.FromPeer && _phases.BeforeRecursion.Length == 0 && TryForwardNow(forwarder, owned)) return;
        Dispatch(owned);
    }

    private bool TryForwardNow(IMissForwarder forwarder, Frame owned)
    {
        DnsMessage query;
        try
        {
            query = DnsMessage.Parse(owned.Message);
        }
        catch (DnsFormatException)
        {
            return false; // the scheduler's path answers FORMERR
        }
        if (Help is not null && query.Questions.Count == 1 && Ananas.Server.Help.HelpProbes.IsProbe(query.Question.Name)) return false;
        long deadline = ResolveDeadline();
        Interlocked.Increment(ref _inFlight);
        // From here the miss may be answered on another thread before TryForward returns: nothing below touches it.
        if (forwarder.TryForward(owned.Message, query, owned.Address, deadline, new ForwardedMiss(this, owned, query, deadline))) return true;
        Interlocked.Decrement(ref _inFlight);
        return false;
    }

    /// <summary>A miss sent to its owner from the receive thread; <see cref="Answered"/> goes on with it.</summary>
    private sealed class ForwardedMiss(QueryPipeline pipeline, Frame frame, DnsMessage query, long deadline) : IForwardedMiss
    {
        public void Answered(DnsMessage? answer)
        {
            if (answer is not null)
            {
                _ = pipeline.FinishForwardedAsync(frame, query, answer, deadline);
                return;
            }
            // Resolved here in the time the query has left, by the scheduler like any miss (still counted in flight).
            frame.ResolveBy = deadline;
            Interlocked.Decrement(ref pipeline._inFlight);
            pipeline.Dispatch(frame);
        }
    }

    /// <summary>The owner's answer to a forwarded miss: the flow from Resolved to Send, here (on the link's reader) unless a handler awaits.</summary>
    private async Task FinishForwardedAsync(Frame frame, DnsMessage query, DnsMessage answer, long deadline)
    {
        CancellationTokenSource? timeout = null;
        try
        {
            var phases = _phases;
            var context = new PhaseContext();
            context.Start(frame, QueryShape.Read(frame.Message), GroupPrefixLength(frame), query);
            context.Phases = phases;
            context.OwnsFrame = true;
            context.Recursor = Volatile.Read(ref _recursor);
            context.Cancellation = _stopping.Token;
            if (phases.Resolved.Length + phases.Response.Length > 0)
            {
                // Handlers get the query's timeout as a token (no timer per forwarded answer without them).
                timeout = CancellationTokenSource.CreateLinkedTokenSource(frame.Sink.ClientGone, _stopping.Token);
                timeout.CancelAfter(TimeLeft(deadline));
                context.Cancellation = timeout.Token;
            }
            if (TakeAnswer(context, answer)) await RunAsync(context).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogError(ServerEvents.ResolveFailed, e, "answering a frame from {Client} failed", frame.ClientEndPoint);
            frame.Sink.Drop(frame);
        }
        finally
        {
            timeout?.Dispose();
            frame.Dispose();
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>
    /// The owner's answer for a miss that ran BeforeRecursion handlers first (it is on the scheduler's worker already),
    /// or null to resolve here. The wait continues on the thread that completes it: the link's reader, with the answer.
    /// </summary>
    private async ValueTask<DnsMessage?> AskOwnerAsync(IMissForwarder forwarder, Frame frame, DnsMessage query)
    {
        var waiter = new OwnerAnswer();
        long deadline = ResolveDeadline();
        if (!forwarder.TryForward(frame.Message, query, frame.Address, deadline, waiter)) return null;
        return await waiter.Task.ConfigureAwait(false);
    }

    private sealed class OwnerAnswer() : TaskCompletionSource<DnsMessage?>(TaskCreationOptions.None), IForwardedMiss
    {
        public void Answered(DnsMessage? answer) => TrySetResult(answer);
    }

    /// <summary>The <see cref="Stopwatch"/> timestamp at which a query starting now times out.</summary>
    private long ResolveDeadline() => Stopwatch.GetTimestamp() + (long)(_options.ResolveTimeout.TotalSeconds * Stopwatch.Frequency);

    /// <summary>What is left until <paramref name="deadline"/> (a <see cref="Stopwatch"/> timestamp), never negative.</summary>
    private static TimeSpan TimeLeft(long deadline) => TimeSpan.FromSeconds(Math.Max(0, (deadline - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency));

    /// <summary>The answer to go on with from Resolved; false (the frame dropped) when the client has gone meanwhile.</summary>
    private bool TakeAnswer(PhaseContext context, DnsMessage answer)
    {
        var frame = context.Frame;
        if (frame.Sink.ClientGone.IsCancellationRequested)
        {
            Interlocked.Increment(ref Counters.ClientGone);
            frame.Sink.Drop(frame);
            context.Stage = QueryStage.Done;
            return false;
        }
        if (answer.Edns is not null) answer.Edns.UdpPayloadSize = _options.MaxUdpPayload;
        context.Response = answer;
        context.Kind = ReplyKind.Resolved;
        context.Stage = QueryStage.Resolved;
        return true;
    }
}

using System.Diagnostics;
using System.Net;
using Ananas.Dns.Messages;
using Ananas.Sandbox;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;

namespace Ananas.Cli.Plugins;

/// <summary>
/// The WebAssembly plugins as one pipeline phase handler: converts the pipeline's <see cref="PhaseContext"/>
/// into the sandbox's <see cref="PluginCallContext"/> (the request region's data), runs the plugins of the
/// phase, and maps their verdict back. A call that completes synchronously reuses a per-thread context and
/// per-thread client addresses, so a cache hit through a plugin allocates only what the sandbox does.
/// </summary>
/// <param name="queryTimeout">The per-query deadline after arrival (the pipeline's resolve timeout, read per call since a reload may change it).</param>
internal sealed class PluginPhaseHandler(PluginHost host, Func<TimeSpan> queryTimeout) : IPhaseHandler
{
    [ThreadStatic]
    private static PluginCallContext? t_call;

    // The last client seen on this thread, as the IPAddress objects the call context wants (most traffic on a
    // thread comes from few clients, so this avoids two allocations per call).
    [ThreadStatic]
    private static (ClientAddress Client, int Prefix, IPAddress Address, IPAddress Network)? t_client;

    public bool Handles(Phase phase) => host.HasCallbacks((PluginPhase)phase);

    public ValueTask<PhaseVerdict> InvokeAsync(Phase phase, PhaseContext context, CancellationToken cancellationToken)
    {
        var call = t_call ?? new PluginCallContext();
        t_call = null;
        if (!Fill(phase, call, context))
        {
            Recycle(call);
            return new(PhaseVerdict.Continue);
        }
        ValueTask<PluginVerdict> pending;
        try
        {
            pending = host.InvokeAsync((PluginPhase)phase, call, cancellationToken);
        }
        catch
        {
            Recycle(call);
            throw;
        }
        if (pending.IsCompletedSuccessfully)
        {
            var verdict = Apply(phase, pending.Result, call, context, context.Response);
            Recycle(call);
            return new(verdict);
        }
        // A guest awaits a host operation: the frame's buffer may be a listener's, reused once the pipeline
        // returns, so the call keeps its own copy of the query (hostcalls such as request_message read it).
        call.QueryWire = call.QueryWire.ToArray();
        return AwaitAsync(phase, pending, call, context, context.Response);
    }

    private static async ValueTask<PhaseVerdict> AwaitAsync(Phase phase, ValueTask<PluginVerdict> pending, PluginCallContext call, PhaseContext context, DnsMessage? given) =>
        Apply(phase, await pending.ConfigureAwait(false), call, context, given);

    private bool Fill(Phase phase, PluginCallContext call, PhaseContext context)
    {
        var frame = context.Frame;
        // The pipeline's first look already read the header, the question and (when it is the first additional
        // record, as clients send it) the OPT record: use that rather than parse the query again. Anything else
        // (no shape, or additional records the first look did not account for) gets the full parse.
        var shape = context.Shape;
        bool checkedQuery = shape.Status == QueryStatus.Ok && (shape.HasEdns || shape.Header.AdditionalCount == 0)
            && call.TrySetCheckedQuery(frame.MessageMemory, shape.QuestionEnd, shape.HasEdns, shape.DnssecOk, shape.UdpPayloadSize);
        if (!checkedQuery && !call.TrySetQuery(frame.MessageMemory)) return false;
        call.Transport = frame.Transport switch
        {
            Transport.Udp => 0,
            Transport.Tcp => 1,
            Transport.Tls => 2,
            _ => 3,
        };
        var (address, network) = ClientAddresses(frame.Address, context.GroupPrefixLength);
        call.ClientAddress = address;
        call.ClientNetwork = network;
        call.ClientPrefixLength = (byte)context.GroupPrefixLength;
        call.ArrivalMilliseconds = host.MillisecondsAt(frame.ArrivalTimestamp);
        call.Response = context.Response;
        // Phases before the resolution run outside its deadline (the pipeline's token only stops the server): a
        // guest awaiting a host operation there is abandoned at the query's deadline, counted from arrival.
        if (phase <= Phase.BeforeRecursion)
            call.Deadline = frame.ArrivalTimestamp + (long)(queryTimeout().TotalSeconds * Stopwatch.Frequency);
        return true;
    }

    private static (IPAddress Address, IPAddress Network) ClientAddresses(ClientAddress client, int prefix)
    {
        if (t_client is { } last && last.Client.High == client.High && last.Client.Low == client.Low && last.Client.IsIPv4 == client.IsIPv4 && last.Prefix == prefix)
            return (last.Address, last.Network);
        var address = client.ToIPAddress();
        var network = ClientGroup.Of(client, prefix, prefix).ToIPAddress();
        t_client = (client, prefix, address, network);
        return (address, network);
    }


    /// <summary>
    /// The plugins' verdict for the pipeline; an answer becomes the context's response. In phases 5–6 a guest's
    /// edits are kept even when it continues (docs/plugins.md): the sandbox then hands back a new message, which
    /// the pipeline must treat as an answer (sent as edited, not cached).
    /// </summary>
    private static PhaseVerdict Apply(Phase phase, PluginVerdict verdict, PluginCallContext call, PhaseContext context, DnsMessage? given)
    {
        if (!call.Spans.IsEmpty) KeepSpans(call, context.Frame);
        if (verdict == PluginVerdict.Continue && phase >= Phase.Resolved && call.Response is { } edited && !ReferenceEquals(edited, given))
        {
            context.Response = edited;
            return PhaseVerdict.Answer;
        }
        switch (verdict)
        {
            case PluginVerdict.Answer when call.Response is { } response:
                // Answers built in phases 1–3 come from the service: RA when it recurses (not in the authoritative role).
                if (phase <= Phase.BeforeRecursion) response.Set(HeaderFlags.RA, context.RecursionAvailable);
                context.Response = response;
                return PhaseVerdict.Answer;
            case PluginVerdict.Refuse:
                return PhaseVerdict.Refuse;
            case PluginVerdict.Drop:
                return PhaseVerdict.Drop;
            default:
                return PhaseVerdict.Continue;
        }
    }

    /// <summary>The guests' tracing spans go with the query to its query-log line; a span left open ends with the call.</summary>
    private static void KeepSpans(PluginCallContext call, Frame frame)
    {
        var spans = frame.Spans ??= new List<TraceSpan>(call.Spans.Length);
        long now = Stopwatch.GetTimestamp();
        foreach (var span in call.Spans)
        {
            if (spans.Count == TraceSpan.MaxPerQuery) break;
            spans.Add(new TraceSpan(span.Plugin, span.Name, span.Start, span.End != 0 ? span.End : now));
        }
    }

    private static void Recycle(PluginCallContext call)
    {
        call.Reset();
        t_call = call;
    }

    public override string ToString() => "plugins";
}

using Ananas.Dns.Messages;
using Microsoft.Extensions.Logging;

namespace Ananas.Server.Pipeline;

/// <summary>
/// The phase handlers' part of the pipeline: the installed set (swapped whole by <see cref="SetHandlers"/>), how
/// one handler is called and what its verdict means. The order in which phases run is the state machine's
/// (<see cref="QueryStage"/>, QueryPipeline.Flow.cs); the Upstream phase runs per sub-request in
/// <see cref="PhaseExchanger"/>.
/// </summary>
public sealed partial class QueryPipeline
{
    private volatile PhaseTable _phases;

    /// <summary>
    /// Installs a new set of handlers (plugins loaded, removed or reordered by a reload). Queries already past a
    /// phase keep the set they started with; new frames see the new one.
    /// </summary>
    public void SetHandlers(IEnumerable<IPhaseHandler> handlers) => _phases = PhaseTable.Of(handlers);

    /// <summary>The Upstream phase for one sub-request: Continue unless a handler refused or dropped it.</summary>
    internal async ValueTask<PhaseVerdict> RunUpstreamPhaseAsync(PhaseContext context, IPhaseHandler[] handlers, CancellationToken cancellationToken)
    {
        context.Phase = Phase.Upstream;
        foreach (var handler in handlers)
        {
            PhaseVerdict result;
            try
            {
                result = await Invoke(handler, Phase.Upstream, context, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Fault(handler, Phase.Upstream, e);
                result = PhaseVerdict.Continue;
            }
            if (result is PhaseVerdict.Refuse or PhaseVerdict.Drop) return result;
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
}

namespace Ananas.Server.Pipeline;

/// <summary>What a phase handler decided.</summary>
public enum PhaseVerdict : byte
{
    /// <summary>No opinion: the query carries on. The pipeline restores the response the handler was given.</summary>
    Continue,

    /// <summary>
    /// Answer with <see cref="PhaseContext.Response"/> (built in phases 1–3, edited or replaced in 5–6). Later
    /// phases that could change it (cache, recursion) are skipped; <see cref="Phase.Response"/> still runs.
    /// </summary>
    Answer,

    /// <summary>Refuse the query (REFUSED); in <see cref="Phase.Upstream"/>, fail the sub-request as unreachable.</summary>
    Refuse,

    /// <summary>Send nothing.</summary>
    Drop,
}

/// <summary>
/// A hook the pipeline calls at each <see cref="Phase"/> it asked for. Handlers run on the query's path: a call
/// that completes synchronously costs no allocation and keeps a cache hit on the listener's thread; one that
/// awaits moves the query to a task (the frame is detached first). A pipeline without handlers skips all this.
/// <para>
/// Contract: a handler that edits <see cref="PhaseContext.Response"/> in place must return
/// <see cref="PhaseVerdict.Answer"/> (a <see cref="PhaseVerdict.Continue"/> only restores the reference, it cannot
/// undo edits). An exception or a faulted task counts as <see cref="PhaseVerdict.Continue"/> and is logged.
/// Read the query through the context after an await: <see cref="PhaseContext.Frame"/> may have been replaced
/// by a detached copy while the handler was waiting.
/// </para>
/// </summary>
public interface IPhaseHandler
{
    /// <summary>Whether this handler wants <paramref name="phase"/> (asked when the handler set is installed).</summary>
    bool Handles(Phase phase);

    ValueTask<PhaseVerdict> InvokeAsync(Phase phase, PhaseContext context, CancellationToken cancellationToken);
}

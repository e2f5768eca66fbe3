using Ananas.Server.Frames;

namespace Ananas.Server.Pipeline;

/// <summary>What a phase handler decided.</summary>
public enum PhaseVerdict : byte
{
    /// <summary>Carry on.</summary>
    Continue,

    /// <summary>Answer no more: the frame is dropped silently.</summary>
    Drop,

    /// <summary>Refuse the query (REFUSED).</summary>
    Refuse,
}

/// <summary>
/// A hook the pipeline calls at each <see cref="Phase"/> a handler asked for. Handlers run inline on the
/// query's path, so they must be quick; a pipeline without handlers skips the calls entirely.
/// </summary>
public interface IPhaseHandler
{
    /// <summary>Whether this handler wants <paramref name="phase"/> (asked once, at pipeline construction).</summary>
    bool Handles(Phase phase);

    PhaseVerdict Invoke(Phase phase, Frame frame);
}

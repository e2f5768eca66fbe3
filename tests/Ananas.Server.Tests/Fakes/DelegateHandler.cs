using Ananas.Server.Pipeline;

namespace Ananas.Server.Tests.Fakes;

/// <summary>A phase handler made of a phase set and a function.</summary>
public sealed class DelegateHandler(Func<Phase, PhaseContext, CancellationToken, ValueTask<PhaseVerdict>> invoke, params Phase[] phases) : IPhaseHandler
{
    public int Calls;

    public bool Handles(Phase phase) => phases.Contains(phase);

    public ValueTask<PhaseVerdict> InvokeAsync(Phase phase, PhaseContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Calls);
        return invoke(phase, context, cancellationToken);
    }
}

using Ananas.Authoritative.Changes;
using Ananas.Authoritative.Store;

namespace Ananas.Pipeline.Changes;

/// <summary>
/// The single-node default: changes go straight into an edge store on this machine (the one <c>ananas auth serve
/// --store</c> serves), each applied with its sequence in one LMDB write transaction. A change already applied is
/// skipped by the store, so a republished one is harmless.
/// </summary>
public sealed class LocalEdgePublisher(EdgeStore store) : IEdgeChangePublisher
{
    public EdgeStore Store { get; } = store;

    public Task PublishAsync(EdgeChange change, CancellationToken cancellationToken)
    {
        EdgeChangeApplier.Apply(Store, change);
        return Task.CompletedTask;
    }

    /// <summary>The last sequence the store applied (what the outbox must be published after).</summary>
    public long AppliedSequence => EdgeChangeApplier.AppliedSequence(Store);
}

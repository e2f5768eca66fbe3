using Ananas.Authoritative.Changes;
using Ananas.Authoritative.Store;
using Ananas.Pipeline.Database;

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

    /// <summary>The whole batch in one LMDB write transaction; when one change does not fit, one at a time up to it.</summary>
    public async Task<(int Published, Exception? Failure)> PublishAllAsync(IReadOnlyList<EdgeChange> changes, CancellationToken cancellationToken)
    {
        try
        {
            EdgeChangeApplier.ApplyAll(Store, changes);
            return (changes.Count, null);
        }
        catch (InvalidDataException)
        {
            return await ((IEdgeChangePublisher)new OneAtATime(this)).PublishAllAsync(changes, cancellationToken);
        }
    }

    /// <summary>This store through the interface's one-change-at-a-time default.</summary>
    private sealed class OneAtATime(LocalEdgePublisher store) : IEdgeChangePublisher
    {
        public Task PublishAsync(EdgeChange change, CancellationToken cancellationToken) => store.PublishAsync(change, cancellationToken);
    }

    /// <summary>The last sequence the store applied (what the outbox must be published after).</summary>
    public long AppliedSequence => EdgeChangeApplier.AppliedSequence(Store);

    /// <summary>
    /// Brings a store that is behind the outbox (new, or restored from a backup) up to it before publishing starts:
    /// when the outbox still holds every later entry, they are marked to be published again, in order; when some
    /// were already removed (<c>api.outbox-retention</c>), the store is first made the database's snapshot (every
    /// other zone removed) and the entries after the snapshot follow.
    /// </summary>
    /// <returns>Whether the snapshot was loaded, and how many entries will be published again.</returns>
    public async Task<(bool Bootstrapped, int Republished)> CatchUpAsync(CentralDatabase database, CancellationToken cancellationToken)
    {
        bool bootstrapped = false;
        if (!await database.CanReplayAfterAsync(AppliedSequence, cancellationToken))
        {
            var snapshot = await ChangeTransformer.SnapshotAsync(database, cancellationToken);
            EdgeChangeApplier.Bootstrap(Store, snapshot.Sequence, snapshot.Zones);
            bootstrapped = true;
        }
        return (bootstrapped, await database.RepublishAfterAsync(AppliedSequence, cancellationToken));
    }
}

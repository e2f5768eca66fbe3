using Ananas.Authoritative.Changes;

namespace Ananas.Authoritative.Sync;

/// <summary>Every zone of the pipeline as of one change sequence: what a new edge loads before it reads the stream after it.</summary>
public sealed record EdgeSnapshot(long Sequence, IReadOnlyList<EdgeChange> Zones);

/// <summary>Where a new edge gets the pipeline's snapshot from.</summary>
public interface IEdgeSnapshotSource
{
    Task<EdgeSnapshot> FetchAsync(CancellationToken cancellationToken);
}

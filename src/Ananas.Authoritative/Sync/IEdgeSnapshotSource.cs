using Ananas.Authoritative.Changes;

namespace Ananas.Authoritative.Sync;

/// <summary>Where a new edge gets the pipeline's snapshot from.</summary>
public interface IEdgeSnapshotSource
{
    Task<EdgeSnapshot> FetchAsync(CancellationToken cancellationToken);
}

using Ananas.Dns.Records;

namespace Ananas.Resolver.Cache;

/// <summary>An RRset found in the cache, with the TTL it has left now.</summary>
public sealed record CachedRRset(RRset RRset, TrustRank Rank, ValidationState Validation, uint RemainingTtl)
{
    public void AppendRecords(List<ResourceRecord> destination) => RRset.AppendRecords(destination, RemainingTtl);
}

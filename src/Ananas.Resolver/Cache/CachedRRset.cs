using Ananas.Dns.Records;

namespace Ananas.Resolver.Cache;

/// <summary>An RRset found in the cache, with the TTL it has left now.</summary>
public sealed record CachedRRset(RRset RRset, TrustRank Rank, ValidationState Validation, uint RemainingTtl)
{
    /// <summary>The TTL it was stored with (after the cache's TTL bounds): prefetch compares the remaining TTL with it.</summary>
    public uint OriginalTtl { get; init; }

    /// <summary>Expired, found only because the caller accepted stale data (RFC 8767); <see cref="RemainingTtl"/> is then 0.</summary>
    public bool Stale { get; init; }

    /// <summary>The RRSIGs stored with the RRset (none unless validation is on).</summary>
    public IReadOnlyList<RrsigData> Signatures { get; init; } = [];

    public void AppendRecords(List<ResourceRecord> destination) => RRset.AppendRecords(destination, RemainingTtl);
}

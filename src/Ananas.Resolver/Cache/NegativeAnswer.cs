using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Cache;

/// <summary>The two kinds of negative answer (RFC 2308 §1).</summary>
public enum NegativeKind : byte
{
    /// <summary>NXDOMAIN: the name does not exist, nor does anything below it (RFC 8020).</summary>
    NameError,

    /// <summary>NOERROR with no data of the asked type.</summary>
    NoData,
}

/// <summary>
/// A negative answer: what does not exist, and the SOA that says so (null when the server sent none, in which
/// case it is not cached). Its TTL is min(SOA TTL, SOA MINIMUM) (RFC 2308 §5).
/// </summary>
public sealed record NegativeAnswer(NegativeKind Kind, DnsName Name, RRType Type, RRClass Class, ResourceRecord? Soa)
{
    /// <summary>How long this answer may be cached (without SOA: <see cref="ProofTtl"/>, normally 0).</summary>
    public uint Ttl => Soa is { Data: SoaData soa } ? Math.Min(Soa.Ttl, soa.Minimum) : ProofTtl;

    /// <summary>
    /// For a denial that has no SOA but signed NSEC/NSEC3 records in <see cref="Authority"/> (a referral's proof
    /// that the child has no DS, RFC 4035 §5.2): how long those records may be cached. The validator reads it
    /// instead of asking for the DS.
    /// </summary>
    public uint ProofTtl { get; init; }

    /// <summary>
    /// Other authority-section records of the zone that came with the denial (e.g. its NS RRset), returned with it
    /// as kresd does (deckard iter_domain_sale).
    /// </summary>
    public IReadOnlyList<ResourceRecord> Authority { get; init; } = [];
}

/// <summary>A negative answer found in the cache, with the TTL it has left now.</summary>
public sealed record CachedNegative(NegativeAnswer Answer, TrustRank Rank, uint RemainingTtl)
{
    /// <summary>The negative TTL it was stored with (after the cache's cap).</summary>
    public uint OriginalTtl { get; init; }

    /// <summary>Expired, found only because the caller accepted stale data (RFC 8767); <see cref="RemainingTtl"/> is then 0.</summary>
    public bool Stale { get; init; }

    /// <summary>The SOA to put in the authority section, with the remaining negative TTL.</summary>
    public ResourceRecord? Soa => Answer.Soa?.WithTtl(RemainingTtl);
}

using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Cache;

/// <summary>
/// The record cache the recursor reads and fills: RRsets with credibility and validation state, negative answers,
/// and delegations. Implementations are thread-safe and expire entries on the injected clock. The interface says
/// nothing about eviction or memory, so a bounded cache can replace the simple one.
/// </summary>
public interface IRecordCache
{
    /// <summary>The unexpired RRset for (name, type, class), or null.</summary>
    CachedRRset? Get(DnsName name, RRType type, RRClass @class);

    /// <summary>
    /// As <see cref="Get(DnsName, RRType, RRClass)"/>, but an RRset expired no more than <paramref name="maxStale"/> ago
    /// (and still retained) is returned too, marked <see cref="CachedRRset.Stale"/> (RFC 8767 serve-stale).
    /// </summary>
    CachedRRset? Get(DnsName name, RRType type, RRClass @class, TimeSpan maxStale) => Get(name, type, @class);

    /// <summary>
    /// Stores an RRset unless an unexpired one of higher rank is held for the same key. TTL 0 is not stored (and
    /// drops what was held for the key: newer data said "do not cache").
    /// Positive data for a key removes a NODATA entry of no higher rank for it. With validation on, the RRSIGs that
    /// came with the RRset are kept with it (<paramref name="signatures"/>), so that a cached answer can be given to
    /// DO clients and validated again without asking upstream.
    /// </summary>
    void Store(RRset rrset, TrustRank rank, ValidationState validation = ValidationState.Unchecked, IReadOnlyList<RrsigData>? signatures = null);

    /// <summary>
    /// The negative answer covering (name, type, class): NODATA for exactly this key, or NXDOMAIN for the name or
    /// any ancestor of it (RFC 8020), or null.
    /// </summary>
    CachedNegative? GetNegative(DnsName name, RRType type, RRClass @class);

    /// <summary>As <see cref="GetNegative(DnsName, RRType, RRClass)"/>, accepting entries expired no more than <paramref name="maxStale"/> ago.</summary>
    CachedNegative? GetNegative(DnsName name, RRType type, RRClass @class, TimeSpan maxStale) => GetNegative(name, type, @class);

    /// <summary>Stores a negative answer (not stored without SOA).</summary>
    void StoreNegative(NegativeAnswer answer, TrustRank rank);

    /// <summary>
    /// Remembers glue as the parent zone gave it, apart from the (higher-ranked) data the child zone may publish for
    /// the same name: the last resort when the child's addresses fail (Unbound's parent-side store). Optional.
    /// </summary>
    void StoreParentSideGlue(RRset glue) { }

    /// <summary>The unexpired parent-side glue for (name, A or AAAA, class), or null.</summary>
    CachedRRset? GetParentSideGlue(DnsName name, RRType type, RRClass @class) => null;

    /// <summary>
    /// The index of secure NSEC records by zone and canonical order, for aggressive use of the validated cache
    /// (RFC 8198); null when the cache keeps none.
    /// </summary>
    SecureNsecIndex? SecureNsec => null;

    /// <summary>
    /// Remembers a referral's NS RRset as the parent zone gave it, with the parent's TTL: the delegation is trusted
    /// only while this copy lasts, however long the child's own NS RRset is cached (ghost domains, CVE-2022-30698 and
    /// CVE-2022-30699). A held child NS RRset whose data differs from the parent's is replaced by it: the parent
    /// changed the delegation. Optional.
    /// </summary>
    void StoreParentSideNameServers(RRset ns) { }

    /// <summary>
    /// The deepest cached NS RRset at or above <paramref name="name"/> (the closest known zone cut) that is still a
    /// delegation: below the root, only while the parent-side copy (<see cref="StoreParentSideNameServers"/>) is
    /// unexpired; or null.
    /// </summary>
    CachedRRset? FindClosestNameServers(DnsName name, RRClass @class);

    /// <summary>Removes everything cached for <paramref name="name"/> (every type, negative entries too). Returns how many entries.</summary>
    int Purge(DnsName name) => 0;

    /// <summary>Removes the RRset and NODATA entry for (<paramref name="name"/>, <paramref name="type"/>). Returns how many entries.</summary>
    int Purge(DnsName name, RRType type) => 0;

    /// <summary>Removes everything cached for <paramref name="apex"/> and every name below it. Returns how many entries.</summary>
    int PurgeSubtree(DnsName apex) => 0;
}

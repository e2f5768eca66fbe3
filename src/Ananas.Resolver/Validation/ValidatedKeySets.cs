using System.Collections.Concurrent;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;

namespace Ananas.Resolver.Validation;

/// <summary>
/// Secure key sets of zones as the chain of trust last derived them, with the cached DS (or trust anchor) and DNSKEY
/// RRsets they came from. An entry holds only while the record cache still holds those very RRsets as secure, with the
/// same RRSIGs: then the derivation (DS digests of the keys, the verdicts looked up) would give the same keys, so a
/// client query below a known zone does not repeat it. Insecure and bogus results are not kept. Shared by the
/// recursor's queries; thread-safe.
/// </summary>
internal sealed class ValidatedKeySets(int capacity = ValidatedKeySets.DefaultCapacity)
{
    /// <summary>Zones kept before the table starts again: each entry is small, the RRsets it names are the cache's.</summary>
    public const int DefaultCapacity = 16_384;

    private readonly ConcurrentDictionary<DnsName, Entry> _entries = new();

    /// <param name="Parent">The zone whose keys signed the DS; null under a trust anchor.</param>
    /// <param name="Anchor">The trust anchor the keys came from instead of a DS; null below one.</param>
    private sealed record Entry(ZoneKeys Keys, DnsName? Parent, TrustAnchor? Anchor, RRset? Ds, IReadOnlyList<RrsigData>? DsSignatures,
        RRset Dnskey, IReadOnlyList<RrsigData> DnskeySignatures);

    public int Count => _entries.Count;

    /// <summary>
    /// The zone's secure keys when the cache still holds the RRsets they came from, with the zone whose keys must
    /// still be secure for them to hold (null under a trust anchor); null when not known or no longer current.
    /// </summary>
    public (ZoneKeys Keys, DnsName? Parent)? Find(DnsName zone, IRecordCache cache, TrustAnchor? anchor)
    {
        if (!_entries.TryGetValue(zone, out var entry)) return null;
        if (!ReferenceEquals(entry.Anchor, anchor)) return null;
        if (!Holds(cache.Get(zone, RRType.DNSKEY, RRClass.IN), entry.Dnskey, entry.DnskeySignatures)) return null;
        if (anchor is null && !Holds(cache.Get(zone, RRType.DS, RRClass.IN), entry.Ds, entry.DsSignatures)) return null;
        return (entry.Keys, entry.Parent);
    }

    /// <summary>
    /// Keeps a secure key set derived from <paramref name="ds"/> (or the anchor) and <paramref name="dnskey"/>, when the
    /// cache holds exactly those records and signatures as secure now (what a later <see cref="Find"/> checks).
    /// </summary>
    public void Remember(DnsName zone, ZoneKeys keys, DnsName? parent, TrustAnchor? anchor, IRecordCache cache,
        List<ResourceRecord>? ds, List<RrsigData>? dsSignatures, List<ResourceRecord> dnskey, List<RrsigData> dnskeySignatures)
    {
        if (keys.State != ValidationState.Secure) return;
        var cachedKeys = cache.Get(zone, RRType.DNSKEY, RRClass.IN);
        if (!VerdictCache.HoldsSecure(cachedKeys, dnskey, dnskeySignatures)) return;
        CachedRRset? cachedDs = null;
        if (anchor is null)
        {
            cachedDs = cache.Get(zone, RRType.DS, RRClass.IN);
            if (ds is null || dsSignatures is null || !VerdictCache.HoldsSecure(cachedDs, ds, dsSignatures)) return;
        }
        if (_entries.Count >= capacity) _entries.Clear();
        _entries[zone] = new Entry(keys, parent, anchor, cachedDs?.RRset, cachedDs?.Signatures, cachedKeys!.RRset, cachedKeys.Signatures);
    }

    private static bool Holds(CachedRRset? cached, RRset? rrset, IReadOnlyList<RrsigData>? signatures) =>
        cached is { Validation: ValidationState.Secure } && ReferenceEquals(cached.RRset, rrset) && ReferenceEquals(cached.Signatures, signatures);
}

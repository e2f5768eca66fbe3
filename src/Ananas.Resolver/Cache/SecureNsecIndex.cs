using System.Collections.Concurrent;
using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Cache;

/// <summary>
/// For aggressive use of the DNSSEC-validated cache (RFC 8198): per signed zone, the owners of the NSEC and NSEC3
/// records the record cache holds as secure, in canonical order (for NSEC3 owners, the order of their hashes), and the zone's validated SOA (with its RRSIGs). The NSEC data
/// itself stays in the record cache (it expires and is evicted there); an owner whose NSEC is gone is dropped here
/// when a lookup finds it missing. Bounded: at most <see cref="MaxZones"/> zones, <see cref="MaxOwnersPerZone"/>
/// owners in one zone and <see cref="MaxOwners"/> in all; a zone that is full takes no more owners, and when the
/// zones or the owners in all run out the index starts again empty (it only points into the cache, and refills as
/// denials are validated; owners whose records expired would otherwise hold the space). Thread-safe.
/// </summary>
public sealed class SecureNsecIndex(IClock clock)
{
    public const int MaxZones = 50_000;
    public const int MaxOwnersPerZone = 10_000;
    public const int MaxOwners = 400_000;

    private readonly ConcurrentDictionary<DnsName, Zone> _zones = new();
    private int _owners;

    /// <summary>A zone's validated SOA and the RRSIGs over it, with the TTL it has left now.</summary>
    public sealed record ZoneSoa(ResourceRecord Soa, IReadOnlyList<RrsigData> Signatures, uint RemainingTtl);

    /// <summary>Zones indexed.</summary>
    public int ZoneCount => _zones.Count;

    /// <summary>Records that the record cache holds the NSEC or NSEC3 (<paramref name="type"/>) at <paramref name="owner"/> of <paramref name="zone"/> as secure.</summary>
    public void Add(DnsName zone, DnsName owner, RRType type)
    {
        if (!owner.IsSubdomainOf(zone) || type is not (RRType.NSEC or RRType.NSEC3)) return;
        var owners = GetOrAddZone(zone)?.Owners(type);
        if (owners is null) return;
        lock (owners)
        {
            if (owners.Count >= MaxOwnersPerZone || !owners.Add(owner)) return;
        }
        if (Interlocked.Increment(ref _owners) > MaxOwners) Reset();
    }

    /// <summary>Owners indexed, in all zones (approximate while others add and remove).</summary>
    public int OwnerCount => Volatile.Read(ref _owners);

    /// <summary>Remembers the zone's SOA, validated with its RRSIGs, for at most <paramref name="ttl"/> seconds (and its own TTL).</summary>
    public void SetSoa(DnsName zone, ResourceRecord soa, IReadOnlyList<RrsigData> signatures, uint ttl)
    {
        if (!soa.Name.Equals(zone) || soa.Data is not SoaData) return;
        var entry = GetOrAddZone(zone);
        if (entry is null) return;
        long seconds = Math.Min(ttl, soa.Ttl);
        entry.Soa = new SoaEntry(soa, signatures, clock.UtcNow.UtcTicks + seconds * TimeSpan.TicksPerSecond);
    }

    /// <summary>
    /// The deepest indexed zone at or above <paramref name="name"/>, or null. With <paramref name="withSoa"/> (a
    /// denial needs the zone's SOA) only a zone whose SOA is held and unexpired; without it (a wildcard answer
    /// carries no SOA) any zone with NSEC or NSEC3 owners.
    /// </summary>
    public DnsName? FindZone(DnsName name, bool withSoa = true)
    {
        if (_zones.IsEmpty) return null;
        long now = clock.UtcNow.UtcTicks;
        for (var zone = name; ; zone = zone.Parent)
        {
            if (_zones.TryGetValue(zone, out var entry) && (withSoa ? entry.Soa is { } soa && soa.ExpiresTicks > now : entry.HasOwners)) return zone;
            if (zone.IsRoot) return null;
        }
    }

    /// <summary>The zone's unexpired SOA, or null.</summary>
    public ZoneSoa? GetSoa(DnsName zone)
    {
        if (!_zones.TryGetValue(zone, out var entry) || entry.Soa is not { } soa) return null;
        long left = soa.ExpiresTicks - clock.UtcNow.UtcTicks;
        if (left <= 0) return null;
        return new ZoneSoa(soa.Record, soa.Signatures, (uint)Math.Min(soa.Record.Ttl, left / TimeSpan.TicksPerSecond));
    }

    /// <summary>
    /// The greatest indexed NSEC (or NSEC3) owner of <paramref name="zone"/> at or before <paramref name="name"/> in
    /// canonical order, or null. With <paramref name="wrap"/>, a name before every owner gets the last one (the
    /// NSEC3 chain wraps from the greatest hash to the smallest).
    /// </summary>
    public DnsName? FindAtOrBefore(DnsName zone, DnsName name, RRType type = RRType.NSEC, bool wrap = false)
    {
        if (!_zones.TryGetValue(zone, out var entry)) return null;
        var owners = entry.Owners(type);
        lock (owners)
        {
            if (owners.Count == 0) return null;
            if (name.CompareTo(owners.Min) < 0) return wrap ? owners.Max : null;
            return owners.GetViewBetween(owners.Min!, name).Max;
        }
    }

    /// <summary>Whether any NSEC3 owner of the zone is indexed (the zone is signed with NSEC3).</summary>
    public DnsName? AnyNsec3Owner(DnsName zone)
    {
        if (!_zones.TryGetValue(zone, out var entry)) return null;
        lock (entry.Nsec3Owners) return entry.Nsec3Owners.Count == 0 ? null : entry.Nsec3Owners.Min;
    }

    /// <summary>Forgets an owner whose NSEC or NSEC3 the record cache no longer holds as secure.</summary>
    public void Remove(DnsName zone, DnsName owner, RRType type = RRType.NSEC)
    {
        if (!_zones.TryGetValue(zone, out var entry)) return;
        var owners = entry.Owners(type);
        bool removed;
        lock (owners) removed = owners.Remove(owner);
        if (removed) Interlocked.Decrement(ref _owners);
    }

    /// <summary>Forgets <paramref name="apex"/> and every zone below it. Returns how many zones.</summary>
    public int PurgeSubtree(DnsName apex)
    {
        int removed = 0;
        foreach (var zone in _zones.Keys)
        {
            if (!zone.IsSubdomainOf(apex) || !_zones.TryRemove(zone, out var entry)) continue;
            removed++;
            Interlocked.Add(ref _owners, -entry.Count());
        }
        return removed;
    }

    private Zone? GetOrAddZone(DnsName zone)
    {
        if (_zones.TryGetValue(zone, out var entry)) return entry;
        if (_zones.Count >= MaxZones) Reset();
        return _zones.GetOrAdd(zone, static _ => new Zone());
    }

    /// <summary>Starts again empty (the bounds were reached).</summary>
    private void Reset()
    {
        _zones.Clear();
        Volatile.Write(ref _owners, 0);
    }

    private sealed record SoaEntry(ResourceRecord Record, IReadOnlyList<RrsigData> Signatures, long ExpiresTicks);

    private sealed class Zone
    {
        /// <summary>NSEC owners in canonical order (<see cref="DnsName.CompareTo"/>); locked on itself.</summary>
        public readonly SortedSet<DnsName> NsecOwners = [];

        /// <summary>NSEC3 owners (hash labels under the zone: canonical order is hash order); locked on itself.</summary>
        public readonly SortedSet<DnsName> Nsec3Owners = [];

        public SortedSet<DnsName> Owners(RRType type) => type == RRType.NSEC3 ? Nsec3Owners : NsecOwners;

        /// <summary>
        /// Whether any NSEC or NSEC3 owner is held: two unlocked reads (this runs on every cache look-up that misses),
        /// a hint only; whatever is found is checked again under the locks.
        /// </summary>
        public bool HasOwners => NsecOwners.Count > 0 || Nsec3Owners.Count > 0;

        public int Count()
        {
            lock (NsecOwners) lock (Nsec3Owners) return NsecOwners.Count + Nsec3Owners.Count;
        }

        public volatile SoaEntry? Soa;
    }
}

using System.Collections.Concurrent;
using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Cache;

/// <summary>
/// For aggressive use of the DNSSEC-validated cache (RFC 8198): per signed zone, the owners of the NSEC records the
/// record cache holds as secure, in canonical order, and the zone's validated SOA (with its RRSIGs). The NSEC data
/// itself stays in the record cache (it expires and is evicted there); an owner whose NSEC is gone is dropped here
/// when a lookup finds it missing. Bounded: at most <see cref="MaxZones"/> zones of <see cref="MaxOwnersPerZone"/>
/// owners each; past that, new entries are not indexed (the answer is then asked upstream as before). Thread-safe.
/// </summary>
public sealed class SecureNsecIndex(IClock clock)
{
    public const int MaxZones = 10_000;
    public const int MaxOwnersPerZone = 10_000;

    private readonly ConcurrentDictionary<DnsName, Zone> _zones = new();

    /// <summary>A zone's validated SOA and the RRSIGs over it, with the TTL it has left now.</summary>
    public sealed record ZoneSoa(ResourceRecord Soa, IReadOnlyList<RrsigData> Signatures, uint RemainingTtl);

    /// <summary>Zones indexed.</summary>
    public int ZoneCount => _zones.Count;

    /// <summary>Records that the record cache holds the NSEC at <paramref name="owner"/> of <paramref name="zone"/> as secure.</summary>
    public void AddNsec(DnsName zone, DnsName owner)
    {
        if (!owner.IsSubdomainOf(zone)) return;
        var entry = GetOrAddZone(zone);
        if (entry is null) return;
        lock (entry.Owners)
        {
            if (entry.Owners.Count < MaxOwnersPerZone) entry.Owners.Add(owner);
        }
    }

    /// <summary>Remembers the zone's SOA, validated with its RRSIGs, for at most <paramref name="ttl"/> seconds (and its own TTL).</summary>
    public void SetSoa(DnsName zone, ResourceRecord soa, IReadOnlyList<RrsigData> signatures, uint ttl)
    {
        if (!soa.Name.Equals(zone) || soa.Data is not SoaData) return;
        var entry = GetOrAddZone(zone);
        if (entry is null) return;
        long seconds = Math.Min(ttl, soa.Ttl);
        entry.Soa = new SoaEntry(soa, signatures, clock.UtcNow.UtcTicks + seconds * TimeSpan.TicksPerSecond);
    }

    /// <summary>The deepest indexed zone at or above <paramref name="name"/> with an unexpired SOA, or null.</summary>
    public DnsName? FindZone(DnsName name)
    {
        if (_zones.IsEmpty) return null;
        long now = clock.UtcNow.UtcTicks;
        for (var zone = name; ; zone = zone.Parent)
        {
            if (_zones.TryGetValue(zone, out var entry) && entry.Soa is { } soa && soa.ExpiresTicks > now) return zone;
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

    /// <summary>The greatest indexed NSEC owner of <paramref name="zone"/> at or before <paramref name="name"/> in canonical order, or null.</summary>
    public DnsName? FindAtOrBefore(DnsName zone, DnsName name)
    {
        if (!_zones.TryGetValue(zone, out var entry)) return null;
        lock (entry.Owners)
        {
            if (entry.Owners.Count == 0 || name.CompareTo(entry.Owners.Min) < 0) return null;
            return entry.Owners.GetViewBetween(entry.Owners.Min!, name).Max;
        }
    }

    /// <summary>Forgets an owner whose NSEC the record cache no longer holds as secure.</summary>
    public void Remove(DnsName zone, DnsName owner)
    {
        if (!_zones.TryGetValue(zone, out var entry)) return;
        lock (entry.Owners) entry.Owners.Remove(owner);
    }

    /// <summary>Forgets <paramref name="apex"/> and every zone below it. Returns how many zones.</summary>
    public int PurgeSubtree(DnsName apex)
    {
        int removed = 0;
        foreach (var zone in _zones.Keys)
            if (zone.IsSubdomainOf(apex) && _zones.TryRemove(zone, out _)) removed++;
        return removed;
    }

    private Zone? GetOrAddZone(DnsName zone)
    {
        if (_zones.TryGetValue(zone, out var entry)) return entry;
        if (_zones.Count >= MaxZones) return null;
        return _zones.GetOrAdd(zone, static _ => new Zone());
    }

    private sealed record SoaEntry(ResourceRecord Record, IReadOnlyList<RrsigData> Signatures, long ExpiresTicks);

    private sealed class Zone
    {
        /// <summary>NSEC owners in canonical order (<see cref="DnsName.CompareTo"/>); locked on itself.</summary>
        public readonly SortedSet<DnsName> Owners = [];

        public volatile SoaEntry? Soa;
    }
}

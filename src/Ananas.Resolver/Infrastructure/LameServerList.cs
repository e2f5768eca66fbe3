using System.Net;
using Ananas.Dns;
using Ananas.Resolver.Cache;

namespace Ananas.Resolver.Infrastructure;

/// <summary>
/// A thread-safe <see cref="ILameServerList"/> whose marks expire after a hold-down on the injected clock. A remote
/// party adds a mark per (server, zone) it makes look lame, so the marks are a byte-bounded
/// <see cref="HoldDownTable{TKey,TValue}"/>.
/// </summary>
public sealed class LameServerList : ILameServerList
{
    /// <summary>1 MiB: about ten thousand marks with typical zone names.</summary>
    public const long DefaultCapacityBytes = 1L << 20;

    /// <summary>Marks between two sweeps of the expired ones.</summary>
    public const int SweepEvery = HoldDownTable<(IPAddress, DnsName), Lameness>.SweepEvery;

    private readonly HoldDownTable<(IPAddress Server, DnsName Zone), Lameness> _marks;

    public LameServerList(IClock clock, TimeSpan holdDown, long capacityBytes = DefaultCapacityBytes)
    {
        _marks = new HoldDownTable<(IPAddress, DnsName), Lameness>(clock, holdDown, capacityBytes, MarkCost.Instance);
    }

    /// <summary>Marks held (expired ones until swept or evicted).</summary>
    public long Count => _marks.Count;

    /// <summary>Bytes the marks are charged (at most the capacity).</summary>
    public long ResidentBytes => _marks.ResidentBytes;

    public bool IsLame(IPAddress server, DnsName zone) => _marks.Contains((server, zone));

    public void MarkLame(IPAddress server, DnsName zone, Lameness reason) => _marks.Add((server, zone), reason);

    /// <summary>Removes the marks whose hold-down is over; returns how many.</summary>
    public int RemoveExpired() => _marks.RemoveExpired();

    private sealed class MarkCost : ICacheCost<(IPAddress Server, DnsName Zone), Lameness>
    {
        public static readonly MarkCost Instance = new();

        /// <summary>The zone name and the address object (IPv6 carries its 16 octets).</summary>
        public long CostOf((IPAddress Server, DnsName Zone) key, Lameness value) => RecordCost.Of(key.Zone) + 56;
    }
}

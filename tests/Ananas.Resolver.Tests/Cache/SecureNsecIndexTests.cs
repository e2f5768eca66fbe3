using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests.Cache;

public sealed class SecureNsecIndexTests
{
    private readonly VirtualClock _clock = new();

    private static DnsName N(string name) => DnsName.Parse(name);

    private static ResourceRecord Soa(string zone) =>
        RecordText.Parse($"{zone} 3600 IN SOA ns.{zone} hostmaster.{zone} 1 7200 3600 1209600 300", DnsName.Root);

    [Fact]
    public void Finds_the_canonical_predecessor_and_wraps_only_when_asked()
    {
        var index = new SecureNsecIndex(_clock);
        foreach (var owner in new[] { "example.", "b.example.", "z.a.example.", "a.example." })
            index.Add(N("example."), N(owner), RRType.NSEC);
        // Canonical order: example. < a.example. < z.a.example. < b.example.
        Assert.Equal(N("z.a.example."), index.FindAtOrBefore(N("example."), N("zz.a.example.")));
        Assert.Equal(N("z.a.example."), index.FindAtOrBefore(N("example."), N("aa.example.")));
        Assert.Equal(N("b.example."), index.FindAtOrBefore(N("example."), N("b.example.")));
        Assert.Equal(N("b.example."), index.FindAtOrBefore(N("example."), N("x.b.example.")));
        Assert.Null(index.FindAtOrBefore(N("other."), N("x.other.")));

        index.Add(N("example."), N("m.example."), RRType.NSEC3);
        Assert.Null(index.FindAtOrBefore(N("example."), N("c.example."), RRType.NSEC3));
        Assert.Equal(N("m.example."), index.FindAtOrBefore(N("example."), N("c.example."), RRType.NSEC3, wrap: true));
        // Not below the zone: not indexed.
        index.Add(N("example."), N("elsewhere."), RRType.NSEC);
        Assert.Equal(5, index.OwnerCount);
    }

    [Fact]
    public void A_zone_is_found_only_while_its_SOA_lasts()
    {
        var index = new SecureNsecIndex(_clock);
        index.Add(N("example."), N("a.example."), RRType.NSEC);
        Assert.Null(index.FindZone(N("x.example.")));
        index.SetSoa(N("example."), Soa("example."), [], ttl: 600);
        Assert.Equal(N("example."), index.FindZone(N("x.y.example.")));
        Assert.Equal(600u, index.GetSoa(N("example."))!.RemainingTtl);
        _clock.Advance(TimeSpan.FromSeconds(601));
        Assert.Null(index.FindZone(N("x.example.")));
        Assert.Null(index.GetSoa(N("example.")));
    }

    [Fact]
    public void Owners_stay_within_the_bounds()
    {
        var index = new SecureNsecIndex(_clock);
        int zones = SecureNsecIndex.MaxOwners / SecureNsecIndex.MaxOwnersPerZone + 2;
        int most = 0;
        for (int z = 0; z < zones; z++)
        {
            var zone = N($"z{z}.");
            for (int i = 0; i <= SecureNsecIndex.MaxOwnersPerZone; i++) index.Add(zone, N($"n{i}.z{z}."), RRType.NSEC);
            most = Math.Max(most, index.OwnerCount);
        }
        Assert.True(most <= SecureNsecIndex.MaxOwners, $"{most} owners held");
        // Past the total bound it started again: fewer owners now than at the peak, and still in use.
        Assert.True(index.OwnerCount < most);
        Assert.NotNull(index.FindAtOrBefore(N($"z{zones - 1}."), N($"n5.z{zones - 1}.")));
    }
}

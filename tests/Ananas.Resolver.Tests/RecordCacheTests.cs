using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests;

public sealed class RecordCacheTests
{
    private static RRset Set(string line) => RRset.Collect([RecordText.Parse(line, DnsName.Root)], RecordText.Parse(line, DnsName.Root).Name, RecordText.Parse(line, DnsName.Root).Type)!;

    [Fact]
    public void Higher_rank_replaces_lower_and_lower_never_replaces_unexpired_higher()
    {
        var clock = new VirtualClock();
        var cache = new RecordCache(clock);
        cache.Store(Set("ns.example.com. 600 A 192.0.2.1"), TrustRank.Additional);
        cache.Store(Set("ns.example.com. 300 A 192.0.2.2"), TrustRank.AuthoritativeAnswer);
        cache.Store(Set("ns.example.com. 900 A 192.0.2.3"), TrustRank.Additional);

        var hit = cache.Get(DnsName.Parse("NS.example.COM."), RRType.A, RRClass.IN)!;
        Assert.Equal(TrustRank.AuthoritativeAnswer, hit.Rank);
        Assert.Equal("192.0.2.2", hit.RRset.Data[0].ToString());

        clock.Advance(TimeSpan.FromSeconds(301));
        Assert.Null(cache.Get(DnsName.Parse("ns.example.com."), RRType.A, RRClass.IN));
        cache.Store(Set("ns.example.com. 900 A 192.0.2.3"), TrustRank.Additional);
        Assert.Equal(TrustRank.Additional, cache.Get(DnsName.Parse("ns.example.com."), RRType.A, RRClass.IN)!.Rank);
    }

    [Fact]
    public void Remaining_TTL_follows_the_clock_and_TTLs_are_capped()
    {
        var clock = new VirtualClock();
        var cache = new RecordCache(clock, maxTtl: TimeSpan.FromSeconds(1000));
        cache.Store(Set("www.example.com. 86400 A 192.0.2.1"), TrustRank.AuthoritativeAnswer);
        clock.Advance(TimeSpan.FromSeconds(400));
        Assert.Equal(600u, cache.Get(DnsName.Parse("www.example.com."), RRType.A, RRClass.IN)!.RemainingTtl);
        Assert.Null(cache.Get(DnsName.Parse("www.example.com."), RRType.AAAA, RRClass.IN));
    }

    [Fact]
    public void NXDOMAIN_denies_the_name_and_everything_below_it_until_it_expires()
    {
        var clock = new VirtualClock();
        var cache = new RecordCache(clock);
        var soa = RecordText.Parse("example.com. 3600 SOA ns hostmaster 1 2 3 4 120", DnsName.Parse("example.com."));
        cache.StoreNegative(new NegativeAnswer(NegativeKind.NameError, DnsName.Parse("gone.example.com."), RRType.A, RRClass.IN, soa), TrustRank.AuthoritativeAuthority);

        var below = cache.GetNegative(DnsName.Parse("a.b.gone.example.com."), RRType.MX, RRClass.IN)!;
        Assert.Equal(NegativeKind.NameError, below.Answer.Kind);
        Assert.Equal(120u, below.Soa!.Ttl);
        Assert.Null(cache.GetNegative(DnsName.Parse("example.com."), RRType.A, RRClass.IN));
        Assert.Null(cache.GetNegative(DnsName.Parse("other.example.com."), RRType.A, RRClass.IN));

        clock.Advance(TimeSpan.FromSeconds(121));
        Assert.Null(cache.GetNegative(DnsName.Parse("gone.example.com."), RRType.A, RRClass.IN));
    }

    [Fact]
    public void NODATA_is_per_type_and_positive_data_replaces_it()
    {
        var clock = new VirtualClock();
        var cache = new RecordCache(clock);
        var soa = RecordText.Parse("example.com. 3600 SOA ns hostmaster 1 2 3 4 120", DnsName.Parse("example.com."));
        var name = DnsName.Parse("www.example.com.");
        cache.StoreNegative(new NegativeAnswer(NegativeKind.NoData, name, RRType.AAAA, RRClass.IN, soa), TrustRank.AuthoritativeAuthority);
        Assert.NotNull(cache.GetNegative(name, RRType.AAAA, RRClass.IN));
        Assert.Null(cache.GetNegative(name, RRType.A, RRClass.IN));

        cache.Store(Set("www.example.com. 300 AAAA 2001:db8::1"), TrustRank.AuthoritativeAnswer);
        Assert.Null(cache.GetNegative(name, RRType.AAAA, RRClass.IN));
        Assert.NotNull(cache.Get(name, RRType.AAAA, RRClass.IN));
    }

    [Fact]
    public void Negative_answers_without_SOA_are_not_cached()
    {
        var cache = new RecordCache(new VirtualClock());
        cache.StoreNegative(new NegativeAnswer(NegativeKind.NameError, DnsName.Parse("x.test."), RRType.A, RRClass.IN, null), TrustRank.AuthoritativeAuthority);
        Assert.Null(cache.GetNegative(DnsName.Parse("x.test."), RRType.A, RRClass.IN));
    }

    [Fact]
    public void The_closest_cached_NS_set_is_found_for_a_name()
    {
        var cache = new RecordCache(new VirtualClock());
        foreach (var referral in new[] { Set("com. 3600 NS a.gtld-servers.net."), Set("example.com. 3600 NS ns1.example.com.") })
        {
            cache.Store(referral, TrustRank.NonAuthoritativeAuthority);
            cache.StoreParentSideNameServers(referral);
        }
        Assert.Equal(DnsName.Parse("example.com."), cache.FindClosestNameServers(DnsName.Parse("a.b.example.com."), RRClass.IN)!.RRset.Name);
        Assert.Equal(DnsName.Parse("com."), cache.FindClosestNameServers(DnsName.Parse("example2.com."), RRClass.IN)!.RRset.Name);
        Assert.Null(cache.FindClosestNameServers(DnsName.Parse("example.net."), RRClass.IN));
    }

    [Fact]
    public void A_child_NS_set_is_a_delegation_only_while_the_parent_side_copy_lasts()
    {
        var clock = new VirtualClock();
        var cache = new RecordCache(clock);
        var name = DnsName.Parse("www.example.com.");
        cache.Store(Set("com. 86400 NS a.gtld-servers.net."), TrustRank.NonAuthoritativeAuthority);
        cache.StoreParentSideNameServers(Set("com. 86400 NS a.gtld-servers.net."));
        // The child's own NS set, cached longer than the referral that led to it.
        cache.Store(Set("example.com. 86400 NS ns1.example.com."), TrustRank.AuthoritativeAnswer);
        Assert.Equal("com.", cache.FindClosestNameServers(name, RRClass.IN)!.RRset.Name.ToString());

        cache.StoreParentSideNameServers(Set("example.com. 600 NS ns1.example.com."));
        Assert.Equal("example.com.", cache.FindClosestNameServers(name, RRClass.IN)!.RRset.Name.ToString());
        Assert.Equal(TrustRank.AuthoritativeAnswer, cache.Get(DnsName.Parse("example.com."), RRType.NS, RRClass.IN)!.Rank);

        clock.Advance(TimeSpan.FromSeconds(601));
        Assert.NotNull(cache.Get(DnsName.Parse("example.com."), RRType.NS, RRClass.IN));
        Assert.Equal("com.", cache.FindClosestNameServers(name, RRClass.IN)!.RRset.Name.ToString());
    }

    [Fact]
    public void A_parent_that_changes_the_NS_set_replaces_the_child_copy_of_higher_rank()
    {
        var cache = new RecordCache(new VirtualClock());
        var zone = DnsName.Parse("example.com.");
        cache.Store(Set("example.com. 86400 NS ns1.example.com."), TrustRank.AuthoritativeAnswer);

        cache.StoreParentSideNameServers(Set("example.com. 600 NS ns1.example.com."));
        Assert.Equal(86400u, cache.Get(zone, RRType.NS, RRClass.IN)!.RemainingTtl);

        cache.StoreParentSideNameServers(Set("example.com. 600 NS ns9.example.net."));
        var held = cache.Get(zone, RRType.NS, RRClass.IN)!;
        Assert.Equal("ns9.example.net.", held.RRset.Data[0].ToString());
        Assert.Equal(600u, held.RemainingTtl);
    }
}

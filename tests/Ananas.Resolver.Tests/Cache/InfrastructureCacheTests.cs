using Ananas.Resolver.Tests.Fakes;
using System.Net;
using Ananas.Dns;
using Ananas.Resolver.Cache;

namespace Ananas.Resolver.Tests.Cache;

public sealed class InfrastructureCacheTests
{
    private static readonly IPAddress Server = IPAddress.Parse("192.0.2.53");
    private static readonly IPAddress Other = IPAddress.Parse("2001:db8::53");

    private static TimeSpan Ms(double ms) => TimeSpan.FromTicks((long)(ms * TimeSpan.TicksPerMillisecond));

    [Fact]
    public void Rto_FollowsRfc6298_ForHandComputedSamples()
    {
        var cache = new InfrastructureCache(new InfrastructureCacheOptions(), new VirtualClock());
        Assert.Equal(Ms(400), cache.GetRto(Server)); // never measured: the initial RTO

        // First sample R = 100: SRTT = 100, RTTVAR = 50, RTO = 100 + 4·50 = 300.
        cache.RecordRtt(Server, Ms(100));
        Assert.Equal(Ms(300), cache.GetRto(Server));
        Assert.Equal(Ms(100), cache.GetSmoothedRtt(Server));

        // R = 200: RTTVAR = ¾·50 + ¼·|100 − 200| = 62.5; SRTT = ⅞·100 + ⅛·200 = 112.5; RTO = 112.5 + 250 = 362.5.
        cache.RecordRtt(Server, Ms(200));
        Assert.Equal(Ms(362.5), cache.GetRto(Server));

        // R = 50: RTTVAR = ¾·62.5 + ¼·|112.5 − 50| = 62.5; SRTT = ⅞·112.5 + ⅛·50 = 104.6875; RTO = 354.6875.
        cache.RecordRtt(Server, Ms(50));
        Assert.Equal(Ms(354.6875), cache.GetRto(Server));
        Assert.Equal(Ms(104.6875), cache.GetSmoothedRtt(Server));
    }

    [Fact]
    public void Rto_IsClampedToTheConfiguredRange()
    {
        var cache = new InfrastructureCache(new InfrastructureCacheOptions(), new VirtualClock());
        cache.RecordRtt(Server, Ms(5)); // 5 + 4·2.5 = 15 ms
        Assert.Equal(Ms(50), cache.GetRto(Server));
        cache.RecordRtt(Other, TimeSpan.FromSeconds(2)); // 2 s + 4 s
        Assert.Equal(TimeSpan.FromSeconds(3), cache.GetRto(Other));
    }

    [Fact]
    public void Timeouts_DoubleTheRto_UpToTheMaximum_AndAMeasurementEndsTheBackoff()
    {
        var cache = new InfrastructureCache(new InfrastructureCacheOptions { HoldDownAfterFailures = 100 }, new VirtualClock());
        cache.RecordRtt(Server, Ms(100));
        cache.RecordTimeout(Server);
        Assert.Equal(Ms(600), cache.GetRto(Server));
        cache.RecordTimeout(Server);
        Assert.Equal(Ms(1200), cache.GetRto(Server));
        cache.RecordTimeout(Server);
        Assert.Equal(Ms(2400), cache.GetRto(Server));
        cache.RecordTimeout(Server);
        Assert.Equal(TimeSpan.FromSeconds(3), cache.GetRto(Server));

        // R = 100 again: RTTVAR = ¾·50 + 0 = 37.5, SRTT = 100, RTO = 250.
        cache.RecordRtt(Server, Ms(100));
        Assert.Equal(Ms(250), cache.GetRto(Server));

        cache.RecordTimeout(Other); // unknown server: the initial RTO doubled
        Assert.Equal(Ms(800), cache.GetRto(Other));
    }

    [Fact]
    public void RepeatedFailures_HoldTheServerDown_WithExponentialBackoff()
    {
        var clock = new VirtualClock();
        var cache = new InfrastructureCache(new InfrastructureCacheOptions(), clock);
        for (int i = 0; i < 3; i++) cache.RecordTimeout(Server);
        Assert.False(cache.IsHeldDown(Server));
        cache.RecordTimeout(Server); // the 4th in a row: 5 s
        Assert.True(cache.IsHeldDown(Server));
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.False(cache.IsHeldDown(Server));

        cache.RecordNetworkError(Server); // the 5th: 10 s
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.True(cache.IsHeldDown(Server));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.IsHeldDown(Server));

        for (int i = 0; i < 20; i++) cache.RecordTimeout(Server); // capped at 5 minutes
        clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromTicks(1));
        Assert.True(cache.IsHeldDown(Server));
        Assert.Equal(25, cache.Snapshot()[0].ConsecutiveFailures);

        cache.RecordRtt(Server, Ms(20)); // an answer ends the hold-down
        Assert.False(cache.IsHeldDown(Server));
        Assert.Equal(0, cache.Snapshot()[0].ConsecutiveFailures);
    }

    [Fact]
    public void A_burst_of_timeouts_of_queries_sent_together_backs_off_once_and_holds_nothing_down()
    {
        var cache = new InfrastructureCache(new InfrastructureCacheOptions(), new VirtualClock());
        cache.RecordRtt(Server, Ms(100)); // RTO 300 ms
        var sentWith = cache.GetRto(Server);
        // One stall: 200 queries were in flight with the same RTO and all time out.
        for (int i = 0; i < 200; i++) cache.RecordTimeout(Server, sentWith);
        Assert.Equal(Ms(600), cache.GetRto(Server));
        Assert.False(cache.IsHeldDown(Server));
        var snapshot = cache.Snapshot()[0];
        Assert.Equal(1, snapshot.ConsecutiveFailures);
        Assert.Equal(200, snapshot.Timeouts);
    }

    [Fact]
    public void Timeouts_of_queries_sent_after_each_back_off_still_hold_the_server_down()
    {
        var cache = new InfrastructureCache(new InfrastructureCacheOptions(), new VirtualClock());
        for (int i = 0; i < 3; i++) cache.RecordTimeout(Server, cache.GetRto(Server));
        Assert.False(cache.IsHeldDown(Server));
        cache.RecordTimeout(Server, cache.GetRto(Server)); // the 4th loss event in a row
        Assert.True(cache.IsHeldDown(Server));
        Assert.Equal(TimeSpan.FromSeconds(3), cache.GetRto(Server)); // 400 ms doubled to the 3 s maximum
        cache.RecordTimeout(Server, cache.GetRto(Server)); // at the maximum RTO a timeout still counts
        Assert.Equal(5, cache.Snapshot()[0].ConsecutiveFailures);
    }

    [Fact]
    public void Entries_ExpireAfterTheLifetimeWithoutUpdates()
    {
        var clock = new VirtualClock();
        var cache = new InfrastructureCache(new InfrastructureCacheOptions(), clock);
        cache.RecordRtt(Server, Ms(100));
        for (int i = 0; i < 4; i++) cache.RecordTimeout(Server);
        cache.SetEdnsSupport(Server, EdnsSupport.NotSupported);
        clock.Advance(TimeSpan.FromMinutes(15));
        Assert.True(cache.GetRto(Server) > Ms(400)); // exactly 15 minutes: still remembered
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(Ms(400), cache.GetRto(Server));
        Assert.False(cache.IsHeldDown(Server));
        Assert.Equal(EdnsSupport.Unknown, cache.GetEdnsSupport(Server));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Capabilities_AreRemembered()
    {
        var cache = new InfrastructureCache(new InfrastructureCacheOptions(), new VirtualClock());
        Assert.Equal(EdnsSupport.Unknown, cache.GetEdnsSupport(Server));
        cache.SetEdnsSupport(Server, EdnsSupport.Supported);
        cache.SetWorkingPayloadSize(Server, 1232);
        cache.SetTransportSupport(Server, UpstreamTransport.Tcp, Capability.Works);
        cache.SetTransportSupport(Server, UpstreamTransport.Tls, Capability.Fails);
        cache.SetCasePreservation(Server, Capability.Fails);
        Assert.Equal(EdnsSupport.Supported, cache.GetEdnsSupport(Server));
        Assert.Equal(1232, cache.GetWorkingPayloadSize(Server));
        Assert.Equal(Capability.Works, cache.GetTransportSupport(Server, UpstreamTransport.Tcp));
        Assert.Equal(Capability.Fails, cache.GetTransportSupport(Server, UpstreamTransport.Tls));
        Assert.Equal(Capability.Fails, cache.GetCasePreservation(Server));
        Assert.Equal(Capability.Unknown, cache.GetTransportSupport(Other, UpstreamTransport.Tcp));
    }

    [Fact]
    public void Snapshot_ReportsEveryLiveServer()
    {
        var clock = new VirtualClock();
        var cache = new InfrastructureCache(new InfrastructureCacheOptions(), clock);
        cache.RecordRtt(Server, Ms(100));
        cache.RecordTimeout(Server);
        cache.SetCasePreservation(Other, Capability.Works);
        var snapshot = cache.Snapshot();
        Assert.Equal(2, snapshot.Count);
        var server = Assert.Single(snapshot, s => s.Address.Equals(Server));
        Assert.Equal(Ms(100), server.SmoothedRtt);
        Assert.Equal(Ms(50), server.RttVariance);
        Assert.Equal(Ms(600), server.Rto);
        Assert.Equal(1, server.Responses);
        Assert.Equal(1, server.Timeouts);
        var other = Assert.Single(snapshot, s => s.Address.Equals(Other));
        Assert.Null(other.SmoothedRtt);
        Assert.Equal(Capability.Works, other.CasePreservation);
    }

    [Fact]
    public void ServerCount_IsBounded()
    {
        var clock = new VirtualClock();
        var cache = new InfrastructureCache(new InfrastructureCacheOptions { MaxServers = 100 }, clock);
        for (int i = 0; i < 1000; i++)
        {
            cache.RecordRtt(new IPAddress(0x0A000000u + (uint)i), Ms(10));
            clock.Advance(TimeSpan.FromMilliseconds(1));
            Assert.True(cache.Count <= 100);
        }
        // The most recent survive.
        Assert.Equal(Ms(50), cache.GetRto(new IPAddress(0x0A000000u + 999)));
        Assert.NotNull(cache.GetSmoothedRtt(new IPAddress(0x0A000000u + 999)));
    }

    [Fact]
    public void ConcurrentUpdates_AreSafe()
    {
        var cache = new InfrastructureCache(new InfrastructureCacheOptions(), new VirtualClock());
        Parallel.For(0, 4, t =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                var address = i % 2 == 0 ? Server : Other;
                if (i % 3 == 0) cache.RecordTimeout(address);
                else cache.RecordRtt(address, Ms(10 + i % 50));
                _ = cache.GetRto(address);
                _ = cache.IsHeldDown(address);
            }
        });
        var snapshot = cache.Snapshot();
        Assert.Equal(2, snapshot.Count);
        long total = 0;
        foreach (var s in snapshot) total += s.Responses + s.Timeouts;
        Assert.Equal(40_000, total);
    }
}

using System.Net;
using Ananas.Dns;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests.Infrastructure;

/// <summary>
/// Tables a remote party can add to, pushed past their bounds: they keep a bounded number of entries, and expired
/// entries go.
/// </summary>
public sealed class BoundedTablesTests
{
    /// <summary>A hostile zone makes the resolver mark a (server, zone) pair lame per query, each with a new zone name.</summary>
    [Fact]
    public void The_lame_server_list_holds_a_bounded_number_of_marks_however_many_zones_are_marked()
    {
        var clock = new VirtualClock();
        var lame = new LameServerList(clock, TimeSpan.FromMinutes(15));
        var server = IPAddress.Parse("192.0.2.53");
        const int Marked = 50_000;
        for (int i = 0; i < Marked; i++) lame.MarkLame(server, DnsName.Parse($"z{i}.hostile.example."), Lameness.Lame);

        int held = 0;
        for (int i = 0; i < Marked; i++)
            if (lame.IsLame(server, DnsName.Parse($"z{i}.hostile.example."))) held++;

        // 1 MiB of marks of about 150 bytes: some thousands, not the 50,000 that were made.
        Assert.InRange(held, 1, 20_000);
        Assert.True(lame.IsLame(server, DnsName.Parse($"z{Marked - 1}.hostile.example.")), "the latest mark was evicted");
    }

    [Fact]
    public void Lame_marks_expire_and_are_swept_as_new_ones_come()
    {
        var clock = new VirtualClock();
        // Room for far more than the test makes: only the sweep removes anything here.
        var lame = new LameServerList(clock, TimeSpan.FromMinutes(15), capacityBytes: 64L << 20);
        var server = IPAddress.Parse("192.0.2.53");
        for (int i = 0; i < 1000; i++) lame.MarkLame(server, DnsName.Parse($"old{i}.example."), Lameness.Refused);
        Assert.True(lame.IsLame(server, DnsName.Parse("old7.example.")));

        clock.Advance(TimeSpan.FromMinutes(16));
        Assert.False(lame.IsLame(server, DnsName.Parse("old7.example.")));
        for (int i = 0; i < LameServerList.SweepEvery; i++) lame.MarkLame(server, DnsName.Parse($"new{i}.example."), Lameness.Refused);

        // The expired marks were swept while the new ones came; the new ones are all there.
        Assert.Equal(LameServerList.SweepEvery, lame.Count);
    }
}

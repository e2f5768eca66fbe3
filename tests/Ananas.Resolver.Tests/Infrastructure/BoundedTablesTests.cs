using System.Net;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Tests.Fakes;
using static Ananas.Resolver.Tests.Fakes.TestWorld;

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

    /// <summary>Holds every exchange until the test opens it (an upstream that answers slowly or never).</summary>
    private sealed class GatedExchanger(IExchanger inner) : IExchanger
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Closed { get; set; }

        public void Open() => _gate.TrySetResult();

        public async ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken)
        {
            if (Closed) await _gate.Task.WaitAsync(cancellationToken);
            return await inner.ExchangeAsync(request, cancellationToken);
        }
    }

    /// <summary>A world whose example.com holds <paramref name="names"/> hosts h0 … h(n-1), each with a 300 s A record.</summary>
    private static TestWorld WorldWithHosts(int names)
    {
        var world = new TestWorld();
        for (int i = 0; i < names; i++) world.ExampleCom.Records.Add(RecordText.Parse($"h{i} 300 A 192.0.2.{i % 250 + 1}", world.ExampleCom.Origin, 300));
        return world;
    }

    private static Recursor Build(TestWorld world, RecursorOptions options)
    {
        world.Clock.Timer = VirtualClock.NeverFires;
        return new(options, world.Clock, new RecordCache(world.Clock, RecordCacheOptions.For(options)), new KeepOrderSelector(), new LameServerList(world.Clock, options.LameHoldDown));
    }

    /// <summary>
    /// Each distinct name a client asks for in its prefetch window starts a refresh; with the upstream stalled they
    /// all stay in flight, so only the bound stops a flood of names from starting one each.
    /// </summary>
    [Fact]
    public async Task Background_refreshes_in_flight_stop_at_their_bound_however_many_names_are_asked()
    {
        const int Names = 40, Bound = 8;
        var world = WorldWithHosts(Names);
        var recursor = Build(world, world.Options() with { Prefetch = true, MaxBackgroundRefreshes = Bound });
        for (int i = 0; i < Names; i++) await world.Resolve(recursor, $"h{i}.example.com.");

        world.Clock.Advance(TimeSpan.FromSeconds(275));
        var stalled = new GatedExchanger(world.Authority) { Closed = true };
        for (int i = 0; i < Names; i++)
        {
            var answer = await recursor.ResolveAsync(new Request(Query($"h{i}.example.com.", RRType.A)), stalled);
            Assert.Equal(25u, answer.Message.Answers[0].Ttl); // the cached answer, whether a refresh started or not
        }

        Assert.Equal(Bound, recursor.Refreshes);
        Assert.Equal(Bound, recursor.BackgroundInFlight);
        Assert.Equal(Names - Bound, recursor.RefreshesSkipped);

        // The slots come back when the refreshes end: the next name in its window refreshes again.
        stalled.Open();
        await recursor.WhenBackgroundIdleAsync();
        Assert.Equal(0, recursor.BackgroundInFlight);
        await recursor.ResolveAsync(new Request(Query($"h{Names - 1}.example.com.", RRType.A)), world.Authority);
        await recursor.WhenBackgroundIdleAsync();
        Assert.Equal(Bound + 1, recursor.Refreshes);
    }

    /// <summary>A hostile zone whose servers stop answering makes every prefetch fail, one held-off entry per name.</summary>
    [Fact]
    public async Task Questions_held_off_after_failed_prefetches_stay_within_their_byte_bound()
    {
        const int Names = 200;
        var world = WorldWithHosts(Names);
        // 4 KiB: a few dozen held-off questions, far fewer than the names whose prefetch fails.
        var recursor = Build(world, world.Options() with { Prefetch = true, PrefetchHoldOffCapacityBytes = 4096 });
        for (int i = 0; i < Names; i++) await world.Resolve(recursor, $"h{i}.example.com.");

        world.Clock.Advance(TimeSpan.FromSeconds(275));
        world.Authority.Server(Ns1).Silent = true;
        world.Authority.Server(Ns2).Silent = true;
        for (int i = 0; i < Names; i++)
        {
            await world.Resolve(recursor, $"h{i}.example.com.");
            await recursor.WhenBackgroundIdleAsync();
        }

        Assert.Equal(Names, recursor.Refreshes);
        Assert.InRange(recursor.PrefetchHoldOffs, 1, Names / 4);
        // The latest failure is held: asking again starts no refresh.
        await world.Resolve(recursor, $"h{Names - 1}.example.com.");
        await recursor.WhenBackgroundIdleAsync();
        Assert.Equal(Names, recursor.Refreshes);
    }
}

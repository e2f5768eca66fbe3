using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Tests.Fakes;
using static Ananas.Resolver.Tests.Fakes.TestWorld;

namespace Ananas.Resolver.Tests;

public sealed class ServeStaleAndPrefetchTests
{
    /// <summary>Holds every exchange until <see cref="Open"/> (a slow upstream on a virtual clock).</summary>
    private sealed class GatedExchanger(IExchanger inner) : IExchanger
    {
        private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Closed { get; set; }

        public void Open() => _gate.TrySetResult();

        public async ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken)
        {
            if (Closed) await _gate.Task.WaitAsync(cancellationToken);
            return await inner.ExchangeAsync(request, cancellationToken);
        }
    }

    private static (Recursor Recursor, RecordCache Cache) Build(TestWorld world, RecursorOptions options, Func<TimeSpan, CancellationToken, Task>? timer = null)
    {
        var cache = new RecordCache(world.Clock, RecordCacheOptions.For(options));
        world.Clock.Timer = timer ?? VirtualClock.NeverFires;
        var recursor = new Recursor(options, world.Clock, cache, new KeepOrderSelector(), new LameServerList(world.Clock, options.LameHoldDown));
        return (recursor, cache);
    }

    private static RecursorOptions StaleOptions(TestWorld world, TimeSpan clientTimeout) => world.Options() with
    {
        ServeStale = new ServeStaleOptions { Enabled = true, MaxStale = TimeSpan.FromHours(1), AnswerTtl = 30, ClientTimeout = clientTimeout },
    };

    private static EdeCode? Ede(Response r) => r.Message.Edns?.Options.OfType<ExtendedErrorOption>().Select(o => (EdeCode?)o.InfoCode).FirstOrDefault();

    [Fact]
    public async Task When_every_server_fails_expired_data_is_served_with_the_stale_TTL_and_EDE_3()
    {
        var world = new TestWorld();
        var (recursor, _) = Build(world, StaleOptions(world, TimeSpan.FromSeconds(1.8)));
        var first = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal(300u, first.Message.Answers[0].Ttl);

        world.Clock.Advance(TimeSpan.FromSeconds(400));
        world.Authority.Server(Ns1).Silent = true;
        world.Authority.Server(Ns2).Silent = true;
        var stale = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal(Rcode.NoError, stale.Message.Rcode);
        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(stale.Message.Answers));
        Assert.Equal(30u, stale.Message.Answers[0].Ttl);
        Assert.Equal(EdeCode.StaleAnswer, Ede(stale));
        Assert.Equal(1, recursor.StaleAnswers);

        // Past the stale window there is nothing to serve: SERVFAIL.
        world.Clock.Advance(TimeSpan.FromHours(2));
        Assert.Equal(Rcode.ServFail, (await world.Resolve(recursor, "www.example.com.")).Message.Rcode);
    }

    [Fact]
    public async Task A_stale_NXDOMAIN_carries_EDE_19()
    {
        var world = new TestWorld();
        var (recursor, _) = Build(world, StaleOptions(world, TimeSpan.FromSeconds(1.8)));
        Assert.Equal(Rcode.NXDomain, (await world.Resolve(recursor, "nope.example.com.")).Message.Rcode);
        world.Clock.Advance(TimeSpan.FromSeconds(301));
        world.Authority.Server(Ns1).Silent = true;
        world.Authority.Server(Ns2).Silent = true;
        var stale = await world.Resolve(recursor, "nope.example.com.");
        Assert.Equal(Rcode.NXDomain, stale.Message.Rcode);
        Assert.Equal(EdeCode.StaleNxdomainAnswer, Ede(stale));
        Assert.Equal(30u, stale.Message.Authority[0].Ttl);
    }

    [Fact]
    public async Task Past_the_client_timer_stale_data_is_served_and_resolution_refreshes_the_cache_behind_it()
    {
        var world = new TestWorld();
        var timerFired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (recursor, cache) = Build(world, StaleOptions(world, TimeSpan.FromSeconds(1.8)), (_, _) => timerFired.Task);
        var gated = new GatedExchanger(world.Authority);
        await recursor.ResolveAsync(new Request(Query("www.example.com.", RRType.A)), gated);

        world.Clock.Advance(TimeSpan.FromSeconds(400));
        gated.Closed = true;
        var pending = recursor.ResolveAsync(new Request(Query("www.example.com.", RRType.A)), gated);
        Assert.False(pending.IsCompleted);
        timerFired.SetResult();
        var stale = await pending;
        Assert.Equal(EdeCode.StaleAnswer, Ede(stale));
        Assert.Equal(30u, stale.Message.Answers[0].Ttl);

        gated.Open();
        await recursor.WhenBackgroundIdleAsync();
        var refreshed = cache.Get(DnsName.Parse("www.example.com."), RRType.A, RRClass.IN)!;
        Assert.Equal(300u, refreshed.RemainingTtl);
    }

    [Fact]
    public async Task With_a_zero_client_timeout_stale_data_is_answered_at_once_and_refreshed_once()
    {
        var world = new TestWorld();
        var (recursor, _) = Build(world, StaleOptions(world, TimeSpan.Zero));
        await world.Resolve(recursor, "www.example.com.");
        world.Clock.Advance(TimeSpan.FromSeconds(400));
        int before = world.Authority.CountTo(Ns1);
        var stale = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal(EdeCode.StaleAnswer, Ede(stale));
        await recursor.WhenBackgroundIdleAsync();
        Assert.Equal(before + 1, world.Authority.CountTo(Ns1));
        var fresh = await world.Resolve(recursor, "www.example.com.");
        Assert.Null(Ede(fresh));
        Assert.Equal(300u, fresh.Message.Answers[0].Ttl);
    }

    [Fact]
    public async Task Prefetch_refreshes_once_in_the_last_tenth_of_the_TTL_and_the_client_gets_the_cached_answer()
    {
        var world = new TestWorld();
        var options = world.Options() with { Prefetch = true };
        var (recursor, cache) = Build(world, options);
        await world.Resolve(recursor, "www.example.com.");
        int upstream = world.Authority.Queries.Count;

        // 100 s left of 300: no prefetch.
        world.Clock.Advance(TimeSpan.FromSeconds(200));
        Assert.Equal(100u, (await world.Resolve(recursor, "www.example.com.")).Message.Answers[0].Ttl);
        await recursor.WhenBackgroundIdleAsync();
        Assert.Equal(upstream, world.Authority.Queries.Count);

        // 25 s left (under 30): the client gets the cached answer, one refresh is made behind it.
        world.Clock.Advance(TimeSpan.FromSeconds(75));
        var gated = new GatedExchanger(world.Authority) { Closed = true };
        var answer = await recursor.ResolveAsync(new Request(Query("www.example.com.", RRType.A)), gated);
        Assert.Equal(25u, answer.Message.Answers[0].Ttl);
        Assert.Equal(0, answer.UpstreamQueries);
        // A second client in the same window does not start another refresh.
        await recursor.ResolveAsync(new Request(Query("www.example.com.", RRType.A)), gated);
        Assert.Equal(1, recursor.Refreshes);
        gated.Open();
        await recursor.WhenBackgroundIdleAsync();
        Assert.Equal(upstream + 1, world.Authority.Queries.Count);
        Assert.Equal(300u, cache.Get(DnsName.Parse("www.example.com."), RRType.A, RRClass.IN)!.RemainingTtl);
        Assert.Equal(300u, (await world.Resolve(recursor, "www.example.com.")).Message.Answers[0].Ttl);
    }

    [Fact]
    public async Task A_failed_prefetch_is_not_retried_for_five_seconds()
    {
        // Unbound iter_prefetch_fail: after a failed prefetch the cached answer is served without new refreshes until
        // NORR_TTL (5 s) has passed.
        var world = new TestWorld();
        var (recursor, _) = Build(world, world.Options() with { Prefetch = true });
        await world.Resolve(recursor, "www.example.com.");
        int upstream = world.Authority.Queries.Count;

        world.Clock.Advance(TimeSpan.FromSeconds(275));
        world.Authority.Server(Ns1).Silent = true;
        world.Authority.Server(Ns2).Silent = true;
        Assert.Equal(25u, (await world.Resolve(recursor, "www.example.com.")).Message.Answers[0].Ttl);
        await recursor.WhenBackgroundIdleAsync();
        Assert.Equal(1, recursor.Refreshes);
        int afterFailure = world.Authority.Queries.Count;
        Assert.True(afterFailure > upstream);

        Assert.Equal(25u, (await world.Resolve(recursor, "www.example.com.")).Message.Answers[0].Ttl);
        await recursor.WhenBackgroundIdleAsync();
        Assert.Equal(1, recursor.Refreshes);
        Assert.Equal(afterFailure, world.Authority.Queries.Count);

        world.Clock.Advance(TimeSpan.FromSeconds(6));
        world.Authority.Server(Ns1).Silent = false;
        Assert.Equal(19u, (await world.Resolve(recursor, "www.example.com.")).Message.Answers[0].Ttl);
        await recursor.WhenBackgroundIdleAsync();
        Assert.Equal(2, recursor.Refreshes);
        Assert.Equal(300u, (await world.Resolve(recursor, "www.example.com.")).Message.Answers[0].Ttl);
    }
}

using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Iteration;
using Ananas.Resolver.Tests.Fakes;
using static Ananas.Resolver.Tests.Fakes.TestWorld;

namespace Ananas.Resolver.Tests;

/// <summary>Caching of resolution failures (RFC 9520 §3) and how it meets serve-stale (RFC 8767).</summary>
public sealed class FailureCachingTests
{
    private static Recursor Build(TestWorld world, RecursorOptions options)
    {
        world.Clock.Timer = VirtualClock.NeverFires;
        return new(options, world.Clock, new RecordCache(world.Clock, RecordCacheOptions.For(options)), new KeepOrderSelector(), new LameServerList(world.Clock, options.LameHoldDown));
    }

    private static List<EdeCode> Edes(Response r) =>
        r.Message.Edns?.Options.OfType<ExtendedErrorOption>().Select(o => o.InfoCode).ToList() ?? [];

    private static void Silence(TestWorld world)
    {
        world.Authority.Server(Ns1).Silent = true;
        world.Authority.Server(Ns2).Silent = true;
    }

    private static void ServFail(TestWorld world, string address) =>
        world.Authority.Server(address).Respond = request => request.Query.CreateResponse(Rcode.ServFail);

    [Fact]
    public async Task A_failed_question_is_answered_from_the_failure_cache_with_its_EDE_and_EDE_13_without_asking_upstream()
    {
        var world = new TestWorld();
        var recursor = Build(world, world.Options());
        Silence(world);
        var first = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal(Rcode.ServFail, first.Message.Rcode);
        Assert.Equal([EdeCode.NoReachableAuthority], Edes(first));
        int queries = world.Authority.Queries.Count;

        var second = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal(Rcode.ServFail, second.Message.Rcode);
        Assert.Equal([EdeCode.NoReachableAuthority, EdeCode.CachedError], Edes(second));
        Assert.Equal(0, second.UpstreamQueries);
        Assert.Equal(queries, world.Authority.Queries.Count);
        Assert.Equal(1, recursor.CachedFailureAnswers);

        // Other questions are not affected: another type of the same name is resolved (and fails on its own).
        var other = await world.Resolve(recursor, "www.example.com.", RRType.AAAA);
        Assert.True(other.UpstreamQueries > 0);
    }

    [Fact]
    public async Task An_RD0_query_is_answered_the_cached_failure_without_asking_upstream()
    {
        // Unbound val_nodata_failsig: asked again without RD, the resolver answers what it holds, the failure.
        var world = new TestWorld();
        var recursor = Build(world, world.Options());
        Silence(world);
        var nonRecursive = Query("www.example.com.", RRType.A);
        nonRecursive.Set(HeaderFlags.RD, false);

        // Before any failure: nothing held, REFUSED, and nothing asked upstream.
        Assert.Equal(Rcode.Refused, (await recursor.ResolveAsync(new Request(nonRecursive), world.Authority)).Message.Rcode);
        Assert.Empty(world.Authority.Queries);
        Assert.Equal(Rcode.ServFail, (await world.Resolve(recursor, "www.example.com.")).Message.Rcode);
        int queries = world.Authority.Queries.Count;

        var cached = await recursor.ResolveAsync(new Request(nonRecursive), world.Authority);
        Assert.Equal(Rcode.ServFail, cached.Message.Rcode);
        Assert.Equal([EdeCode.NoReachableAuthority, EdeCode.CachedError], Edes(cached));
        Assert.Equal(queries, world.Authority.Queries.Count);
    }

    [Fact]
    public async Task The_failure_expires_after_the_configured_time_and_the_question_is_resolved_again()
    {
        var world = new TestWorld();
        var recursor = Build(world, world.Options() with { FailureCacheTtl = TimeSpan.FromSeconds(5) });
        ServFail(world, Ns1);
        ServFail(world, Ns2);
        Assert.Equal(Rcode.ServFail, (await world.Resolve(recursor, "www.example.com.")).Message.Rcode);

        world.Authority.Server(Ns1).Respond = null;
        world.Authority.Server(Ns2).Respond = null;
        world.Clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Contains(EdeCode.CachedError, Edes(await world.Resolve(recursor, "www.example.com.")));

        world.Clock.Advance(TimeSpan.FromSeconds(1));
        var fresh = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal(Rcode.NoError, fresh.Message.Rcode);
        Assert.Equal(["www.example.com A 192.0.2.80"], Answers.Lines(fresh.Message.Answers));
    }

    [Fact]
    public async Task Without_EDNS_the_cached_failure_is_a_bare_SERVFAIL()
    {
        var world = new TestWorld();
        var recursor = Build(world, world.Options());
        Silence(world);
        await world.Resolve(recursor, "www.example.com.");
        var response = await recursor.ResolveAsync(new Request(Query("www.example.com.", RRType.A, edns: false)), world.Authority);
        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.Null(response.Message.Edns);
        Assert.Equal(0, response.UpstreamQueries);
    }

    [Fact]
    public async Task Failures_are_kept_apart_by_the_CD_bit()
    {
        var world = new TestWorld();
        var recursor = Build(world, world.Options());
        Silence(world);
        await world.Resolve(recursor, "www.example.com.");

        var cd = Query("www.example.com.", RRType.A);
        cd.Set(HeaderFlags.CD);
        Assert.True((await recursor.ResolveAsync(new Request(cd), world.Authority)).UpstreamQueries > 0);
    }

    [Fact]
    public async Task A_client_that_gave_up_leaves_no_failure_behind()
    {
        var world = new TestWorld();
        var recursor = Build(world, world.Options());
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var response = await recursor.ResolveAsync(new Request(Query("www.example.com.", RRType.A)), world.Authority, cancelled.Token);
        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        Assert.Equal(0, recursor.Failures.Count);

        var answered = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal(Rcode.NoError, answered.Message.Rcode);
    }

    [Fact]
    public async Task Zero_turns_failure_caching_off()
    {
        var world = new TestWorld();
        var recursor = Build(world, world.Options() with { FailureCacheTtl = TimeSpan.Zero });
        Silence(world);
        await world.Resolve(recursor, "www.example.com.");
        Assert.True((await world.Resolve(recursor, "www.example.com.")).UpstreamQueries > 0);
    }

    [Fact]
    public void Lifetimes_are_held_within_RFC_9520_bounds()
    {
        Assert.Equal(TimeSpan.FromSeconds(1), FailureCache.Bound(TimeSpan.FromMilliseconds(10)));
        Assert.Equal(TimeSpan.FromMinutes(5), FailureCache.Bound(TimeSpan.FromHours(1)));
        Assert.Equal(TimeSpan.FromSeconds(5), FailureCache.Bound(TimeSpan.FromSeconds(5)));
        Assert.Equal(TimeSpan.Zero, FailureCache.Bound(TimeSpan.Zero));

        var clock = new VirtualClock();
        var cache = new FailureCache(clock);
        var name = DnsName.Parse("www.example.com.");
        cache.Store(name, RRType.A, false, new ResolutionFailure(EdeCode.Other, "x"), TimeSpan.FromHours(1));
        clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        Assert.NotNull(cache.Get(name, RRType.A, false));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(cache.Get(name, RRType.A, false));
    }

    [Fact]
    public async Task With_serve_stale_on_stale_data_wins_over_the_cached_failure()
    {
        var world = new TestWorld();
        var options = world.Options() with
        {
            ServeStale = new ServeStaleOptions { Enabled = true, MaxStale = TimeSpan.FromHours(1), ClientTimeout = TimeSpan.FromSeconds(1.8), FailureRecheck = TimeSpan.FromSeconds(5) },
        };
        var recursor = Build(world, options);
        await world.Resolve(recursor, "www.example.com.");
        world.Clock.Advance(TimeSpan.FromSeconds(400));
        Silence(world);

        var stale = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal([EdeCode.StaleAnswer], Edes(stale));
        int queries = world.Authority.Queries.Count;

        // The failure is remembered: the next query gets the stale data again, and upstream is left alone.
        var again = await world.Resolve(recursor, "www.example.com.");
        Assert.Equal([EdeCode.StaleAnswer], Edes(again));
        await recursor.WhenBackgroundIdleAsync();
        Assert.Equal(queries, world.Authority.Queries.Count);

        // A question with no stale data gets the cached SERVFAIL.
        await world.Resolve(recursor, "nothing.example.com.");
        Assert.Contains(EdeCode.CachedError, Edes(await world.Resolve(recursor, "nothing.example.com.")));
    }

    [Fact]
    public async Task A_purge_forgets_the_failure()
    {
        var world = new TestWorld();
        var recursor = Build(world, world.Options());
        Silence(world);
        await world.Resolve(recursor, "www.example.com.");
        var purged = new CachePurger(recursor.Cache, null, recursor.Failures).PurgeSubtree(DnsName.Parse("example.com."));
        Assert.Equal(1, purged.Failures);
        Assert.True((await world.Resolve(recursor, "www.example.com.")).UpstreamQueries > 0);
    }
}

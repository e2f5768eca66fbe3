using Ananas.Pipeline.Api;
using Ananas.Pipeline.Database;

namespace Ananas.Pipeline.Tests;

public sealed class TokenCacheTests
{
    private sealed class ManualClock : TimeProvider
    {
        public long Ticks { get; set; }

        public override long GetTimestamp() => Ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }

    [Fact]
    public async Task A_confirmed_token_is_trusted_for_the_lifetime_and_a_deleted_one_stops_working_after_it()
    {
        var clock = new ManualClock();
        var cache = new TokenCache(TimeSpan.FromSeconds(10), clock);
        var stored = new TokenRow("t1", null, 0);
        int lookups = 0;
        TokenRow? inDatabase = stored;
        Task<TokenRow?> Lookup(string secret, CancellationToken _)
        {
            lookups++;
            return Task.FromResult(secret == "good" ? inDatabase : null);
        }

        Assert.Same(stored, await cache.FindAsync("good", Lookup, default));
        inDatabase = null; // deleted from the database
        clock.Ticks += TimeSpan.FromSeconds(9).Ticks;
        Assert.Same(stored, await cache.FindAsync("good", Lookup, default));
        Assert.Equal(1, lookups);
        clock.Ticks += TimeSpan.FromSeconds(2).Ticks;
        Assert.Null(await cache.FindAsync("good", Lookup, default));
        Assert.Null(await cache.FindAsync("good", Lookup, default));
        Assert.Equal(3, lookups);
    }

    [Fact]
    public async Task Unknown_secrets_are_never_kept_and_a_zero_lifetime_asks_every_time()
    {
        var cache = new TokenCache(TimeSpan.FromSeconds(10));
        int lookups = 0;
        Task<TokenRow?> Unknown(string secret, CancellationToken _)
        {
            lookups++;
            return Task.FromResult<TokenRow?>(null);
        }
        for (int i = 0; i < 100; i++) Assert.Null(await cache.FindAsync($"guess{i}", Unknown, default));
        Assert.Equal(0, cache.Count);
        Assert.Equal(100, lookups);

        var uncached = new TokenCache(TimeSpan.Zero);
        var row = new TokenRow("t", null, 0);
        lookups = 0;
        Task<TokenRow?> Known(string secret, CancellationToken _)
        {
            lookups++;
            return Task.FromResult<TokenRow?>(row);
        }
        await uncached.FindAsync("good", Known, default);
        await uncached.FindAsync("good", Known, default);
        Assert.Equal(2, lookups);
    }
}

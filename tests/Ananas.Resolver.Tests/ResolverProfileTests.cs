using Ananas.Resolver.Cache;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests;

public sealed class ResolverProfileTests
{
    [Fact]
    public void The_recursor_s_record_cache_is_sized_from_the_same_options()
    {
        var options = ResolverProfile.Defaults with
        {
            MaxCacheTtl = TimeSpan.FromHours(2),
            ServeStale = new ServeStaleOptions { Enabled = true, MaxStale = TimeSpan.FromHours(6) },
        };
        var recursor = ResolverProfile.CreateRecursor(options, new VirtualClock(), new KeepOrderSelector());
        Assert.Same(options, recursor.Options);
        var cache = Assert.IsType<RecordCache>(recursor.Cache);
        Assert.Equal(RecordCacheOptions.For(options), cache.Options);
        Assert.Equal(TimeSpan.FromHours(6), cache.Options.StaleRetention);
    }
}

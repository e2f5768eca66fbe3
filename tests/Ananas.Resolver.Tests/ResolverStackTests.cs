using Ananas.Resolver.Cache;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests;

public sealed class ResolverStackTests
{
    [Fact]
    public void The_recursor_s_record_cache_is_sized_from_the_same_options()
    {
        var options = new RecursorOptions
        {
            MaxCacheTtl = TimeSpan.FromHours(2),
            ServeStale = new ServeStaleOptions { Enabled = true, MaxStale = TimeSpan.FromHours(6) },
        };
        var stack = ResolverStack.Create(options, new VirtualClock(), new KeepOrderSelector());
        Assert.Same(options, stack.Recursor.Options);
        Assert.Same(stack.Records, stack.Recursor.Cache);
        Assert.Equal(RecordCacheOptions.For(options), stack.Records.Options);
        Assert.Equal(TimeSpan.FromHours(6), stack.Records.Options.StaleRetention);
    }

    [Fact]
    public void A_reconfigured_stack_has_a_new_recursor_over_the_same_caches()
    {
        var stack = ResolverStack.Create(new RecursorOptions(), new VirtualClock(), new KeepOrderSelector());
        var next = stack.Reconfigure(new RecursorOptions { QnameMinimisation = false });
        Assert.NotSame(stack.Recursor, next.Recursor);
        Assert.False(next.Recursor.Options.QnameMinimisation);
        Assert.Same(stack.Records, next.Recursor.Cache);
        Assert.Same(stack.Lame, next.Lame);
    }
}

namespace Ananas.Sandbox.Tests;

/// <summary>Tracing spans (span_start/span_end): kept with the query's call context, bounded per query, names bounded.</summary>
public sealed class TracingTests
{
    [Fact]
    public async Task A_query_keeps_at_most_its_bound_of_spans_and_refuses_the_rest_and_overlong_names()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("spans"));

        var ctx = Queries.Context("spans.test");
        Assert.Equal(PluginVerdict.Continue, await host.InvokeAsync(PluginPhase.Request, ctx));

        Assert.Equal(PluginCallContext.MaxSpans, ctx.Spans.Length);
        foreach (var span in ctx.Spans)
        {
            Assert.Equal(("spans", "step"), (span.Plugin, span.Name));
            Assert.InRange(span.End, span.Start, long.MaxValue);
        }
        var counters = Assert.Single(host.Snapshot()).Counters.ToDictionary();
        Assert.Equal(PluginCallContext.MaxSpans, counters["opened"]);
        Assert.Equal(20 - PluginCallContext.MaxSpans, counters["refused"]);
        Assert.Equal(1, counters["invalid"]);
        // The start function has no query to trace.
        Assert.Equal(1, counters["outside"]);
    }

    [Fact]
    public async Task A_reused_call_context_starts_the_next_query_without_the_previous_spans()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("spans"));
        var ctx = Queries.Context("spans.test");
        await host.InvokeAsync(PluginPhase.Request, ctx);

        ctx.Reset();
        Assert.True(ctx.TrySetQuery(Queries.Context("other.test").QueryWire));
        await host.InvokeAsync(PluginPhase.Request, ctx);

        // The guest's Span guard opened "other" and ended it when dropped.
        var span = Assert.Single(ctx.Spans.ToArray());
        Assert.Equal("other", span.Name);
        Assert.NotEqual(0, span.End);
    }
}

using System.Diagnostics;

namespace Ananas.Sandbox.Tests;

/// <summary>Callbacks awaiting host timers release the thread; concurrent ones wait together.</summary>
public class AsyncTests
{
    [Fact]
    public async Task Concurrent_callbacks_awaiting_200ms_timers_finish_together_without_holding_threads()
    {
        const int calls = 32;
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("timer", args: "200") with { MaxInstances = calls });
        // Warm up outside the measurement: JIT the paths and create all the instances (creating 32 on a loaded
        // CI machine takes a while, and that is not what this test is about).
        await Task.WhenAll(Enumerable.Range(0, calls).Select(i => host.InvokeAsync(PluginPhase.Request, Queries.Context($"w{i}.timer.test")).AsTask()));
        Assert.Equal(calls, host.Snapshot()[0].Instances);

        var contexts = Enumerable.Range(0, calls).Select(i => Queries.Context($"q{i}.timer.test")).ToArray();
        var pending = new ValueTask<PluginVerdict>[calls];
        var clock = Stopwatch.StartNew();
        // Every call is started from this one thread: each returns as soon as its guest is PENDING. A callback
        // that held its thread until the timer fired could not return here before 200 ms.
        for (int i = 0; i < calls; i++) pending[i] = host.InvokeAsync(PluginPhase.Request, contexts[i]);
        int notYetComplete = pending.Count(p => !p.IsCompleted);
        var startedAfter = clock.Elapsed;

        foreach (var p in pending) Assert.Equal(PluginVerdict.Answer, await p);
        var total = clock.Elapsed;

        Assert.Equal(calls, notYetComplete);
        Assert.True(startedAfter < TimeSpan.FromMilliseconds(calls * 200 / 2), $"starting {calls} calls took {startedAfter.TotalMilliseconds:F0} ms");
        // Serially they would take calls × 200 ms = 6.4 s; together about 200 ms (wide margin for a loaded CI machine).
        Assert.True(total < TimeSpan.FromMilliseconds(calls * 200 / 4), $"{calls} concurrent 200 ms waits took {total.TotalMilliseconds:F0} ms");
        foreach (var ctx in contexts)
        {
            string txt = Assert.Single(Queries.TxtStrings(ctx));
            int slept = int.Parse(txt.Split("slept=")[1].TrimEnd('"'));
            Assert.InRange(slept, 195, 5000);
            Assert.StartsWith(ctx.QueryName.ToString(), txt);
        }
        Assert.Equal(0, host.Snapshot()[0].Faults);
    }

    /// <param name="end">What ends the wait: "token" (cancelled after 100 ms), "deadline" (the context's, 300 ms away) or "past" (a deadline already passed).</param>
    [Theory]
    [InlineData("token", 0)]
    [InlineData("deadline", 250)]
    [InlineData("past", 0)]
    public async Task A_cancelled_call_or_its_deadline_abandons_the_pending_callback_and_its_timer(string end, int atLeastMs)
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("timer", args: "8000"));
        using var cts = new CancellationTokenSource();
        var ctx = Queries.Context("slow.timer.test");
        var clock = Stopwatch.StartNew();
        if (end == "token") cts.CancelAfter(TimeSpan.FromMilliseconds(100));
        else ctx.Deadline = end == "deadline" ? Stopwatch.GetTimestamp() + Stopwatch.Frequency * 3 / 10 : Stopwatch.GetTimestamp() - 1;

        var verdict = await host.InvokeAsync(PluginPhase.Request, ctx, cts.Token);

        Assert.Equal(PluginVerdict.Continue, verdict);
        Assert.Null(ctx.Response);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(atLeastMs), $"abandoned after {clock.Elapsed.TotalMilliseconds:F0} ms, too early");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"the guest held the call {clock.Elapsed.TotalMilliseconds:F0} ms of its 8 s timer");
        var status = host.Snapshot()[0];
        Assert.Equal(0, status.Faults);
        // The abandoned instance (its guest task still waiting) was discarded, not returned to the pool.
        Assert.Equal(0, status.Instances);
    }
}

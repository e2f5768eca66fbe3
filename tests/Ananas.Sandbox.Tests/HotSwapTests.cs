using Microsoft.Extensions.Logging;

namespace Ananas.Sandbox.Tests;

/// <summary>Loading a plugin that is already loaded swaps versions under load without losing or repeating calls.</summary>
public class HotSwapTests
{
    [Fact]
    public async Task Ten_swaps_under_concurrent_calls_lose_nothing_and_switch_versions()
    {
        var log = new ListLogger();
        using var host = new PluginHost(log);
        await host.LoadAsync(Guests.Definition("versioned", name: "v", args: "v1"));

        const int workers = 6;
        using var stop = new CancellationTokenSource();
        var seen = new List<int>[workers];
        var failures = new int[workers];
        var tasks = new Task[workers];
        for (int w = 0; w < workers; w++)
        {
            int worker = w;
            seen[w] = [];
            tasks[w] = Task.Run(async () =>
            {
                // Bounded: stops when the swaps are done, or after 100k calls at most.
                for (int i = 0; i < 100_000 && !stop.IsCancellationRequested; i++)
                {
                    var ctx = Queries.Context("version.test");
                    var verdict = await host.InvokeAsync(PluginPhase.Request, ctx);
                    var txt = Queries.TxtStrings(ctx);
                    if (verdict != PluginVerdict.Answer || txt.Count != 1) { failures[worker]++; continue; }
                    seen[worker].Add(int.Parse(txt[0].Split("\"v")[1].TrimEnd('"')));
                }
            });
        }

        for (int version = 2; version <= 11; version++)
        {
            await Task.Delay(30);
            var status = await host.LoadAsync(Guests.Definition("versioned", name: "v", args: $"v{version}"));
            Assert.Equal(version, status.Version);
        }
        await Task.Delay(30);
        stop.Cancel();
        await Task.WhenAll(tasks);

        Assert.All(failures, f => Assert.Equal(0, f));
        foreach (var versions in seen)
        {
            Assert.NotEmpty(versions);
            // Each worker's calls are sequential, so once a call saw a version no later call sees an older one.
            for (int i = 1; i < versions.Count; i++) Assert.True(versions[i] >= versions[i - 1], $"version {versions[i]} after {versions[i - 1]}");
        }
        Assert.True(seen.SelectMany(v => v).Distinct().Count() >= 3, "calls should have run on several versions");

        var after = Queries.Context("version.test");
        await host.InvokeAsync(PluginPhase.Request, after);
        Assert.Contains("\"v11\"", Assert.Single(Queries.TxtStrings(after)));
        var current = Assert.Single(host.Snapshot());
        Assert.Equal(11, current.Version);
        Assert.Equal(0, current.Faults);
        // Every replaced version was freed once its last call ended.
        Assert.Equal(10, log.Messages(LogLevel.Information).Count(m => m.Contains("freed after its last call")));
    }

    [Fact]
    public async Task A_call_pending_during_a_swap_finishes_on_the_old_version()
    {
        var log = new ListLogger();
        using var host = new PluginHost(log);
        await host.LoadAsync(Guests.Definition("timer", name: "t", args: "5000"));
        var old = Queries.Context("old.timer.test");
        var pending = host.InvokeAsync(PluginPhase.Request, old);
        Assert.False(pending.IsCompleted);

        // Compiling the new version takes a while on a loaded machine: the old call's 5 s timer outlasts it.
        await host.LoadAsync(Guests.Definition("timer", name: "t", args: "1"));
        Assert.False(pending.IsCompleted);
        // The old version is still serving the pending call, so it is not freed yet.
        Assert.DoesNotContain(log.Messages(LogLevel.Information), m => m.Contains("version 1 freed"));
        var fresh = Queries.Context("new.timer.test");
        Assert.Equal(PluginVerdict.Answer, await host.InvokeAsync(PluginPhase.Request, fresh));

        Assert.Equal(PluginVerdict.Answer, await pending);
        int slept = int.Parse(Assert.Single(Queries.TxtStrings(old)).Split("slept=")[1].TrimEnd('"'));
        Assert.InRange(slept, 4995, 30_000);
        Assert.Contains(log.Messages(LogLevel.Information), m => m.Contains("plugin t version 1 freed after its last call"));
    }

    [Fact]
    public async Task Versions_with_the_same_bytes_share_one_compiled_module()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("versioned", name: "a", args: "v1"));
        await host.LoadAsync(Guests.Definition("versioned", name: "a", args: "v2"));
        await host.LoadAsync(Guests.Definition("versioned", name: "b", args: "v1"));
        Assert.Equal(1, host.CompiledModuleCount);

        await host.LoadAsync(Guests.Definition("empty", name: "c"));
        Assert.Equal(2, host.CompiledModuleCount);

        host.Unload("c");
        Assert.Equal(1, host.CompiledModuleCount);
        host.Unload("a");
        host.Unload("b");
        Assert.Equal(0, host.CompiledModuleCount);
    }
}

using Microsoft.Extensions.Logging;

namespace Ananas.Sandbox.Tests;

/// <summary>Hostile guests fail only their own callback; repeated faults quarantine them with a clear log line.</summary>
public class IsolationTests
{
    private static async Task<(PluginHost Host, ListLogger Log)> HostWith(string hostile)
    {
        var log = new ListLogger();
        var host = new PluginHost(log);
        await host.LoadAsync(Guests.Definition(hostile) with { QuarantineAfter = 5, MemoryLimitBytes = 4 * 1024 * 1024 });
        await host.LoadAsync(Guests.Definition("answer"));
        return (host, log);
    }

    [Theory]
    [InlineData("spin", "loop.test", "out of fuel (CPU budget exceeded)")]
    [InlineData("membomb", "bomb.test", "trap: unreachable (a guest panic or abort, such as a failed allocation) (memory ")]
    [InlineData("bad_pointer", "oob.test", "bad hostcall: log: range at 2147483632 of length 4096 is outside the guest's memory")]
    public async Task A_faulting_callback_continues_and_repeated_faults_quarantine(string guest, string trigger, string reason)
    {
        var (host, log) = await HostWith(guest);
        using var _ = host;
        var faults = new List<PluginFault>();
        host.Faulted += f => { lock (faults) faults.Add(f); };

        for (int i = 1; i <= 4; i++)
        {
            // The fault continues the query to the next plugin, which answers it.
            var hostileQuery = Queries.Context(trigger);
            Assert.Equal(PluginVerdict.Continue, await host.InvokeAsync(PluginPhase.Request, hostileQuery));
            var answered = Queries.Context("ok.answer.test");
            Assert.Equal(PluginVerdict.Answer, await host.InvokeAsync(PluginPhase.Request, answered));
        }
        // Faults in a row count per plugin: the answered queries above passed through the hostile plugin without a
        // fault and reset its streak, so four faults so far and no quarantine.
        Assert.False(host.Snapshot()[0].Quarantined);
        Assert.Equal(4, host.Snapshot()[0].Faults);

        for (int i = 0; i < 5; i++) await host.InvokeAsync(PluginPhase.Request, Queries.Context(trigger));

        var status = host.Snapshot()[0];
        Assert.True(status.Quarantined);
        Assert.Equal(9, status.Faults);
        string line = Assert.Single(log.Messages(LogLevel.Error), m => m.Contains("quarantined"));
        Assert.True(line.StartsWith($"plugin {guest} quarantined after 5 faults in a row: last fault: {reason}"), line);
        Assert.EndsWith("in callback 0 (phase request)", line);
        Assert.Contains(faults, f => f.Quarantined && f.Plugin == guest);

        // Quarantined: skipped, and everything else keeps working.
        long callsBefore = host.Snapshot()[0].Calls;
        var after = Queries.Context("again.answer.test");
        Assert.Equal(PluginVerdict.Answer, await host.InvokeAsync(PluginPhase.Request, after));
        Assert.Equal(callsBefore, host.Snapshot()[0].Calls);

        // Reloading lifts the quarantine.
        await host.LoadAsync(Guests.Definition(guest));
        Assert.False(host.Snapshot()[0].Quarantined);
    }

    [Fact]
    public async Task Epoch_interruption_also_stops_a_runaway_callback()
    {
        var log = new ListLogger();
        using var host = new PluginHost(log, new PluginHostOptions { CpuLimiter = CpuLimiter.Epoch });
        await host.LoadAsync(Guests.Definition("spin") with { CpuBudget = TimeSpan.FromMilliseconds(2) });

        Assert.Equal(PluginVerdict.Continue, await host.InvokeAsync(PluginPhase.Request, Queries.Context("loop.test")));
        Assert.Equal(PluginVerdict.Continue, await host.InvokeAsync(PluginPhase.Request, Queries.Context("fine.test")));

        var status = host.Snapshot()[0];
        Assert.Equal(1, status.Faults);
        Assert.Equal(2, status.Calls);
        Assert.Contains(log.Messages(LogLevel.Warning), m => m.Contains("interrupted (CPU budget exceeded) in callback 0 (phase request)"));
    }

    [Fact]
    public async Task A_guest_that_traps_in_start_is_refused_at_load()
    {
        using var host = new PluginHost(new ListLogger());
        var e = await Assert.ThrowsAsync<PluginLoadException>(() => host.LoadAsync(Guests.Definition("trap_start")));
        Assert.StartsWith("plugin trap_start: the first instance failed to start: trap: unreachable", e.Message);
        Assert.Empty(host.Snapshot());
        Assert.False(host.HasCallbacks(PluginPhase.Request));
        Assert.False(host.Unload("trap_start"));
    }

    [Fact]
    public async Task A_failed_reload_keeps_the_running_version()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("versioned", name: "p", args: "v1"));
        await Assert.ThrowsAsync<PluginLoadException>(() => host.LoadAsync(Guests.Definition("trap_start", name: "p")));

        var ctx = Queries.Context("version.test");
        Assert.Equal(PluginVerdict.Answer, await host.InvokeAsync(PluginPhase.Request, ctx));
        Assert.Contains("\"v1\"", Assert.Single(Queries.TxtStrings(ctx)));
    }

    [Fact]
    public async Task Each_instance_has_its_own_memory()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("counter"));

        // Two calls at once lease two instances; each counts in its own static, so both say 1.
        var first = Queries.Context("count.test");
        var second = Queries.Context("count.test");
        await Task.WhenAll(host.InvokeAsync(PluginPhase.Request, first).AsTask(), host.InvokeAsync(PluginPhase.Request, second).AsTask());
        Assert.Contains("\"count=1\"", Assert.Single(Queries.TxtStrings(first)));
        Assert.Contains("\"count=1\"", Assert.Single(Queries.TxtStrings(second)));
        Assert.Equal(2, host.Snapshot()[0].Instances);

        // A later call reuses one of them: its memory kept that instance's count.
        var third = Queries.Context("count.test");
        await host.InvokeAsync(PluginPhase.Request, third);
        Assert.Contains("\"count=2\"", Assert.Single(Queries.TxtStrings(third)));
    }

    /// <summary>
    /// A guest whose function table is declared with a million elements: memory outside its linear-memory limit, per
    /// instance. The module is the empty test guest with its table section rewritten (Rust cannot declare one so big).
    /// </summary>
    [Fact]
    public async Task A_module_declaring_a_table_past_the_element_limit_fails_to_load_with_a_clear_error()
    {
        var wasm = WithTableOf(File.ReadAllBytes(Guests.PathOf("empty")), 1_000_000);
        string path = Path.Combine(Path.GetTempPath(), $"ananas-bigtable-{Guid.NewGuid():N}.wasm");
        File.WriteAllBytes(path, wasm);
        try
        {
            using var host = new PluginHost(new ListLogger());
            var e = await Assert.ThrowsAsync<PluginLoadException>(() => host.LoadAsync(Guests.Definition("empty", "bigtable") with { ModulePath = path }));
            Assert.Contains("failed to start", e.Message);
            Assert.Contains("table", e.Message);
            // The same guest with its own small table loads.
            await host.LoadAsync(Guests.Definition("empty", "small"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The module with its (single) table section replaced by one table of <paramref name="elements"/> funcrefs, no maximum.</summary>
    private static byte[] WithTableOf(byte[] module, uint elements)
    {
        var output = new List<byte>(module[..8]);
        int i = 8;
        bool replaced = false;
        while (i < module.Length)
        {
            byte id = module[i];
            int size = (int)ReadLeb(module, i + 1, out int start);
            if (id == 4)
            {
                var table = new List<byte> { 1, 0x70, 0x00 };
                table.AddRange(Leb(elements));
                output.Add(4);
                output.AddRange(Leb((uint)table.Count));
                output.AddRange(table);
                replaced = true;
            }
            else
            {
                output.AddRange(module[i..(start + size)]);
            }
            i = start + size;
        }
        Assert.True(replaced, "the guest has no table section");
        return [.. output];
    }

    private static uint ReadLeb(byte[] bytes, int at, out int end)
    {
        uint value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = bytes[at++];
            value |= (uint)(b & 0x7f) << shift;
            if (b < 0x80) break;
        }
        end = at;
        return value;
    }

    private static List<byte> Leb(uint value)
    {
        var bytes = new List<byte>();
        do
        {
            byte b = (byte)(value & 0x7f);
            value >>= 7;
            if (value != 0) b |= 0x80;
            bytes.Add(b);
        }
        while (value != 0);
        return bytes;
    }
}

namespace Ananas.Sandbox.Tests;

/// <summary>The host-side work one callback can cause is bounded: beyond a bound the guest gets -5 and the callback faults.</summary>
public class HostWorkTests
{
    [Theory]
    [InlineData("records.hostwork.test", "more than 1000 records added in one callback (host-work bound)")]
    [InlineData("timers.hostwork.test", "more than 64 timers started in one callback (host-work bound)")]
    public async Task A_callback_past_a_host_work_bound_gets_an_error_code_and_counts_as_a_fault(string trigger, string reason)
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("hostwork"));
        var faults = new List<PluginFault>();
        host.Faulted += f => { lock (faults) faults.Add(f); };

        var context = Queries.Context(trigger);
        Assert.Equal(PluginVerdict.Continue, await host.InvokeAsync(PluginPhase.Request, context));
        Assert.Null(context.Response);

        var status = host.Snapshot()[0];
        Assert.Equal(1, status.Faults);
        // The guest saw the error code (it counts the code it got) before the host counted the fault.
        Assert.Contains(status.Counters, c => c.Key == "refused_-5" && c.Value == 1);
        Assert.Equal(reason, Assert.Single(faults).Reason);
    }

    [Fact]
    public async Task A_callback_starting_more_data_table_refreshes_than_the_bound_gets_an_error_code_and_counts_as_a_fault()
    {
        var file = Path.GetTempFileName();
        try
        {
            using var host = new PluginHost(new ListLogger());
            await host.LoadAsync(Guests.Definition("hostwork") with
            {
                DataTables = [Data.DataTableSpec.Parse("t", "domains:" + file)],
                HttpAllowList = ["http://127.0.0.1:1"],
            });
            var faults = new List<PluginFault>();
            host.Faulted += f => { lock (faults) faults.Add(f); };

            Assert.Equal(PluginVerdict.Continue, await host.InvokeAsync(PluginPhase.Request, Queries.Context("fetches.hostwork.test")));

            var status = host.Snapshot()[0];
            Assert.Equal(1, status.Faults);
            Assert.Contains(status.Counters, c => c.Key == "refused_-5" && c.Value == 1);
            Assert.Equal("more than 4 data-table refreshes started in one callback (host-work bound)", Assert.Single(faults).Reason);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task The_host_work_bound_is_counted_per_callback_not_per_instance()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("answer") with { MaxInstances = 1 });
        // Each query adds two records on the same instance: 600 calls add 1,200, past the bound only if it never resets.
        for (int i = 0; i < 600; i++)
        {
            var context = Queries.Context($"q{i}.answer.test");
            Assert.Equal(PluginVerdict.Answer, await host.InvokeAsync(PluginPhase.Request, context));
        }
        Assert.Equal(0, host.Snapshot()[0].Faults);
    }
}

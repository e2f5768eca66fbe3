using System.Diagnostics;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Sandbox.Tests;

namespace Ananas.Server.Tests;

/// <summary>A guest awaiting a host operation in a phase before the resolution cannot hold the query past its deadline.</summary>
public sealed class PluginDeadlineTests
{
    [Fact]
    public async Task A_request_phase_guest_awaiting_past_the_query_timeout_is_abandoned_and_the_query_is_resolved_in_time()
    {
        // The timer guest sleeps 4 s before answering *.timer.test with TXT "slept=…"; the query timeout is 800 ms.
        await using var server = await PluginServer.StartAsync($"""
            [[plugin]]
            name = "timer"
            module = "{Guests.PathOf("timer")}"
            args = "4000"
            """, resolverToml: "query-timeout = \"800ms\"");

        var clock = Stopwatch.StartNew();
        var reply = await server.AskAsync("slow.timer.test", RRType.TXT);

        // Abandoned at the deadline, the query went on to the resolution (the fake world has no timer.test).
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the guest held the query {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.DoesNotContain(reply.Answers, r => r.Type == RRType.TXT);
        Assert.Equal(0, server.Plugins.Host.Snapshot()[0].Faults);
    }
}

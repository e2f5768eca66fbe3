using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;

namespace Ananas.Sandbox.Tests;

/// <summary>The later phases: editing the recursor's response, refusing upstream sub-requests, invalid results.</summary>
public class PhaseTests
{
    private static DnsMessage Resolved(PluginCallContext context)
    {
        var response = new DnsMessage { Id = context.MessageId, Flags = HeaderFlags.QR | HeaderFlags.AD | HeaderFlags.RD | HeaderFlags.RA };
        response.Questions.Add(new Question(context.QueryName, RRType.A));
        response.Answers.Add(RecordText.Parse($"{context.QueryName} 300 IN CNAME target.example.", DnsName.Root));
        response.Answers.Add(RecordText.Parse("target.example. 300 IN A 198.51.100.1", DnsName.Root));
        return response;
    }

    [Fact]
    public async Task Resolved_phase_edits_are_kept_when_the_callback_continues()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("rewrite"));
        var ctx = Queries.Context("www.rewrite.test", RRType.A);
        var original = Resolved(ctx);
        ctx.Response = original;

        Assert.Equal(PluginVerdict.Continue, await host.InvokeAsync(PluginPhase.Resolved, ctx));

        var edited = ctx.Response;
        Assert.NotSame(original, edited);
        Assert.Equal(2, original.Answers.Count); // the recursor's message itself is untouched
        Assert.Equal(["www.rewrite.test.\t300\tIN\tCNAME\ttarget.example.", "www.rewrite.test.\t30\tIN\tA\t192.0.2.99"],
            edited.Answers.Select(r => r.ToString()).ToArray());
        Assert.False(edited.Has(HeaderFlags.AD));
        Assert.True(edited.Has(HeaderFlags.RA));
    }

    [Fact]
    public async Task Upstream_phase_may_refuse_but_not_touch_responses()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("rewrite"));

        Assert.Equal(PluginVerdict.Refuse, await host.InvokeAsync(PluginPhase.Upstream, Queries.Context("refuse.upstream.test", RRType.A)));
        Assert.Equal(PluginVerdict.Continue, await host.InvokeAsync(PluginPhase.Upstream, Queries.Context("other.upstream.test", RRType.A)));
        Assert.Equal(0, host.Snapshot()[0].Faults);
    }

    [Fact]
    public async Task A_result_the_phase_does_not_allow_is_a_fault()
    {
        var log = new ListLogger();
        using var host = new PluginHost(log);
        await host.LoadAsync(Guests.Definition("rewrite"));
        var ctx = Queries.Context("answer.response.test", RRType.A);
        ctx.Response = Resolved(ctx);

        Assert.Equal(PluginVerdict.Continue, await host.InvokeAsync(PluginPhase.Response, ctx));

        Assert.Equal(1, host.Snapshot()[0].Faults);
        Assert.Contains(log.Messages(Microsoft.Extensions.Logging.LogLevel.Warning),
            m => m.Contains("returned 1, not a valid result in phase response in callback 2 (phase response)"));
    }
}

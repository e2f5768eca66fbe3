using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Tests.Shared;
using Microsoft.Extensions.Logging;

namespace Ananas.Sandbox.Tests;

/// <summary>Ordinary calls: the request region as the guest sees it, verdicts, responses, allocation.</summary>
public class CallTests
{
    [Fact]
    public async Task Guest_reads_the_request_region_and_builds_an_answer()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("answer"));
        var ctx = Queries.Context("www.Answer.Test", RRType.AAAA, client: "127.0.3.77", prefix: 24);

        var verdict = await host.InvokeAsync(PluginPhase.Request, ctx);

        Assert.Equal(PluginVerdict.Answer, verdict);
        var response = Assert.IsType<Ananas.Dns.Messages.DnsMessage>(ctx.Response);
        Assert.Equal(ctx.MessageId, response.Id);
        Assert.True(response.Has(Ananas.Dns.Messages.HeaderFlags.QR));
        Assert.True(response.Has(Ananas.Dns.Messages.HeaderFlags.AA));
        var txt = Assert.Single(Queries.TxtStrings(ctx));
        // The guest lowercased nothing itself: the host wrote the lowercase presentation form into the region.
        Assert.StartsWith("www.answer.test.", txt);
        Assert.Contains("\"qtype=28\"", txt);
        Assert.Contains($"\"id={ctx.MessageId}\"", txt);
        Assert.Contains("\"transport=Udp\"", txt);
        Assert.Contains("\"client=127.0.3.77\"", txt);
        Assert.Contains("\"network=127.0.3.0/24\"", txt);
        Assert.Contains("\"do=true\"", txt);
        Assert.Contains(response.Answers, r => r.ToString().Contains("192.0.2.1"));
    }

    [Fact]
    public async Task Continue_leaves_no_response_and_refuse_is_passed_on()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("answer"));

        var other = Queries.Context("example.org");
        Assert.Equal(PluginVerdict.Continue, await host.InvokeAsync(PluginPhase.Request, other));
        Assert.Null(other.Response);

        var refused = Queries.Context("refuse.answer.test");
        Assert.Equal(PluginVerdict.Refuse, await host.InvokeAsync(PluginPhase.Request, refused));

        // No callback registered for other phases.
        Assert.True(host.HasCallbacks(PluginPhase.Request));
        Assert.False(host.HasCallbacks(PluginPhase.Response));
        Assert.Equal(PluginVerdict.Continue, await host.InvokeAsync(PluginPhase.Response, Queries.Context("x.answer.test")));
        var status = Assert.Single(host.Snapshot());
        Assert.Equal(2, status.Calls);
        Assert.Equal(0, status.Faults);
    }

    [Fact]
    public async Task Plugins_run_in_load_order_until_one_decides()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("versioned", args: "first"));
        await host.LoadAsync(Guests.Definition("versioned", name: "second", args: "second"));

        var ctx = Queries.Context("version.test");
        Assert.Equal(PluginVerdict.Answer, await host.InvokeAsync(PluginPhase.Request, ctx));
        Assert.Contains("\"first\"", Assert.Single(Queries.TxtStrings(ctx)));
        var calls = host.Snapshot().Select(s => s.Calls).ToArray();
        Assert.Equal([1L, 0L], calls);

        Assert.True(host.Unload("versioned"));
        ctx = Queries.Context("version.test");
        Assert.Equal(PluginVerdict.Answer, await host.InvokeAsync(PluginPhase.Request, ctx));
        Assert.Contains("\"second\"", Assert.Single(Queries.TxtStrings(ctx)));
        Assert.False(host.Unload("versioned"));
    }

    [Fact]
    public async Task An_empty_plugin_call_allocates_nothing()
    {
        using var host = new PluginHost(new ListLogger());
        await host.LoadAsync(Guests.Definition("empty"));
        var ctx = Queries.Context("www.example.com");

        long bytes = AllocationProbe.BytesPerRound(() =>
        {
            var pending = host.InvokeAsync(PluginPhase.Request, ctx);
            if (!pending.IsCompleted || pending.Result != PluginVerdict.Continue) throw new InvalidOperationException("expected a synchronous Continue");
        });

        Assert.Equal(0, bytes);
    }

    [Fact]
    public void Setting_the_query_from_wire_bytes_allocates_nothing_and_names_each_query()
    {
        byte[] first = DnsMessage.CreateQuery(1, DnsName.Parse("www.Example.com"), RRType.A).ToArray();
        byte[] second = DnsMessage.CreateQuery(2, DnsName.Parse("mail.example.org"), RRType.MX).ToArray();
        var ctx = new PluginCallContext();

        long bytes = AllocationProbe.BytesPerRound(() =>
        {
            if (!ctx.TrySetQuery(first) || !ctx.TrySetQuery(second)) throw new InvalidOperationException("expected well-formed queries");
        });
        Assert.Equal(0, bytes);

        // The name is built on demand, from the query set last, in its letter case.
        Assert.True(ctx.TrySetQuery(first));
        Assert.Equal("www.Example.com.", ctx.QueryName.ToString());
        Assert.True(ctx.TrySetQuery(second));
        Assert.Equal("mail.example.org.", ctx.QueryName.ToString());
        Assert.Equal(RRType.MX, ctx.QueryType);
        Assert.False(ctx.TrySetQuery(first.AsMemory(0, 14)));
        Assert.Equal("mail.example.org.", ctx.QueryName.ToString());
    }

    [Fact]
    public void A_query_set_from_the_servers_first_look_matches_the_full_parse()
    {
        var withEdns = DnsMessage.CreateQuery(7, DnsName.Parse("WWW.Mixed.Example"), RRType.AAAA);
        withEdns.Edns!.DnssecOk = true;
        withEdns.Edns.UdpPayloadSize = 1400;
        withEdns.Set(HeaderFlags.CD);
        var withoutEdns = DnsMessage.CreateQuery(8, DnsName.Parse("mail.example.org"), RRType.MX);
        withoutEdns.Edns = null;

        foreach (var query in new[] { withEdns, withoutEdns })
        {
            byte[] wire = query.ToArray();
            int questionEnd = 12 + query.Questions[0].Name.WireLength + 4;
            var parsed = new PluginCallContext();
            var given = new PluginCallContext();
            Assert.True(parsed.TrySetQuery(wire));
            var edns = query.Edns;
            Assert.True(given.TrySetCheckedQuery(wire, questionEnd, edns is not null, edns?.DnssecOk ?? false, edns?.UdpPayloadSize ?? 0));

            Assert.Equal(parsed.MessageId, given.MessageId);
            Assert.Equal(parsed.FlagsWord, given.FlagsWord);
            Assert.Equal(parsed.QueryType, given.QueryType);
            Assert.Equal(parsed.QueryClass, given.QueryClass);
            Assert.Equal(parsed.HasEdns, given.HasEdns);
            Assert.Equal(parsed.DnssecOk, given.DnssecOk);
            Assert.Equal(parsed.EdnsPayloadSize, given.EdnsPayloadSize);
            Assert.True(parsed.QueryNameWire.SequenceEqual(given.QueryNameWire));
            Assert.Equal(parsed.QueryName.ToString(), given.QueryName.ToString());
        }

        // Offsets that do not describe a question ending in a root label are refused, changing nothing.
        byte[] bytes = withEdns.ToArray();
        var ctx = new PluginCallContext();
        Assert.True(ctx.TrySetQuery(bytes));
        Assert.False(ctx.TrySetCheckedQuery(bytes, 12 + 4, true, false, 1232));
        Assert.False(ctx.TrySetCheckedQuery(bytes, bytes.Length + 1, true, false, 1232));
        Assert.False(ctx.TrySetCheckedQuery(bytes, 12 + 4 + 3, true, false, 1232));
        Assert.Equal("WWW.Mixed.Example.", ctx.QueryName.ToString());
        Assert.Equal(1400, ctx.EdnsPayloadSize);
    }

    [Fact]
    public async Task Guest_counters_and_logs_reach_the_host()
    {
        var log = new ListLogger();
        using var host = new PluginHost(log);
        await host.LoadAsync(Guests.Definition("counter"));

        var ctx = Queries.Context("count.test");
        Assert.Equal(PluginVerdict.Answer, await host.InvokeAsync(PluginPhase.Request, ctx));

        var status = Assert.Single(host.Snapshot());
        Assert.Contains(new KeyValuePair<string, long>("answered", 1), status.Counters);
        Assert.Contains(log.Messages(LogLevel.Information), m => m.Contains("plugin counter: answered count=1"));
    }

    [Fact]
    public void Client_network_is_the_address_masked_to_the_prefix()
    {
        var ctx = new PluginCallContext();
        ctx.SetClient(IPAddress.Parse("2001:db8:1234:5678:9abc::1"), 56);
        Assert.Equal(IPAddress.Parse("2001:db8:1234:5600::"), ctx.ClientNetwork);
        ctx.SetClient(IPAddress.Parse("127.1.2.3"), 20);
        Assert.Equal(IPAddress.Parse("127.1.0.0"), ctx.ClientNetwork);
    }

    [Fact]
    public async Task A_query_does_not_see_the_previous_clients_name_in_the_request_region()
    {
        using var host = new PluginHost(new ListLogger());
        // One instance: both queries run in the same guest memory, one after the other.
        await host.LoadAsync(Guests.Definition("region_peek") with { MaxInstances = 1 });

        var first = Queries.Context("private-name-of-client-one.peek.test", client: "127.0.0.21");
        Assert.Equal(PluginVerdict.Answer, await host.InvokeAsync(PluginPhase.Request, first));
        Assert.EndsWith("\"tail=\"", Assert.Single(Queries.TxtStrings(first)));

        var second = Queries.Context("x.peek.test", client: "127.0.0.22");
        Assert.Equal(PluginVerdict.Answer, await host.InvokeAsync(PluginPhase.Request, second));
        Assert.EndsWith("\"tail=\"", Assert.Single(Queries.TxtStrings(second)));
    }
}

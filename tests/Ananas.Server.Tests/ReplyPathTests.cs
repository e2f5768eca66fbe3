using System.Net;
using System.Text;
using System.Text.Json;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Frames;
using Ananas.Server.Hosting;
using Ananas.Server.Pipeline;
using Ananas.Server.Tests.Fakes;

using Handler = Ananas.Server.Tests.Fakes.DelegateHandler;

namespace Ananas.Server.Tests;

/// <summary>Every kind of reply leaves the pipeline through its one exit: logged once, counted once, timed once, seen once by Response handlers.</summary>
public sealed class ReplyPathTests
{
    [Fact]
    public async Task With_request_cache_lookup_and_response_handlers_every_reply_kind_is_logged_counted_and_timed_exactly_once()
    {
        var output = new MemoryStream();
        var responsesSeen = new List<string>();
        var log = new QueryLog(output, ownsOutput: false);
        var authority = new FakeAuthority("www.example.com. 300 A 192.0.2.80", "slow.example.com. 300 A 192.0.2.81").Delay("slow.example.com.", TimeSpan.FromSeconds(5));
        await using (var server = new TestServer(authority, new PipelineOptions { Access = AccessList.Default, ResolveTimeout = TimeSpan.FromMilliseconds(300) }))
        {
            var request = new Handler(async (_, c, _) =>
            {
                if (PhaseHandlerTests.Asks(c, "answer.example.com")) return await PhaseHandlerTests.AnswerSinkhole(c);
                if (PhaseHandlerTests.Asks(c, "refuse.example.com")) return PhaseVerdict.Refuse;
                // A handler that really awaits: the query goes on in a task, through the same stages.
                if (PhaseHandlerTests.Asks(c, "awaited.example.com")) await Task.Yield();
                return PhaseVerdict.Continue;
            }, Phase.Request);
            var lookup = new Handler((_, c, _) => PhaseHandlerTests.Asks(c, "lookup.example.com") ? PhaseHandlerTests.AnswerSinkhole(c) : new(PhaseVerdict.Continue), Phase.CacheLookup);
            var response = new Handler((_, c, _) =>
            {
                lock (responsesSeen) responsesSeen.Add(c.Response!.Question.Name.ToString());
                return new(PhaseVerdict.Continue);
            }, Phase.Response);
            server.Pipeline.SetHandlers([request, lookup, response]);
            server.Pipeline.QueryLog = log;
            var udp = server.Udp.LocalEndPoint;

            async Task<Rcode> Ask(string name) => (await DnsTestClient.UdpAsync(udp, DnsTestClient.Query(name))).Rcode;
            Assert.Equal(Rcode.NoError, await Ask("www.example.com"));      // resolved
            Assert.Equal(Rcode.NoError, await Ask("www.example.com"));      // cache hit
            Assert.Equal(Rcode.NoError, await Ask("answer.example.com"));   // Request handler's answer
            Assert.Equal(Rcode.NoError, await Ask("lookup.example.com"));   // CacheLookup handler's answer
            Assert.Equal(Rcode.Refused, await Ask("refuse.example.com"));   // Request handler's refusal
            Assert.Equal(Rcode.NXDomain, await Ask("nope.example.com"));    // resolved, negative
            Assert.Equal(Rcode.NXDomain, await Ask("awaited.example.com")); // after an awaiting handler: resolved
            Assert.Equal(Rcode.ServFail, await Ask("slow.example.com"));    // the query timeout: SERVFAIL
            var notify = DnsTestClient.Query("www.example.com");
            notify.Opcode = Opcode.Notify;
            Assert.Equal(Rcode.NotImp, (await DnsTestClient.UdpAsync(udp, notify)).Rcode);
            byte[] garbage = [0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3F, (byte)'a'];
            Assert.NotNull(await DnsTestClient.UdpRawAsync(udp, garbage));  // FORMERR

            await log.DisposeAsync();
            var counters = server.Pipeline.Counters;
            long replies = 0;
            for (int rcode = 0; rcode < 16; rcode++) replies += counters.ResponseCount(Transport.Udp, rcode);
            Assert.Equal(10, replies);
            Assert.Equal(10, counters.HitLatency.Snapshot().Sum() + counters.MissLatency.Snapshot().Sum());
            Assert.Equal(4, counters.MissLatency.Snapshot().Sum()); // the four resolutions
            Assert.Equal(1, counters.ServFailCount);
            Assert.Equal(1, counters.CacheHitCount);
            Assert.Equal(2, counters.PhaseAnswerCount);
            Assert.Equal(10, log.Written);
        }
        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        string Text(JsonElement e, string name) => e.GetProperty(name).GetString()!;
        Assert.Equal(["NOERROR", "NOERROR", "NOERROR", "NOERROR", "REFUSED", "NXDOMAIN", "NXDOMAIN", "SERVFAIL", "NOTIMP", "FORMERR"], lines.Select(l => Text(l, "rcode")));
        Assert.Equal([false, true, false, false, false, false, false, false, false, false], lines.Select(l => l.GetProperty("cache_hit").GetBoolean()));
        // The Response phase saw each answer once (refusals and the pipeline's errors are not answers it may change).
        Assert.Equal(["www.example.com.", "www.example.com.", "answer.example.com.", "lookup.example.com.", "nope.example.com.", "awaited.example.com.", "slow.example.com."],
            responsesSeen);
    }
}

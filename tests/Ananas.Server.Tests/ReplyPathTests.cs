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

    [Fact]
    public async Task An_answer_source_with_handlers_walks_the_same_stages_without_a_cache_lookup_and_finishes_each_reply_once()
    {
        var output = new MemoryStream();
        var log = new QueryLog(output, ownsOutput: false);
        var lookup = new Handler((_, _, _) => new(PhaseVerdict.Continue), Phase.CacheLookup);
        var request = new Handler((_, c, _) => new(PhaseHandlerTests.Asks(c, "refuse.example.") ? PhaseVerdict.Refuse : PhaseVerdict.Continue), Phase.Request);
        var resolved = new Handler((_, c, _) => PhaseHandlerTests.Asks(c, "rewrite.example.") ? PhaseHandlerTests.AnswerSinkhole(c) : new(PhaseVerdict.Continue), Phase.Resolved);
        var responsesSeen = new List<string>();
        var response = new Handler((_, c, _) =>
        {
            responsesSeen.Add(c.Response!.Question.Name.ToString());
            return new(PhaseVerdict.Continue);
        }, Phase.Response);
        var pipeline = new QueryPipeline(new PipelineOptions(), new OneAddressSource(), [lookup, request, resolved, response]) { QueryLog = log };
        var sink = new RecordingSink();
        var frame = Frame.CreateReusable(new byte[ushort.MaxValue], Transport.Udp, sink, new IPEndPoint(IPAddress.Loopback, 40000));
        foreach (var name in new[] { "www.example.", "refuse.example.", "rewrite.example." })
        {
            var query = DnsTestClient.Query(name).ToArray();
            query.CopyTo(frame.Buffer, 0);
            frame.Length = query.Length;
            frame.ArrivalTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
            pipeline.Handle(frame);
        }

        Assert.Equal(3, sink.Replies.Count);
        var answered = DnsMessage.Parse(sink.Replies[0]);
        Assert.Equal("192.0.2.53", Assert.Single(answered.Answers).Data.ToString());
        var refused = DnsMessage.Parse(sink.Replies[1]);
        Assert.Equal(Rcode.Refused, refused.Rcode);
        Assert.False(refused.Has(HeaderFlags.RA)); // the authoritative role offers no recursion
        Assert.Equal("0.0.0.0", Assert.Single(DnsMessage.Parse(sink.Replies[2]).Answers).Data.ToString());
        Assert.Equal(0, lookup.Calls);
        Assert.Equal(["www.example.", "rewrite.example."], responsesSeen);
        Assert.Equal(3, pipeline.Counters.HitLatency.Snapshot().Sum());
        Assert.Equal(0, pipeline.Counters.MissLatency.Snapshot().Sum());
        await log.DisposeAsync();
        Assert.Equal(3, log.Written);
    }

    /// <summary>An authoritative stand-in: every name has the one address 192.0.2.53.</summary>
    private sealed class OneAddressSource : IAnswerSource
    {
        public int Answer(ReadOnlySpan<byte> query, Transport transport, Span<byte> reply, int limit)
        {
            var message = DnsMessage.Parse(query.ToArray());
            var answer = message.CreateResponse();
            answer.Set(HeaderFlags.AA);
            answer.Answers.Add(Ananas.Dns.Zones.RecordText.Parse($"{message.Question.Name} 60 IN A 192.0.2.53", DnsName.Root));
            var bytes = answer.ToArray();
            bytes.CopyTo(reply);
            return bytes.Length;
        }

        public void AppendMetrics(System.Text.StringBuilder sb)
        {
        }
    }

    private sealed class RecordingSink : IReplySink
    {
        public List<byte[]> Replies { get; } = [];
        public CancellationToken ClientGone => CancellationToken.None;
        public int MaxReplySize(int clientUdpPayload) => QueryPipeline.UdpLimit(clientUdpPayload, 1232);
        public void Send(Frame frame, ReadOnlySpan<byte> reply) => Replies.Add(reply.ToArray());
        public void Drop(Frame frame) { }
    }
}

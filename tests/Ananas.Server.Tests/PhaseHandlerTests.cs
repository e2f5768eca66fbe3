using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using Ananas.Server.Tests.Fakes;
using Ananas.Tests.Shared;

using Handler = Ananas.Server.Tests.Fakes.DelegateHandler;

namespace Ananas.Server.Tests;

/// <summary>Phase handlers answer, refuse, modify and await at each phase, over real loopback sockets.</summary>
public sealed class PhaseHandlerTests
{
    private static FakeAuthority World() => new(
        "www.example.com. 300 A 192.0.2.80",
        "blocked.example.com. 300 A 192.0.2.66",
        "other.example.com. 300 A 192.0.2.81");

    internal static bool Asks(PhaseContext context, string name) => context.Query.Question.Name.Equals(DnsName.Parse(name));

    internal static ValueTask<PhaseVerdict> AnswerSinkhole(PhaseContext context)
    {
        var response = context.CreateResponse();
        response.Answers.Add(RecordText.Parse($"{context.Query.Question.Name} 60 IN A 0.0.0.0", DnsName.Root));
        return new(PhaseVerdict.Answer);
    }

    [Fact]
    public async Task A_request_handler_answers_locally_and_its_answer_is_not_cached()
    {
        await using var server = new TestServer(World());
        var sinkhole = new Handler((_, c, _) => Asks(c, "blocked.example.com") ? AnswerSinkhole(c) : new(PhaseVerdict.Continue), Phase.Request);
        server.Pipeline.SetHandlers([sinkhole]);

        var blocked = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("blocked.example.com", id: 5));
        Assert.Equal(5, blocked.Id);
        Assert.Equal(Rcode.NoError, blocked.Rcode);
        Assert.Equal(IPAddress.Any, ((AddressData)Assert.Single(blocked.Answers).Data).Address);
        Assert.Equal(0, server.Authority.Queries);

        var allowed = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("www.example.com"));
        Assert.Equal(IPAddress.Parse("192.0.2.80"), ((AddressData)Assert.Single(allowed.Answers).Data).Address);
        Assert.True(server.Authority.Queries > 0);

        // Without the handler the same name resolves: the synthesized answer never reached the answer cache.
        server.Pipeline.SetHandlers([]);
        var after = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("blocked.example.com"));
        Assert.Equal(IPAddress.Parse("192.0.2.66"), ((AddressData)Assert.Single(after.Answers).Data).Address);
        Assert.Equal(1, server.Pipeline.Counters.PhaseAnswerCount);
    }

    [Fact]
    public async Task Refuse_and_drop_at_request_and_a_cache_hit_passes_a_continuing_handler()
    {
        await using var server = new TestServer(World());
        var policy = new Handler((_, c, _) => new(Asks(c, "blocked.example.com") ? PhaseVerdict.Refuse
            : Asks(c, "other.example.com") ? PhaseVerdict.Drop
            : PhaseVerdict.Continue), Phase.Request);
        server.Pipeline.SetHandlers([policy]);

        var refused = await DnsTestClient.TcpAsync(server.Tcp.LocalEndPoint, DnsTestClient.Query("blocked.example.com"));
        Assert.Equal(Rcode.Refused, refused.Rcode);
        Assert.Null(await DnsTestClient.UdpRawAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("other.example.com").ToArray(), TimeSpan.FromMilliseconds(500)));

        await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("www.example.com"));
        var hit = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("www.example.com"));
        Assert.Single(hit.Answers);
        Assert.Equal(1, server.Pipeline.Counters.CacheHitCount);
        Assert.Equal(4, policy.Calls);
    }

    [Fact]
    public async Task Handlers_that_await_answer_concurrent_queries_without_holding_the_listener()
    {
        await using var server = new TestServer(World());
        // Each call waits 300 ms: with one UDP receive thread, 8 queries answered in well under 8 × 300 ms
        // show that the listener's thread was not held while they waited.
        var slow = new Handler(async (_, c, ct) =>
        {
            await Task.Delay(300, ct);
            return Asks(c, "blocked.example.com") ? await AnswerSinkhole(c) : PhaseVerdict.Continue;
        }, Phase.Request);
        server.Pipeline.SetHandlers([slow]);
        await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("www.example.com")); // fill the cache

        var started = System.Diagnostics.Stopwatch.StartNew();
        var queries = Enumerable.Range(0, 8).Select(i => DnsTestClient.UdpAsync(server.Udp.LocalEndPoint,
            DnsTestClient.Query(i % 2 == 0 ? "blocked.example.com" : "www.example.com", id: (ushort)(100 + i)))).ToArray();
        var replies = await Task.WhenAll(queries);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(2.0), $"took {started.Elapsed}");
        for (int i = 0; i < replies.Length; i++)
        {
            Assert.Equal(100 + i, replies[i].Id);
            var expected = i % 2 == 0 ? IPAddress.Any : IPAddress.Parse("192.0.2.80");
            Assert.Equal(expected, ((AddressData)Assert.Single(replies[i].Answers).Data).Address);
        }
        Assert.Equal(4, server.Pipeline.Counters.CacheHitCount);
        await PipelineTests.WaitUntil(() => server.Pipeline.InFlight == 0);
    }

    [Fact]
    public async Task An_upstream_refusal_keeps_the_query_from_the_authority()
    {
        await using var server = new TestServer(World());
        var firewall = new Handler((_, c, _) => new(c.Upstream is not null && Asks(c, "blocked.example.com") ? PhaseVerdict.Refuse : PhaseVerdict.Continue), Phase.Upstream);
        server.Pipeline.SetHandlers([firewall]);

        var reply = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("blocked.example.com"));
        Assert.Equal(Rcode.ServFail, reply.Rcode);
        Assert.Equal(0, server.Authority.Queries);
        Assert.True(server.Pipeline.Counters.UpstreamRefusedCount > 0);

        var allowed = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("www.example.com"));
        Assert.Equal(Rcode.NoError, allowed.Rcode);
        Assert.True(server.Authority.Queries > 0);
    }

    [Fact]
    public async Task A_resolved_edit_is_sent_but_not_cached_and_a_response_edit_applies_to_hits()
    {
        await using var server = new TestServer(World());
        var rewrite = new Handler((phase, c, _) =>
        {
            if (phase == Phase.Resolved && Asks(c, "blocked.example.com"))
            {
                c.Response!.Answers.Clear();
                c.Response.Answers.Add(RecordText.Parse("blocked.example.com. 60 IN A 192.0.2.1", DnsName.Root));
                return new(PhaseVerdict.Answer);
            }
            if (phase == Phase.Response && Asks(c, "www.example.com"))
            {
                var edited = DnsMessage.Parse(c.Response!.ToArray());
                edited.Additional.Add(RecordText.Parse("note.example. 0 IN TXT \"seen\"", DnsName.Root));
                c.Response = edited;
                return new(PhaseVerdict.Answer);
            }
            return new(PhaseVerdict.Continue);
        }, Phase.Resolved, Phase.Response);
        server.Pipeline.SetHandlers([rewrite]);

        for (int i = 0; i < 2; i++)
        {
            var edited = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("blocked.example.com"));
            Assert.Equal(IPAddress.Parse("192.0.2.1"), ((AddressData)Assert.Single(edited.Answers).Data).Address);
        }
        Assert.Equal(0, server.Pipeline.Counters.CacheHitCount);

        for (int i = 0; i < 2; i++)
        {
            var www = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("www.example.com"));
            Assert.Single(www.Answers);
            Assert.Contains(www.Additional, r => r.Type == RRType.TXT);
        }
        Assert.Equal(1, server.Pipeline.Counters.CacheHitCount);
    }

    [Fact]
    public async Task A_throwing_handler_fails_only_its_call()
    {
        await using var server = new TestServer(World());
        var broken = new Handler((_, _, _) => throw new InvalidOperationException("boom"), Phase.Request, Phase.Resolved);
        var brokenAsync = new Handler(async (_, _, ct) =>
        {
            await Task.Yield();
            throw new InvalidOperationException("boom later");
        }, Phase.BeforeRecursion);
        server.Pipeline.SetHandlers([broken, brokenAsync]);
        var reply = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("www.example.com"));
        Assert.Equal(IPAddress.Parse("192.0.2.80"), ((AddressData)Assert.Single(reply.Answers).Data).Address);
        Assert.Equal(3, server.Pipeline.Counters.PhaseFaultCount);
    }

    private sealed class CountingSink : IReplySink
    {
        public int Sent;
        public CancellationToken ClientGone => CancellationToken.None;
        public int MaxReplySize(int clientUdpPayload) => QueryPipeline.UdpLimit(clientUdpPayload, 1232);
        public void Send(Frame frame, ReadOnlySpan<byte> reply) => Interlocked.Increment(ref Sent);
        public void Drop(Frame frame) { }
    }

    private sealed class NameLengthHandler : IPhaseHandler
    {
        public long Seen;
        public bool Handles(Phase phase) => phase == Phase.Request;

        public ValueTask<PhaseVerdict> InvokeAsync(Phase phase, PhaseContext context, CancellationToken cancellationToken)
        {
            Seen += context.Frame.Message.Length + context.Shape.QuestionEnd;
            return new(PhaseVerdict.Continue);
        }
    }

    [Fact]
    public async Task A_cache_hit_through_a_synchronous_handler_allocates_nothing()
    {
        var clock = new VirtualClock();
        var recursor = new Recursor(new RecursorOptions
        {
            RootHints = RootHints.Single(DnsName.Parse("a.root-servers.net."), IPAddress.Parse("198.41.0.4")),
            QnameMinimisation = false,
            UseIPv6 = false,
        }, clock, new SeededRandom(1), new RecordCache(clock));
        var answers = new AnswerCache(new AnswerCacheOptions { Storage = new CacheOptions { CapacityBytes = 1 << 20 } }, clock);
        var handler = new NameLengthHandler();
        var pipeline = new QueryPipeline(new PipelineOptions(), answers, recursor, World(), clock, [handler]);
        var sink = new CountingSink();
        var frame = Frame.CreateReusable(new byte[ushort.MaxValue], Transport.Udp, sink, new IPEndPoint(IPAddress.Loopback, 40000));
        var query = DnsTestClient.Query("www.example.com", udpPayload: 1232).ToArray();
        query.CopyTo(frame.Buffer, 0);
        frame.Length = query.Length;

        pipeline.Handle(frame);
        await PipelineTests.WaitUntil(() => sink.Sent == 1);
        pipeline.Handle(frame);
        Assert.Equal(2, sink.Sent);

        long allocated = AllocationProbe.BytesPerRound(() => pipeline.Handle(frame), callsPerRound: 100);
        Assert.Equal(0, allocated);
        Assert.True(handler.Seen > 0);
        Assert.True(pipeline.Counters.CacheHitCount > 100);
    }
}

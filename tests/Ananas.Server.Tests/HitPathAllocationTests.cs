using Ananas.Tests.Shared;
using System.Net;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using Ananas.Server.Tests.Fakes;

namespace Ananas.Server.Tests;

/// <summary>The cache-hit path answers on the caller's thread and allocates nothing.</summary>
public sealed class HitPathAllocationTests
{
    internal sealed class CountingSink : IReplySink
    {
        public int Sent;
        public int Dropped;
        public CancellationToken ClientGone => CancellationToken.None;
        public int MaxReplySize(int clientUdpPayload) => QueryPipeline.UdpLimit(clientUdpPayload, 1232);
        public void Send(Frame frame, ReadOnlySpan<byte> reply) => Interlocked.Increment(ref Sent);
        public void Drop(Frame frame) => Interlocked.Increment(ref Dropped);
    }

    /// <summary>A pipeline (default options, virtual clock) whose fake authority serves <paramref name="records"/>.</summary>
    internal static QueryPipeline PipelineAnswering(params string[] records)
    {
        var clock = new VirtualClock();
        var recursor = new Recursor(new RecursorOptions
        {
            RootHints = RootHints.Single(Ananas.Dns.DnsName.Parse("a.root-servers.net."), IPAddress.Parse("198.41.0.4")),
            QnameMinimisation = false,
            UseIPv6 = false,
        }, clock, new SeededRandom(1), new RecordCache(clock));
        var answers = new AnswerCache(new AnswerCacheOptions { Storage = new CacheOptions { CapacityBytes = 1 << 20 } }, clock);
        return new QueryPipeline(new PipelineOptions(), answers, recursor, new FakeAuthority(records), clock);
    }

    [Fact]
    public async Task A_cache_hit_allocates_nothing()
    {
        var pipeline = PipelineAnswering("www.example.com. 300 A 192.0.2.80");
        var answers = pipeline.Answers;
        var sink = new CountingSink();
        var frame = Frame.CreateReusable(new byte[ushort.MaxValue], Transport.Udp, sink, new IPEndPoint(IPAddress.Loopback, 40000));
        var query = DnsTestClient.Query("www.example.com", udpPayload: 1232).ToArray();
        query.CopyTo(frame.Buffer, 0);
        frame.Length = query.Length;

        pipeline.Handle(frame); // miss: resolved in the background
        await PipelineTests.WaitUntil(() => sink.Sent == 1);
        pipeline.Handle(frame); // first hit on this thread (allocates its reply buffer once)
        Assert.Equal(2, sink.Sent);

        var reply = new byte[1232];
        long cacheAllocated = AllocationProbe.BytesPerRound(() => answers.TryAnswer(frame.Message, reply, out _), callsPerRound: 100);

        int handled = 0;
        long allocated = AllocationProbe.BytesPerRound(() => { handled++; pipeline.Handle(frame); }, callsPerRound: 100);

        Assert.Equal(2 + handled, sink.Sent);
        Assert.Equal(1 + handled, pipeline.Counters.CacheHitCount);
        Assert.Equal(0, cacheAllocated);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task A_cache_hit_with_rate_limiting_and_a_dns_cookie_allocates_nothing()
    {
        var pipeline = PipelineAnswering("www.example.com. 300 A 192.0.2.80");
        pipeline.RateLimiter = new Protection.ResponseRateLimiter(new Protection.RrlOptions { ResponsesPerSecond = 1_000_000 });
        pipeline.Cookies = new Protection.ServerCookies();
        var sink = new CountingSink();
        var frame = Frame.CreateReusable(new byte[ushort.MaxValue], Transport.Udp, sink, new IPEndPoint(IPAddress.Loopback, 40000));
        var message = DnsTestClient.Query("www.example.com", udpPayload: 1232);
        message.Edns!.Options.Add(new CookieOption([1, 2, 3, 4, 5, 6, 7, 8]));
        var query = message.ToArray();
        query.CopyTo(frame.Buffer, 0);
        frame.Length = query.Length;

        pipeline.Handle(frame);
        await PipelineTests.WaitUntil(() => sink.Sent == 1);
        pipeline.Handle(frame);
        Assert.Equal(2, sink.Sent);

        int handled = 0;
        long allocated = AllocationProbe.BytesPerRound(() => { handled++; pipeline.Handle(frame); }, callsPerRound: 100);
        Assert.Equal(2 + handled, sink.Sent);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task A_batchs_misses_are_held_until_released_and_holding_them_around_hits_allocates_nothing()
    {
        var pipeline = PipelineAnswering("www.example.com. 300 A 192.0.2.80", "other.example.com. 300 A 192.0.2.81");
        var sink = new CountingSink();
        var frame = Frame.CreateReusable(new byte[ushort.MaxValue], Transport.Udp, sink, new IPEndPoint(IPAddress.Loopback, 40000));
        var query = DnsTestClient.Query("www.example.com", udpPayload: 1232).ToArray();
        query.CopyTo(frame.Buffer, 0);
        frame.Length = query.Length;

        pipeline.HoldMisses();
        pipeline.Handle(frame); // a miss: detached, counted in flight, but not scheduled yet
        Assert.Equal(1, pipeline.InFlight);
        Assert.Equal(0, pipeline.Scheduler!.InFlight + pipeline.Scheduler.Queued);
        Thread.Sleep(50); // not an await: holding is per thread, as a receive loop's batch is
        Assert.Equal(0, sink.Sent);
        pipeline.ReleaseMisses();
        await PipelineTests.WaitUntil(() => sink.Sent == 1);

        pipeline.Handle(frame); // the first hit on this thread allocates its reply buffer
        int handled = 0;
        long allocated = AllocationProbe.BytesPerRound(() =>
        {
            pipeline.HoldMisses();
            handled++;
            pipeline.Handle(frame);
            pipeline.ReleaseMisses();
        }, callsPerRound: 100);
        Assert.Equal(2 + handled, sink.Sent);
        Assert.Equal(0, allocated);
    }
}

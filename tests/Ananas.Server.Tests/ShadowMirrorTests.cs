using System.Net;
using System.Text;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Zones;
using Ananas.Server.Frames;
using Ananas.Server.Hosting;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;
using Ananas.Server.Shadow;
using Ananas.Server.Tests.Fakes;
using Ananas.Tests.Shared;

namespace Ananas.Server.Tests;

/// <summary>Live shadow mode: a sample of answered questions is compared with a reference resolver, off the query path.</summary>
public sealed class ShadowMirrorTests
{
    private static FakeAuthority World() => new(
        "www.example.com. 300 A 192.0.2.80",
        "planted.example.com. 300 A 192.0.2.66",
        "other.example.com. 300 A 192.0.2.81");

    [Fact]
    public async Task A_live_difference_is_counted_by_field_in_metrics_and_written_to_the_query_log()
    {
        await using var target = new TestServer(World());
        await using var reference = new TestServer(World());
        target.Pipeline.SetHandlers([new DelegateHandler((_, c, _) =>
        {
            if (!c.Query.Question.Name.Equals(DnsName.Parse("planted.example.com"))) return new(PhaseVerdict.Continue);
            var response = c.CreateResponse();
            response.Set(HeaderFlags.RA);
            response.Answers.Add(RecordText.Parse("planted.example.com. 60 IN A 192.0.2.99", DnsName.Root));
            return new(PhaseVerdict.Answer);
        }, Phase.Request)]);
        var output = new MemoryStream();
        var log = new QueryLog(output, ownsOutput: false);
        target.Pipeline.QueryLog = log;
        await using var mirror = new ShadowMirror(reference.Udp.LocalEndPoint, sample: 1, TimeSpan.FromSeconds(2), () => log);
        target.Pipeline.Shadow = mirror;
        target.Pipeline.AddTap(mirror.Tap);

        foreach (var name in new[] { "www.example.com", "other.example.com", "planted.example.com", "www.example.com" })
            await DnsTestClient.UdpAsync(target.Udp.LocalEndPoint, DnsTestClient.Query(name));
        await PipelineTests.WaitUntil(() => mirror.Agreed + mirror.Different + mirror.Unstable + mirror.Skipped >= 4);

        Assert.Equal(4, mirror.Tap.Sampled);
        Assert.Equal(3, mirror.Agreed);
        Assert.Equal(1, mirror.Different);
        Assert.Equal(1, mirror.ByField(Difference.AnswerRrsets));
        Assert.Equal(0, mirror.ByField(Difference.Rcode));
        var metrics = MetricsListener.Render(target.Pipeline);
        Assert.Contains("ananas_shadow_differences_total{field=\"answerrrsets\"} 1\n", metrics);
        Assert.Contains("ananas_shadow_agreed_total 3\n", metrics);
        await log.DisposeAsync();
        var shadowLines = Encoding.UTF8.GetString(output.ToArray()).Split('\n').Where(l => l.Contains("\"shadow\"")).ToList();
        var line = Assert.Single(shadowLines);
        Assert.Contains("\"qname\":\"planted.example.com.\"", line);
        Assert.Contains("\"shadow\":\"answerrrsets\"", line);
        Assert.Contains("192.0.2.66", line);
    }

    [Fact]
    public async Task A_full_mirror_queue_drops_and_counts_samples_instead_of_waiting()
    {
        var gate = new TaskCompletionSource();
        await using var tap = new SampledTap(1, capacity: 4, batch: 1, _ => gate.Task.Wait());
        var (frame, reply) = Reply();

        try
        {
            for (int i = 0; i < 100; i++) tap.Offer(frame, reply, byPhase: false);

            // The consumer holds one sample, the queue four: the other 95 were dropped without blocking the caller.
            Assert.InRange(tap.Dropped, 95, 96);
            Assert.Equal(100, tap.Sampled + tap.Dropped);
        }
        finally
        {
            // Released whatever the outcome: disposing the tap waits for its consumer.
            gate.SetResult();
        }
    }

    [Fact]
    public async Task A_one_percent_tap_samples_about_one_percent_and_a_cache_hit_through_it_allocates_nothing()
    {
        long consumed = 0;
        var tap = new SampledTap(0.01, capacity: 100_000, batch: 64, batch => Interlocked.Add(ref consumed, batch.Length));
        var (frame, reply) = Reply();
        // Steady state: the pool holds buffers the consumer has returned.
        for (int i = 0; i < 3000; i++) tap.Offer(frame, reply, byPhase: false);
        SpinWait.SpinUntil(() => Interlocked.Read(ref consumed) == tap.Sampled, TimeSpan.FromSeconds(5));

        long allocated = AllocationProbe.BytesPerRound(() => tap.Offer(frame, reply, byPhase: false), callsPerRound: 1000);
        long before = tap.Sampled;
        for (int i = 0; i < 100_000; i++) tap.Offer(frame, reply, byPhase: false);

        Assert.Equal(0, allocated);
        Assert.InRange(tap.Sampled - before, 800, 1200);
        await tap.DisposeAsync();
    }

    [Fact]
    public async Task Taps_on_one_thread_keep_their_own_countdowns_however_many_taps_the_process_has_made()
    {
        var (frame, reply) = Reply();
        // Sparse taps (one sample in ~1,000) made and offered first; then a tap that takes every reply, made after
        // more taps than a fixed table of per-thread slots would hold.
        var sparse = new List<SampledTap>();
        for (int i = 0; i < 16; i++)
        {
            var tap = new SampledTap(0.001, capacity: 16, batch: 1, _ => { });
            tap.Offer(frame, reply, byPhase: false);
            tap.Offer(frame, reply, byPhase: false);
            sparse.Add(tap);
        }
        await using var every = new SampledTap(1, capacity: 1000, batch: 1, _ => { });
        for (int i = 0; i < 100; i++) every.Offer(frame, reply, byPhase: false);
        Assert.Equal(100, every.Sampled + every.Dropped);
        foreach (var tap in sparse) await tap.DisposeAsync();
    }

    [Fact]
    public async Task Samples_reach_the_consumer_in_batches_not_one_hand_off_each()
    {
        long consumed = 0, batches = 0;
        await using var tap = new SampledTap(1, capacity: 1000, batch: 64, batch =>
        {
            Interlocked.Increment(ref batches);
            Interlocked.Add(ref consumed, batch.Length);
        });
        var (frame, reply) = Reply();

        for (int i = 0; i < 320; i++) tap.Offer(frame, reply, byPhase: false);
        await PipelineTests.WaitUntil(() => Interlocked.Read(ref consumed) == 320);

        // 320 samples offered at once: a handful of batches (a hand-off per sample costs a few context switches).
        Assert.InRange(Interlocked.Read(ref batches), 5, 320 / SampledTap.WakeAt * 2);
    }

    [Fact]
    public async Task A_lone_sample_reaches_the_consumer_within_the_taps_longest_delay()
    {
        var consumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var tap = new SampledTap(1, capacity: 16, batch: 64, _ => consumed.TrySetResult());
        var (frame, reply) = Reply();
        await Task.Delay(50); // the tap's thread asleep with nothing queued

        var clock = System.Diagnostics.Stopwatch.StartNew();
        tap.Offer(frame, reply, byPhase: false);
        await consumed.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.InRange(clock.Elapsed, TimeSpan.Zero, SampledTap.MaxDelay + TimeSpan.FromSeconds(2));
    }

    private static (Frame, byte[]) Reply()
    {
        var frame = Frame.CreateReusable(new byte[512], Transport.Udp, new NullSink(), new IPEndPoint(IPAddress.Loopback, 5000));
        var query = DnsTestClient.Query("www.example.com").ToArray();
        query.CopyTo(frame.Buffer, 0);
        frame.Length = query.Length;
        return (frame, DnsTestClient.Query("www.example.com").CreateResponse().ToArray());
    }

    private sealed class NullSink : IReplySink
    {
        public CancellationToken ClientGone => CancellationToken.None;
        public int MaxReplySize(int clientUdpPayload) => 1232;
        public void Send(Frame frame, ReadOnlySpan<byte> reply) { }
        public void Drop(Frame frame) { }
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Conductor;
using Ananas.Server.Configuration;
using Ananas.Server.Frames;
using Ananas.Server.Hosting;
using Ananas.Server.Pipeline;

namespace Ananas.Server.WarmUp;

/// <summary>What a start-up warm-up did (<see cref="StartupWarmUp"/>); <see cref="Failure"/> is set when it stopped on an error.</summary>
/// <param name="Signed">Queries sent with the DO bit; <paramref name="Secure"/>: replies with the AD bit (validated answers).</param>
public sealed record WarmUpReport(int Passes, int Queries, int Replies, int Failed, int Signed, int Secure, int MethodsCompiled, TimeSpan JitTime,
    TimeSpan Elapsed, string Stopped, string? Failure = null);

/// <summary>
/// Before <c>serve</c> opens its listeners, replays scripted resolutions in-process through the real hot paths, so
/// that the runtime compiles them (and tiers them up) before the first client instead of during its first seconds:
/// UDP-style frames into a <see cref="QueryPipeline"/>, the scheduler and lanes, the recursor iterating through its
/// <see cref="IExchanger"/> against <see cref="WarmUpAuthority"/> (a signed in-memory hierarchy: referrals, DS,
/// DNSKEY, wildcard, NXDOMAIN, NODATA and CNAME answers, validated), the record and answer caches, answer building,
/// and the same queries again as cache hits. Each pass gets its own pipeline, caches and server statistics, made for
/// it and dropped after it: the server's caches, counters, query log and upstream are never touched, and no packet
/// is sent. It runs until the JIT goes quiet (two passes in a row compile almost nothing) or the budget is spent.
/// </summary>
public static class StartupWarmUp
{
    /// <summary>Child zones of the warm-up hierarchy: each pass resolves into every one of them from an empty cache.</summary>
    private const int Zones = 24;

    /// <summary>Frames handed to the pipeline at once (one receive batch); spread over a few client addresses.</summary>
    private const int Batch = 32;

    /// <summary>A pass that compiles at most this many methods counts as quiet.</summary>
    private const int QuietMethods = 2;

    private const int MaxPasses = 1000;

    /// <summary>How long past its budget the start waits for the warm-up to stop (it stops at its next check).</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(500);

    /// <summary>Runs the warm-up for <paramref name="config"/> within <paramref name="budget"/>. Never throws: a failure is in the report.</summary>
    /// <param name="passStarting">Called before each pass with its number (tests make it fail).</param>
    public static async Task<WarmUpReport> RunAsync(ServerConfig config, TimeSpan budget, CancellationToken cancellationToken, Action<int>? passStarting = null)
    {
        var started = Stopwatch.StartNew();
        long methodsBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var jitBefore = System.Runtime.JitInfo.GetCompilationTime();
        var tally = new Tally();
        int passes = 0;
        string stopped = "budget";
        string? failure = null;
        // The budget bounds everything, the keys and signatures included (slow on a starved core).
        using var within = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        within.CancelAfter(budget);
        try
        {
            var clock = SystemClock.Instance;
            using var authority = new WarmUpAuthority(Zones, clock.UtcNow, within.Token);
            var anchors = new Resolver.Dnssec.TrustAnchors();
            anchors.Add(authority.RootDnskey);
            var options = ResolverStackBuilder.RecursorOptions(config) with
            {
                RootHints = authority.Hints,
                TrustAnchors = anchors,
                NegativeTrustAnchors = [],
                ForwardZones = [],
                StubZones = [],
                LocalZones = LocalZones.None,
                CacheCapacityBytes = 16 << 20,
                UseIPv4 = true, // the hierarchy's servers have IPv4 addresses, whatever resolver.ipv4 says
                Trace = null,
            };
            var pipelineOptions = ResolverStackBuilder.PipelineOptions(config) with { Access = AccessList.Everyone };
            int quiet = 0;
            while (started.Elapsed < budget)
            {
                if (passes == MaxPasses)
                {
                    stopped = "pass limit";
                    break;
                }
                passStarting?.Invoke(passes);
                within.Token.ThrowIfCancellationRequested();
                long before = System.Runtime.JitInfo.GetCompiledMethodCount();
                await PassAsync(config, options, pipelineOptions, authority, passes, tally, within.Token).ConfigureAwait(false);
                passes++;
                quiet = System.Runtime.JitInfo.GetCompiledMethodCount() - before <= QuietMethods ? quiet + 1 : 0;
                if (quiet == 2)
                {
                    stopped = "the JIT went quiet";
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (within.IsCancellationRequested)
        {
            stopped = cancellationToken.IsCancellationRequested ? "cancelled" : "budget";
        }
        catch (Exception e)
        {
            stopped = "failed";
            failure = e.Message;
        }
        // The passes' caches and messages are garbage now: give their memory back before the server's own grows (not
        // once the start has gone on without waiting: a blocking collection would pause the first clients).
        if (started.Elapsed < budget + Grace / 2) GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return new WarmUpReport(passes, tally.Queries, tally.Replies, tally.Failed, tally.Signed, tally.Secure,
            (int)(System.Runtime.JitInfo.GetCompiledMethodCount() - methodsBefore), System.Runtime.JitInfo.GetCompilationTime() - jitBefore, started.Elapsed, stopped, failure);
    }

    /// <summary>One pass: a fresh resolver stack and pipeline; every zone's questions as misses, then again as hits.</summary>
    private static async Task PassAsync(ServerConfig config, RecursorOptions options, PipelineOptions pipelineOptions, WarmUpAuthority authority, int pass,
        Tally tally, CancellationToken cancellationToken)
    {
        var clock = SystemClock.Instance;
        var selector = new RttServerSelector(new InfrastructureCache(UpstreamSettings.Infrastructure(config), clock), SecureRandom.Instance);
        var stack = ResolverStack.Create(options, clock, selector);
        var answers = new AnswerCache(new AnswerCacheOptions { Storage = new CacheOptions { CapacityBytes = 4 << 20 } }, clock);
        var pipeline = new QueryPipeline(pipelineOptions, answers, stack.Recursor, authority, clock);
        var sink = new ReplySink();
        var frames = new Frame[Batch];
        var counts = pipeline.Counters.AddShare();
        for (int i = 0; i < Batch; i++)
        {
            frames[i] = Frame.CreateReusable(512, Transport.Udp, sink, AddressFamily.InterNetwork); // the scripted queries are short
            frames[i].Counts = counts;
        }
        var questions = Questions(authority, pass);
        try
        {
            for (int round = 0; round < 2; round++) // misses, then the same questions answered from the cache
            {
                for (int first = 0; first < questions.Count && !cancellationToken.IsCancellationRequested; first += Batch)
                {
                    int count = Math.Min(Batch, questions.Count - first);
                    sink.Expect(count);
                    pipeline.HoldMisses();
                    try
                    {
                        for (int i = 0; i < count; i++)
                        {
                            Fill(frames[i], questions[first + i], (ushort)(first + i), first + i);
                            if (questions[first + i].Edns == 2) tally.Signed++;
                        }
                        for (int i = 0; i < count; i++) pipeline.Handle(frames[i]);
                    }
                    finally
                    {
                        pipeline.ReleaseMisses();
                    }
                    tally.Queries += count;
                    await sink.Done.WaitAsync(config.QueryTimeout + TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            tally.Replies += sink.Replies;
            tally.Failed += sink.Failed;
            tally.Secure += sink.Secure;
            await pipeline.DrainAsync(cancellationToken.IsCancellationRequested ? TimeSpan.Zero : TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Per zone: a new name (answered by the wildcard in every other zone, else NXDOMAIN), its AAAA, an existing
    /// name, a type it lacks (NODATA) and an alias (CNAME); a third each without EDNS, with EDNS, and with DO.
    /// </summary>
    private static List<(DnsName Name, RRType Type, int Edns)> Questions(WarmUpAuthority authority, int pass)
    {
        var list = new List<(DnsName, RRType, int)>(authority.Children.Count * 5);
        for (int i = 0; i < authority.Children.Count; i++)
        {
            var zone = authority.Children[i];
            var fresh = zone.Prepend($"n{pass}x{i}");
            list.Add((fresh, RRType.A, i % 3));
            list.Add((fresh, RRType.AAAA, (i + 1) % 3));
            list.Add((zone.Prepend("www"), RRType.A, (i + 2) % 3));
            list.Add((zone.Prepend("www"), RRType.AAAA, i % 3));
            list.Add((zone.Prepend("alias"), RRType.A, (i + 1) % 3));
        }
        return list;
    }

    /// <summary>Fills a reusable frame as a UDP receive loop does: the datagram, the client's socket address, the arrival time.</summary>
    private static void Fill(Frame frame, (DnsName Name, RRType Type, int Edns) question, ushort id, int client)
    {
        var query = DnsMessage.CreateQuery(id, question.Name, question.Type, dnssecOk: question.Edns == 2);
        if (question.Edns == 0) query.Edns = null;
        frame.Length = query.WriteTo(frame.Buffer);
        var address = new IPEndPoint(new IPAddress([127, 0, 0, (byte)(1 + client % 4)]), 40000 + client).Serialize();
        address.Buffer.Span.CopyTo(frame.Peer!.Buffer.Span);
        frame.ResetEndPoint();
        frame.Address = ClientAddress.From(frame.Peer);
        frame.ArrivalTimestamp = Stopwatch.GetTimestamp();
    }

    private sealed class Tally
    {
        public int Queries;
        public int Replies;
        public int Failed;
        public int Signed;
        public int Secure;
    }

    /// <summary>Where the warm-up's replies go: counted (SERVFAIL or dropped as failed), then thrown away.</summary>
    private sealed class ReplySink : IReplySink
    {
        private int _waiting;
        private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Replies;
        public int Failed;
        public int Secure;

        public Task Done => _done.Task;

        public void Expect(int count)
        {
            _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _waiting, count);
        }

        public int MaxReplySize(int clientUdpPayload) => QueryPipeline.UdpLimit(clientUdpPayload, 1232);

        public void Send(Frame frame, ReadOnlySpan<byte> reply)
        {
            Interlocked.Increment(ref Replies);
            if (reply.Length < 4 || (Rcode)(reply[3] & 0x0F) is not (Rcode.NoError or Rcode.NXDomain)) Interlocked.Increment(ref Failed);
            else if ((reply[3] & 0x20) != 0) Interlocked.Increment(ref Secure); // AD
            Answered();
        }

        public void Drop(Frame frame)
        {
            Interlocked.Increment(ref Failed);
            Answered();
        }

        private void Answered()
        {
            if (Interlocked.Decrement(ref _waiting) == 0) _done.TrySetResult();
        }

        public CancellationToken ClientGone => CancellationToken.None;
    }
}

using System.Diagnostics;
using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Conductor;
using Ananas.Resolver.Tests.Fakes;
using Xunit.Abstractions;

namespace Ananas.Resolver.Tests.Conductor;

/// <summary>Timing-sensitive socket tests run one class at a time.</summary>
[CollectionDefinition("Loopback sockets", DisableParallelization = true)]
public sealed class LoopbackSocketsCollection;

/// <summary>
/// The conductor over real loopback sockets, through the real recursor, against a hierarchy of fault-injecting
/// responders. Bounded: every responder stops within a minute, and every test asserts an elapsed-time bound.
/// </summary>
[Collection("Loopback sockets")]
public sealed class ConductorTests(ITestOutputHelper output)
{
    private static DnsMessage ClientQuery(string name, RRType type = RRType.A) =>
        DnsMessage.CreateQuery((ushort)Random.Shared.Next(0x10000), DnsName.Parse(name), type);

    private static async Task<DnsMessage> Resolve(Recursor recursor, Resolver.Conductor.Conductor conductor, string name, RRType type = RRType.A)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var response = await recursor.ResolveAsync(new Request(ClientQuery(name, type)), conductor, timeout.Token);
        return response.Message;
    }

    private static void AssertNoPoison(DnsMessage message)
    {
        foreach (var section in new[] { message.Answers, message.Authority, message.Additional })
            foreach (var rr in section)
                Assert.False(rr.Data is AddressData a && a.Address.Equals(FaultyResponder.Poison), $"spoofed record accepted: {rr}");
    }

    [Fact]
    public async Task Resolves_through_a_loopback_hierarchy()
    {
        await using var lab = LoopbackHierarchy.Start();
        using var conductor = LoopbackHierarchy.Conductor();
        var recursor = lab.Recursor(conductor);
        var answer = await Resolve(recursor, conductor, "www.example.test.");
        Assert.Equal(Rcode.NoError, answer.Rcode);
        Assert.Equal(["www.example.test A 192.0.2.80"], Answers.Lines(answer.Answers));
        Assert.True(conductor.Metrics.Total.Responses >= 3);
        Assert.NotNull(conductor.Infrastructure.GetSmoothedRtt(lab.Root.Address));
        Assert.Equal(EdnsSupport.Supported, conductor.Infrastructure.GetEdnsSupport(lab.Root.Address));
    }

    public enum Fault
    {
        Drops,
        Delay,
        Truncation,
        GarbageFirst,
        SpoofFromWrongPort,
        SpoofWrongId,
        SpoofWrongQuestion,
        FormErrToEdns,
    }

    [Theory]
    [InlineData(Fault.Drops)]
    [InlineData(Fault.Delay)]
    [InlineData(Fault.Truncation)]
    [InlineData(Fault.GarbageFirst)]
    [InlineData(Fault.SpoofFromWrongPort)]
    [InlineData(Fault.SpoofWrongId)]
    [InlineData(Fault.SpoofWrongQuestion)]
    [InlineData(Fault.FormErrToEdns)]
    public async Task Resolution_survives_faults_and_never_accepts_spoofed_answers(Fault fault)
    {
        await using var lab = LoopbackHierarchy.Start();
        foreach (var server in new[] { lab.Root, lab.Tld }.Concat(lab.Example))
        {
            var f = server.Faults;
            switch (fault)
            {
                case Fault.Drops: if (lab.Example.Contains(server)) f.DropPercent = 40; break;
                case Fault.Delay: f.Delay = TimeSpan.FromMilliseconds(60); break;
                case Fault.Truncation: f.TruncateUdp = true; break;
                case Fault.GarbageFirst: f.GarbageFirst = true; break;
                case Fault.SpoofFromWrongPort: f.SpoofFromWrongPort = true; break;
                case Fault.SpoofWrongId: f.SpoofWrongId = true; break;
                case Fault.SpoofWrongQuestion: f.SpoofWrongQuestion = true; break;
                case Fault.FormErrToEdns: f.FormErrToEdns = true; break;
            }
        }
        using var conductor = LoopbackHierarchy.Conductor();
        var recursor = lab.Recursor(conductor);
        var started = Stopwatch.GetTimestamp();
        for (int i = 0; i < 5; i++)
        {
            var answer = await Resolve(recursor, conductor, $"host{i}.example.test.");
            AssertNoPoison(answer);
            Assert.Equal(Rcode.NoError, answer.Rcode);
            Assert.Equal([$"host{i}.example.test A 192.0.2.{i + 1}"], Answers.Lines(answer.Answers));
        }
        var www = await Resolve(recursor, conductor, "www.example.test.");
        AssertNoPoison(www);
        Assert.Equal(["www.example.test A 192.0.2.80"], Answers.Lines(www.Answers));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var total = conductor.Metrics.Total;
        output.WriteLine($"{fault}: {elapsed.TotalMilliseconds:0} ms, queries {total.Queries}, timeouts {total.Timeouts}, spoof drops {total.SpoofDrops}, TCP fallbacks {total.TcpFallbacks}, EDNS fallbacks {total.EdnsFallbacks}");
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"took {elapsed}");

        switch (fault)
        {
            case Fault.Truncation:
                Assert.True(total.TcpFallbacks > 0);
                Assert.True(lab.Root.TcpQueries > 0 && lab.Example.Sum(s => s.TcpQueries) > 0);
                break;
            case Fault.SpoofWrongId or Fault.SpoofWrongQuestion:
                Assert.True(total.SpoofDrops > 0, "the spoof counter did not move");
                break;
            case Fault.SpoofFromWrongPort:
                // The connected UDP socket lets only the server's address and port in: the kernel drops the rest.
                Assert.Equal(0, total.Timeouts);
                break;
            case Fault.FormErrToEdns:
                Assert.True(total.EdnsFallbacks > 0);
                Assert.Equal(EdnsSupport.NotSupported, conductor.Infrastructure.GetEdnsSupport(lab.Root.Address));
                break;
            case Fault.Drops:
                // Every dropped datagram is one timeout (then a retransmission or the other server), no more.
                Assert.Equal(lab.Example.Sum(s => s.Dropped), total.Timeouts);
                break;
        }
    }

    [Fact]
    public async Task Garbage_only_is_a_malformed_response()
    {
        await using var server = new FaultyResponder();
        server.Faults.GarbageOnly = true;
        using var conductor = LoopbackHierarchy.Conductor(new ConductorOptions { UdpAttempts = 1 },
            new InfrastructureCacheOptions { InitialRto = TimeSpan.FromMilliseconds(150) });
        var query = DnsMessage.CreateQuery(0, DnsName.Parse("www.example.test."), RRType.A, recursionDesired: false);
        var result = await conductor.ExchangeAsync(new ExchangeRequest(query, server.EndPoint, UpstreamTransport.Udp, DnsName.Root), CancellationToken.None);
        Assert.Equal(ExchangeStatus.MalformedResponse, result.Status);
        Assert.Null(result.Response);
    }

    [Fact]
    public async Task A_thousand_identical_requests_send_one_query()
    {
        await using var server = new FaultyResponder();
        server.Zones.Add(new FakeZone("example.test.", "@ SOA ns hostmaster 1 7200 3600 1209600 300", "www A 192.0.2.80"));
        server.Faults.Delay = TimeSpan.FromMilliseconds(300);
        // A 3 s retransmission timeout: on a loaded machine the 300 ms reply can arrive after the default 400 ms
        // RTO, and the retransmission would count as a second query. Deduplication is what is tested here.
        var rto = TimeSpan.FromSeconds(3);
        using var conductor = LoopbackHierarchy.Conductor(infra: new InfrastructureCacheOptions { InitialRto = rto, MaxRto = rto });
        var zone = DnsName.Parse("example.test.");
        var tasks = new Task<ExchangeResult>[1000];
        for (int i = 0; i < tasks.Length; i++)
        {
            // Each request carries its own message, with a name in another letter case: still the same query.
            var name = i % 2 == 0 ? "www.example.test." : "WWW.Example.TEST.";
            var query = DnsMessage.CreateQuery(0, DnsName.Parse(name), RRType.A, recursionDesired: false);
            tasks[i] = conductor.ExchangeAsync(new ExchangeRequest(query, server.EndPoint, UpstreamTransport.Udp, zone), CancellationToken.None).AsTask();
        }
        var results = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(10));
        output.WriteLine($"upstream queries: {server.Queries}, dedup hits: {conductor.Metrics.DedupHits}");
        Assert.Equal(1, server.Queries);
        Assert.Equal(999, conductor.Metrics.DedupHits);
        Assert.All(results, r => Assert.Same(results[0], r));
        Assert.Equal(ExchangeStatus.Response, results[0].Status);
        Assert.Equal(0, conductor.InFlight);

        // Afterwards the next request is a new query.
        var again = DnsMessage.CreateQuery(0, DnsName.Parse("www.example.test."), RRType.A, recursionDesired: false);
        var next = await conductor.ExchangeAsync(new ExchangeRequest(again, server.EndPoint, UpstreamTransport.Udp, zone), CancellationToken.None);
        Assert.Equal(ExchangeStatus.Response, next.Status);
        Assert.Equal(2, server.Queries);
    }

    [Fact]
    public async Task A_full_wait_queue_refuses_at_once()
    {
        await using var server = new FaultyResponder();
        server.Zones.Add(new FakeZone("example.test.", "@ SOA ns hostmaster 1 7200 3600 1209600 300", "www A 192.0.2.80"));
        server.Faults.Delay = TimeSpan.FromMilliseconds(300);
        using var conductor = LoopbackHierarchy.Conductor(new ConductorOptions { MaxWaitersPerQuery = 10, MaxInFlightQueries = 2 });
        var zone = DnsName.Parse("example.test.");
        ExchangeRequest Request(string name) =>
            new(DnsMessage.CreateQuery(0, DnsName.Parse(name), RRType.A, recursionDesired: false), server.EndPoint, UpstreamTransport.Udp, zone);
        var tasks = new List<Task<ExchangeResult>>();
        for (int i = 0; i < 20; i++) tasks.Add(conductor.ExchangeAsync(Request("www.example.test."), CancellationToken.None).AsTask());
        tasks.Add(conductor.ExchangeAsync(Request("a.example.test."), CancellationToken.None).AsTask());
        var third = conductor.ExchangeAsync(Request("b.example.test."), CancellationToken.None);
        Assert.True(third.IsCompleted, "overflow must not wait");
        Assert.Equal(ExchangeStatus.Refused, (await third).Status);
        var results = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(11, results.Count(r => r.Status == ExchangeStatus.Response && r.Response!.Question.Name.Equals(DnsName.Parse("www.example.test."))));
        Assert.Equal(9, results.Count(r => r.Status == ExchangeStatus.Refused));
        Assert.Equal(10, conductor.Metrics.DedupOverflows);
    }

    [Fact]
    public async Task Selection_prefers_the_fastest_server_and_moves_away_when_it_drops()
    {
        await using var lab = LoopbackHierarchy.Start(exampleServers: 3);
        // Delays far apart compared with scheduling noise on a loaded 2-core machine (a 5 ms timer can fire at 20 ms),
        // so that the passed-over aging of the middle server cannot catch up with a noisy fastest one between samples.
        var delays = new[] { 5, 150, 500 };
        for (int i = 0; i < 3; i++) lab.Example[i].Faults.Delay = TimeSpan.FromMilliseconds(delays[i]);
        // A floor on the RTO above scheduling noise on a busy 2-core machine: a late 5 ms answer is not a loss.
        using var conductor = LoopbackHierarchy.Conductor(infra: new InfrastructureCacheOptions { MinRto = TimeSpan.FromMilliseconds(150) });
        var selector = conductor.CreateSelector(new SeededRandom(7));
        var zone = DnsName.Parse("example.test.");
        var servers = lab.Example.Select(s => s.EndPoint).ToList();
        var started = Stopwatch.GetTimestamp();

        // Asks like the recursor does: in the selector's order, the next server when one fails; returns who answered.
        async Task<int> AskAsync(int n)
        {
            var order = new List<IPEndPoint>(servers);
            selector.Order(order, zone);
            foreach (var server in order)
            {
                var query = DnsMessage.CreateQuery(0, DnsName.Parse($"host{n % 64}.example.test."), RRType.A, recursionDesired: false);
                var result = await conductor.ExchangeAsync(new ExchangeRequest(query, server, UpstreamTransport.Udp, zone), CancellationToken.None);
                if (result.Status == ExchangeStatus.Response) return servers.IndexOf(server);
            }
            return -1;
        }

        for (int i = 0; i < 10; i++) await AskAsync(i);
        var answeredBy = new int[3];
        const int rounds = 100;
        for (int i = 0; i < rounds; i++)
        {
            int who = await AskAsync(i);
            if (who >= 0) answeredBy[who]++;
        }
        double share = answeredBy[0] / (double)rounds;
        foreach (var s in conductor.Infrastructure.Snapshot()) output.WriteLine($"{s.Address}: srtt {s.SmoothedRtt?.TotalMilliseconds:0.0} ms, rto {s.Rto.TotalMilliseconds:0} ms, timeouts {s.Timeouts}, failures {s.ConsecutiveFailures}");
        output.WriteLine($"warm: fastest {answeredBy[0]}, middle {answeredBy[1]}, slow {answeredBy[2]} of {rounds} ({share:P0}) in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms");
        Assert.True(share >= 0.9, $"fastest answered {share:P0}");

        lab.Example[0].Faults.DropPercent = 100;
        var after = new int[3];
        for (int i = 0; i < 40; i++)
        {
            int who = await AskAsync(i);
            if (i >= 20 && who >= 0) after[who]++;
        }
        output.WriteLine($"dropping: last 20 answered by fastest {after[0]}, middle {after[1]}, slow {after[2]}; total {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms");
        Assert.Equal(0, after[0]);
        Assert.True(after[1] >= 16, $"middle answered {after[1]} of 20");
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(30)); // ~11 s here; minutes would mean waiting out timeouts
    }

    [Fact]
    public async Task All_servers_silent_gives_servfail_with_ede_22_and_then_fails_fast()
    {
        await using var lab = LoopbackHierarchy.Start();
        foreach (var server in lab.Example) server.Faults.DropPercent = 100;
        using var conductor = LoopbackHierarchy.Conductor(infra: new InfrastructureCacheOptions { InitialRto = TimeSpan.FromMilliseconds(100) });
        var recursor = lab.Recursor(conductor);

        var started = Stopwatch.GetTimestamp();
        var first = await Resolve(recursor, conductor, "a.example.test.");
        var firstTime = Stopwatch.GetElapsedTime(started);
        Assert.Equal(Rcode.ServFail, first.Rcode);
        Assert.Equal(EdeCode.NoReachableAuthority, Answers.Ede(first)?.InfoCode);
        Assert.True(firstTime < TimeSpan.FromSeconds(3), $"first took {firstTime}");

        await Resolve(recursor, conductor, "b.example.test."); // enough failures in a row: both servers held down
        int sent = lab.Example.Sum(s => s.UdpQueries);
        started = Stopwatch.GetTimestamp();
        var third = await Resolve(recursor, conductor, "c.example.test.");
        var thirdTime = Stopwatch.GetElapsedTime(started);
        output.WriteLine($"first {firstTime.TotalMilliseconds:0} ms, held down {thirdTime.TotalMilliseconds:0} ms");
        Assert.Equal(Rcode.ServFail, third.Rcode);
        Assert.Equal(EdeCode.NoReachableAuthority, Answers.Ede(third)?.InfoCode);
        Assert.True(thirdTime < TimeSpan.FromSeconds(1), $"held-down servers took {thirdTime}"); // the packet count below is the sharp check
        Assert.Equal(sent, lab.Example.Sum(s => s.UdpQueries)); // no packet to held-down servers
        Assert.True(conductor.Metrics.Total.HeldDownSkips > 0);
    }

    [Fact]
    public async Task Closed_ports_fail_fast_with_EDE_23_network_error()
    {
        await using var lab = LoopbackHierarchy.Start(exampleServers: 0, deadExampleServers: 2);
        using var conductor = LoopbackHierarchy.Conductor();
        var recursor = lab.Recursor(conductor);
        var started = Stopwatch.GetTimestamp();
        var answer = await Resolve(recursor, conductor, "www.example.test.");
        var elapsed = Stopwatch.GetElapsedTime(started);
        Assert.Equal(Rcode.ServFail, answer.Rcode);
        Assert.Equal(EdeCode.NetworkError, Answers.Ede(answer)?.InfoCode); // RFC 8914 §4.24: the network said no
        // The sharp check is that no exchange waited for a timeout (the ICMP port-unreachable ended each at once);
        // the time bound only catches a hang (a loaded CI VM has taken 0.64 s for what takes 10 ms here).
        Assert.Equal(0, conductor.Metrics.Total.Timeouts);
        Assert.True(conductor.Metrics.Total.NetworkErrors >= 2);
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"took {elapsed}");
    }

    [Fact]
    public async Task Tcp_reuses_and_pipelines_connections_and_closes_idle_ones()
    {
        await using var server = new FaultyResponder();
        server.Zones.Add(new LoopbackZone().Zone);
        server.Faults.Delay = TimeSpan.FromMilliseconds(50);
        using var conductor = LoopbackHierarchy.Conductor(new ConductorOptions { IdleTimeout = TimeSpan.FromMilliseconds(300), MaxConnectionsPerServer = 2 });
        var zone = DnsName.Parse("example.test.");
        var tasks = new Task<ExchangeResult>[50];
        for (int i = 0; i < tasks.Length; i++)
        {
            var query = DnsMessage.CreateQuery(0, DnsName.Parse($"host{i}.example.test."), RRType.A, recursionDesired: false);
            tasks[i] = conductor.ExchangeAsync(new ExchangeRequest(query, server.EndPoint, UpstreamTransport.Tcp, zone), CancellationToken.None).AsTask();
        }
        var results = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(10));
        for (int i = 0; i < results.Length; i++)
        {
            Assert.Equal(ExchangeStatus.Response, results[i].Status);
            Assert.Equal([$"host{i}.example.test A 192.0.2.{i + 1}"], Answers.Lines(results[i].Response!.Answers));
        }
        Assert.Equal(50, server.TcpQueries);
        Assert.InRange(server.TcpConnections, 1, 2);
        Assert.True(conductor.OpenConnections >= 1);
        await Task.Delay(1000);
        Assert.Equal(0, conductor.OpenConnections);
    }

    [Fact]
    public async Task Case_randomisation_is_checked_and_servers_that_lose_case_get_plain_case()
    {
        await using var good = new FaultyResponder();
        await using var bad = new FaultyResponder();
        good.Zones.Add(new LoopbackZone().Zone);
        bad.Zones.Add(new LoopbackZone().Zone);
        bad.Faults.LowercaseQuestion = true;
        using var conductor = LoopbackHierarchy.Conductor(new ConductorOptions { UseCaseRandomisation = true },
            new InfrastructureCacheOptions { InitialRto = TimeSpan.FromMilliseconds(100) });
        var zone = DnsName.Parse("example.test.");
        foreach (var server in new[] { good, bad })
        {
            var query = DnsMessage.CreateQuery(0, DnsName.Parse("www.example.test."), RRType.A, recursionDesired: false);
            var result = await conductor.ExchangeAsync(new ExchangeRequest(query, server.EndPoint, UpstreamTransport.Udp, zone), CancellationToken.None);
            Assert.Equal(ExchangeStatus.Response, result.Status);
            Assert.True(result.Response!.Question.Name.EqualsExactCase(DnsName.Parse("www.example.test.")));
            Assert.Equal(["www.example.test A 192.0.2.80"], Answers.Lines(result.Response.Answers));
        }
        Assert.Equal(Capability.Works, conductor.Infrastructure.GetCasePreservation(good.Address));
        Assert.Equal(Capability.Fails, conductor.Infrastructure.GetCasePreservation(bad.Address));
        Assert.True(conductor.Metrics.For(bad.Address).CaseMismatches > 0);
        Assert.Equal(0, conductor.Metrics.For(good.Address).CaseMismatches);
    }
}

/// <summary>example.test with www and host0..63, for single-server tests.</summary>
public sealed class LoopbackZone
{
    public FakeZone Zone { get; } = new("example.test.",
        [
            "@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
            "www 300 A 192.0.2.80",
            .. Enumerable.Range(0, 64).Select(i => $"host{i} 300 A 192.0.2.{i + 1}"),
        ]);
}

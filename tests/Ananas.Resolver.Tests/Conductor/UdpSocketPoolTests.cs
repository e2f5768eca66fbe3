using System.Net;
using System.Net.Sockets;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Conductor;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests.Conductor;

/// <summary>
/// The conductor's pooled upstream UDP sockets, seen from the servers: which source port each query came from.
/// Bounded: every responder stops within a minute, timeouts are short, loops are counted.
/// </summary>
[Collection("Loopback sockets")]
public sealed class UdpSocketPoolTests
{
    private static Resolver.Conductor.Conductor Conductor(int uses, int attempts = 2, TimeSpan? rto = null) =>
        LoopbackHierarchy.Conductor(
            // A lifetime far longer than any test, so only the use count and the outcomes decide.
            new ConductorOptions { UdpSocketUses = uses, UdpSocketLifetime = TimeSpan.FromMinutes(5), UdpAttempts = attempts },
            // A fixed retransmission timeout: long by default, so a loaded machine does not turn answers into timeouts.
            new InfrastructureCacheOptions { InitialRto = rto ?? TimeSpan.FromSeconds(3), MinRto = rto ?? TimeSpan.FromSeconds(3) });

    private static FaultyResponder Server()
    {
        var server = new FaultyResponder();
        var lines = new List<string> { "@ SOA ns hostmaster 1 7200 3600 1209600 300", "www A 192.0.2.80" };
        for (int i = 0; i < 3; i++) lines.Add($"host{i} A 192.0.2.80");
        for (int wave = 0; wave < 3; wave++)
            for (int i = 0; i < 24; i++) lines.Add($"w{wave}-{i} A 192.0.2.80");
        server.Zones.Add(new FakeZone("example.test.", [.. lines]));
        return server;
    }

    private static Task<ExchangeResult> Ask(Resolver.Conductor.Conductor conductor, FaultyResponder server, string name = "www.example.test.")
    {
        var query = DnsMessage.CreateQuery(0, DnsName.Parse(name), RRType.A, recursionDesired: false);
        return conductor.ExchangeAsync(new ExchangeRequest(query, server.EndPoint, UpstreamTransport.Udp, DnsName.Parse("example.test.")), CancellationToken.None).AsTask();
    }

    [Fact]
    public async Task A_socket_carries_its_number_of_exchanges_with_one_server_then_a_new_port_is_taken()
    {
        await using var server = Server();
        using var conductor = Conductor(uses: 4);
        for (int i = 0; i < 12; i++) Assert.Equal(ExchangeStatus.Response, (await Ask(conductor, server)).Status);

        var ports = server.SourcePorts.ToArray();
        Assert.Equal(12, ports.Length);
        var runs = ports.Chunk(4).ToArray();
        foreach (var run in runs) Assert.True(run.All(p => p == run[0]), string.Join(",", ports));
        Assert.Equal(3, runs.Select(r => r[0]).Distinct().Count());
    }

    [Fact]
    public async Task With_one_use_per_socket_every_exchange_leaves_from_a_new_random_port()
    {
        await using var server = Server();
        using var conductor = Conductor(uses: 1);
        for (int i = 0; i < 20; i++) Assert.Equal(ExchangeStatus.Response, (await Ask(conductor, server)).Status);

        var ports = server.SourcePorts.ToArray();
        // Twenty draws from 64,512 ports: a repeat is a 0.3% chance, two are far less likely.
        Assert.True(ports.Distinct().Count() >= 19, string.Join(",", ports));
        Assert.All(ports, p => Assert.InRange(p, 1024, 65535));
        // Not a sequence (an allocator counting up would put neighbours next to each other).
        int neighbours = ports.Zip(ports.Skip(1), (a, b) => Math.Abs(a - b) <= 16 ? 1 : 0).Sum();
        Assert.True(neighbours <= 2, string.Join(",", ports));
    }

    [Fact]
    public async Task Two_servers_never_share_a_socket()
    {
        await using var a = Server();
        await using var b = Server();
        using var conductor = Conductor(uses: 100);
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(ExchangeStatus.Response, (await Ask(conductor, a)).Status);
            Assert.Equal(ExchangeStatus.Response, (await Ask(conductor, b)).Status);
        }
        var portsA = a.SourcePorts.ToHashSet();
        var portsB = b.SourcePorts.ToHashSet();
        Assert.Single(portsA); // reused with its own server...
        Assert.Single(portsB);
        Assert.Empty(portsA.Intersect(portsB)); // ...and never with the other
    }

    [Fact]
    public async Task A_socket_whose_exchange_timed_out_is_closed_and_the_next_exchange_takes_another_port()
    {
        await using var server = Server();
        server.Faults.IgnoreNext = 1;
        using var conductor = Conductor(uses: 100, attempts: 1, rto: TimeSpan.FromMilliseconds(200));
        Assert.Equal(ExchangeStatus.Timeout, (await Ask(conductor, server)).Status);
        Assert.Equal(ExchangeStatus.Response, (await Ask(conductor, server)).Status);
        Assert.Equal(ExchangeStatus.Response, (await Ask(conductor, server)).Status);

        var ports = server.SourcePorts.ToArray();
        Assert.Equal(3, ports.Length);
        Assert.NotEqual(ports[0], ports[1]); // the timed-out socket did not carry the next query (a late answer could meet it)
        Assert.Equal(ports[1], ports[2]); // the clean one did
        // And it is closed: its port can be bound again (it cannot while the conductor holds it).
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Any, ports[0]));
        using var held = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var inUse = Assert.Throws<SocketException>(() => held.Bind(new IPEndPoint(IPAddress.Any, ports[1])));
        Assert.Equal(SocketError.AddressAlreadyInUse, inUse.SocketErrorCode);
    }

    [Theory]
    [InlineData(nameof(Faults.SpoofWrongId))]
    [InlineData(nameof(Faults.SpoofWrongQuestion))]
    [InlineData(nameof(Faults.SpoofFromWrongPort))]
    public async Task A_forgery_on_a_reused_socket_is_ignored_and_the_real_answer_taken(string fault)
    {
        await using var server = Server();
        using var conductor = Conductor(uses: 100);
        Assert.Equal(ExchangeStatus.Response, (await Ask(conductor, server)).Status);
        switch (fault)
        {
            case nameof(Faults.SpoofWrongId): server.Faults.SpoofWrongId = true; break;
            case nameof(Faults.SpoofWrongQuestion): server.Faults.SpoofWrongQuestion = true; break;
            default: server.Faults.SpoofFromWrongPort = true; break;
        }
        for (int i = 0; i < 3; i++)
        {
            var result = await Ask(conductor, server, $"host{i}.example.test.");
            Assert.Equal(ExchangeStatus.Response, result.Status);
            Assert.Equal([$"host{i}.example.test A 192.0.2.80"], Answers.Lines(result.Response!.Answers));
        }
        Assert.Single(server.SourcePorts.Distinct()); // the forgeries went to the pooled socket itself
        if (fault != nameof(Faults.SpoofFromWrongPort)) Assert.Equal(3, conductor.Metrics.Total.SpoofDrops);
    }

    [Fact]
    public async Task Concurrent_exchanges_on_pooled_sockets_each_get_their_own_answer()
    {
        await using var server = Server();
        server.Faults.Delay = TimeSpan.FromMilliseconds(30); // so the exchanges of one wave overlap
        using var conductor = Conductor(uses: 1000);
        const int Wave = 24;
        for (int wave = 0; wave < 3; wave++)
        {
            var names = Enumerable.Range(0, Wave).Select(i => $"w{wave}-{i}.example.test.").ToArray();
            var results = await Task.WhenAll(names.Select(n => Ask(conductor, server, n)));
            for (int i = 0; i < Wave; i++)
            {
                Assert.Equal(ExchangeStatus.Response, results[i].Status);
                Assert.Equal([$"{names[i].TrimEnd('.')} A 192.0.2.80"], Answers.Lines(results[i].Response!.Answers));
            }
        }
        Assert.Equal(0, conductor.Metrics.Total.Timeouts);
        int distinct = server.SourcePorts.Distinct().Count();
        // Overlapping exchanges hold sockets of their own; later waves reuse the ones the first opened.
        Assert.InRange(distinct, 2, 2 * Wave);
    }

    [Fact]
    public async Task Forged_answers_planted_into_idle_sockets_are_never_read_let_alone_accepted()
    {
        await using var server = Server();
        // Two forgeries after each answer, 500 trials: 1,000 planted into sockets the pool keeps for reuse.
        server.Faults.PlantAfterAnswer = 2;
        using var conductor = LoopbackHierarchy.Conductor(
            new ConductorOptions { UdpSocketUses = 1000, UdpSocketLifetime = TimeSpan.FromMinutes(5), UseCaseRandomisation = true },
            new InfrastructureCacheOptions { InitialRto = TimeSpan.FromSeconds(3), MinRto = TimeSpan.FromSeconds(3) });
        const int Trials = 500;
        for (int trial = 0; trial < Trials; trial++)
        {
            var result = await Ask(conductor, server, $"host{trial % 3}.example.test.");
            Assert.Equal(ExchangeStatus.Response, result.Status);
            Assert.Equal([$"host{trial % 3}.example.test A 192.0.2.80"], Answers.Lines(result.Response!.Answers));
            // The next exchange starts once this one's forgeries are on their way into the idle socket (bounded wait).
            for (int wait = 0; Volatile.Read(ref server.Planted) < 2 * (trial + 1) && wait < 200; wait++) await Task.Delay(5);
            await Task.Delay(1);
        }
        Assert.Equal(2 * Trials, server.Planted);
        // None accepted (every answer above was the real one), and none even reached the reader: a socket that got
        // anything while idle is closed instead of reused, so the forgeries never compete with a real answer.
        Assert.Equal(0, conductor.Metrics.Total.SpoofDrops);
        Assert.Equal(0, conductor.Metrics.Total.CaseMismatches);
    }
}

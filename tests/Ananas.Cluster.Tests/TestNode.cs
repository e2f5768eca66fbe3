using System.Net;
using System.Security.Cryptography;
using Ananas.Dns;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;
using Ananas.Server.Tests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Cluster.Tests;

/// <summary>
/// One resolver node of a test cluster: a pipeline over its own scripted authority (so each node's upstream
/// queries are counted apart), a UDP listener on 127.0.0.1, and cache sharing listening on a random port.
/// </summary>
public sealed class TestNode : IAsyncDisposable
{
    public static readonly byte[] Secret = RandomNumberGenerator.GetBytes(32);

    public static readonly string[] Zone =
    [
        "www.alpha.test. 300 A 192.0.2.1",
        "www.bravo.test. 300 A 192.0.2.2",
        "mail.bravo.test. 300 AAAA 2001:db8::2",
        "www.charlie.test. 300 CNAME www.alpha.test.",
        "www.delta.test. 300 A 192.0.2.4",
        "www.echo.test. 300 TXT \"echo\"",
    ];

    private TestNode(string id, ClusterOptions? options, PipelineOptions? pipeline = null)
    {
        Id = id;
        Authority = new FakeAuthority(Zone);
        var recursor = new Recursor(new RecursorOptions
        {
            RootHints = RootHints.Single(DnsName.Parse("a.root-servers.net."), IPAddress.Parse("198.41.0.4")),
            QnameMinimisation = false,
            UseIPv6 = false,
        }, Clock, new SeededRandom(1), new RecordCache(Clock));
        var answers = new AnswerCache(new AnswerCacheOptions { Storage = new CacheOptions { CapacityBytes = 4 << 20 } }, Clock);
        Pipeline = new QueryPipeline(pipeline ?? new PipelineOptions { Access = AccessList.Default }, answers, recursor, Authority, Clock);
        Udp = new UdpListener(new IPEndPoint(IPAddress.Loopback, 0), Pipeline, new UdpListenerOptions { ThreadsPerSocket = 1 });
        Udp.Start();
        Options = options;
    }

    public string Id { get; }
    public FakeAuthority Authority { get; }
    public VirtualClock Clock { get; } = new();
    public QueryPipeline Pipeline { get; }
    public UdpListener Udp { get; }
    public ClusterOptions? Options { get; }
    public ClusterNode? Cluster { get; private set; }
    public ClusterForwarder Forwarder => Cluster!.Forwarder;
    public IPEndPoint PeerAddress => Cluster!.ListenAddress!;
    public IPEndPoint DnsAddress => Udp.LocalEndPoint;

    /// <summary>A node's options: a budget of a second unless given (a loaded test machine can take longer than 50 ms to answer a first question), pings every 250 ms (tests that time a failover set the default 100 ms), so that a stall of the loaded machine is not taken for a dead peer.</summary>
    public static ClusterOptions OptionsFor(string id, byte[]? secret = null, int replicas = 1, TimeSpan? budget = null) => new()
    {
        NodeId = id,
        Listen = new IPEndPoint(IPAddress.Loopback, 0),
        Secret = secret ?? Secret,
        Replicas = replicas,
        Budget = budget ?? TimeSpan.FromSeconds(1),
        // Silence for three intervals drops a peer: a loaded test host (four nodes in one process) can miss 750 ms of
        // pongs, so tests that do not measure failure detection allow 3 s (HealthTests set their own).
        ProbeInterval = TimeSpan.FromSeconds(1),
    };

    /// <summary>A node; <paramref name="pipeline"/> replaces its pipeline's options (default: every client allowed, no scheduler).</summary>
    public static async Task<TestNode> StartAsync(string id, ClusterOptions? options = null, PipelineOptions? pipeline = null)
    {
        var node = new TestNode(id, options ?? OptionsFor(id), pipeline);
        node.Cluster = await ClusterNode.StartAsync(node.Options!, node.Pipeline, NullLoggerFactory.Instance);
        return node;
    }

    /// <summary>Starts nodes and gives each the full member list (the bound addresses), then waits until every ring is whole.</summary>
    public static async Task<TestNode[]> StartClusterAsync(params string[] ids)
    {
        var nodes = new TestNode[ids.Length];
        for (int i = 0; i < ids.Length; i++) nodes[i] = await StartAsync(ids[i]);
        await JoinAsync(nodes);
        return nodes;
    }

    public static async Task JoinAsync(TestNode[] nodes)
    {
        var members = nodes.Select(n => (n.Id, n.PeerAddress)).ToList();
        foreach (var node in nodes) await node.Forwarder.SetMembersAsync(members);
        // Formed: every node has every member in its ring and a connected, healthy link to each peer (a link tried
        // before its peer knew the members is refused once and retried; asking before that would test the fallback).
        await WaitUntilAsync(() => nodes.All(n => n.RingSize() == nodes.Length && n.Forwarder.Status().Peers.All(p => p.State == "healthy" && p.InRing)),
            TimeSpan.FromSeconds(10));
    }

    /// <summary>Makes <paramref name="id"/> at <paramref name="address"/> this node's one peer and waits until it is in the ring.</summary>
    public async Task JoinPeerAsync(string id, IPEndPoint address)
    {
        await Forwarder.SetMembersAsync([(Id, PeerAddress), (id, address)]);
        await WaitUntilAsync(() => InRing(id), TimeSpan.FromSeconds(5));
    }

    public int RingSize() => Forwarder.Status().Ring.Length;

    public bool InRing(string id) => Forwarder.Status().Ring.Contains(id);

    /// <summary>The forwarding counters, for assertion messages.</summary>
    public string Counters()
    {
        var m = Forwarder.Metrics;
        return $"{Id}: forwarded {m.Forwarded}, answered {m.Answered}, fallbacks {m.Fallbacks}, budget timeouts {m.BudgetTimeouts}, peer failures {m.PeerFailures}, upstream {Authority.Queries}";
    }

    /// <summary>A name under a registered domain whose first owner (by this node's ring) is <paramref name="owner"/>.</summary>
    public string NameOwnedBy(string owner, string prefix = "www", int start = 0)
    {
        for (int i = start; i < 10_000; i++)
        {
            var name = $"{prefix}.d{i}.test.";
            if (Forwarder.OwnersOf(DnsName.Parse(name))[0] == owner) return name;
        }
        throw new InvalidOperationException($"no name owned by {owner}");
    }

    /// <summary>A name whose first owner among <paramref name="members"/> (all healthy) would be <paramref name="owner"/>.</summary>
    public static string NameOwnedAmong(string owner, params string[] members)
    {
        var hashes = members.Select(Rendezvous.HashNode).ToArray();
        Span<int> order = stackalloc int[1];
        for (int i = 0; ; i++)
        {
            Rendezvous.Rank(Rendezvous.HashKey($"d{i}.test"), hashes, order, 1);
            if (members[order[0]] == owner) return $"www.d{i}.test.";
        }
    }

    public async Task<Ananas.Dns.Messages.DnsMessage> QueryAsync(string name, Ananas.Dns.RRType type = Ananas.Dns.RRType.A, bool dnssecOk = false)
    {
        var query = DnsTestClient.Query(name, type, (ushort)Random.Shared.Next(1, 65535), udpPayload: 1232);
        if (dnssecOk) query.Edns!.DnssecOk = true;
        return await DnsTestClient.UdpAsync(DnsAddress, query);
    }

    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in time");
            await Task.Delay(10);
        }
    }

    public async Task StopClusterAsync()
    {
        if (Cluster is not null) await Cluster.DisposeAsync();
        Cluster = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopClusterAsync();
        await Udp.DisposeAsync();
    }
}

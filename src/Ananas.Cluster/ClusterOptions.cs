using System.Net;
using Ananas.Server.Configuration;

namespace Ananas.Cluster;

/// <summary>Cache sharing's settings, checked, from the <c>[cluster]</c> section (docs/CLUSTER.md).</summary>
public sealed record ClusterOptions
{
    public required string NodeId { get; init; }
    /// <summary>Where this node takes peers' questions (null: it only forwards, e.g. in tests).</summary>
    public IPEndPoint? Listen { get; init; }
    public IReadOnlyList<ClusterPeerConfig> Peers { get; init; } = [];
    public required byte[] Secret { get; init; }
    public int Replicas { get; init; } = 2;
    /// <summary>Bounded load in percent of the mean in-flight share.</summary>
    public int LoadBound { get; init; } = 150;
    public TimeSpan Budget { get; init; } = TimeSpan.FromMilliseconds(50);
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(100);
    public int MaxInFlightPerPeer { get; init; } = 256;
    public int MaxConnections { get; init; } = 64;
    public PublicSuffixList Suffixes { get; init; } = PublicSuffixList.Builtin();
    public string NatsUrl { get; init; } = "";
    public string NatsBucket { get; init; } = "ananas-cluster";
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Whether <paramref name="config"/> turns sharing on: another node in <c>cluster.peers</c>, or NATS membership.</summary>
    public static bool Enabled(ServerConfig config) => config.ClusterNatsUrl.Length > 0 || config.ClusterPeers.Exists(p => p.Id != NodeIdOf(config));

    private static string NodeIdOf(ServerConfig config) => config.ClusterNodeId.Length > 0 ? config.ClusterNodeId : Environment.MachineName;

    /// <summary>The options for an enabled cluster; a <see cref="ConfigException"/> names what is missing or wrong.</summary>
    public static ClusterOptions From(ServerConfig config)
    {
        string nodeId = NodeIdOf(config);
        if (config.ClusterSecret.Length == 0) throw new ConfigException("cluster.secret: required when cache sharing is on (cluster.peers lists another node or cluster.nats-url is set); make one with `openssl rand -hex 32`");
        IPEndPoint? listen = config.ClusterListen.Length > 0 ? ClusterPeersKey.ParseAddress(config.ClusterListen) : config.ClusterPeers.Find(p => p.Id == nodeId)?.Address;
        if (listen is null) throw new ConfigException($"cluster.listen: not set, and cluster.peers has no entry for this node ('{nodeId}', its cluster.node-id): peers could not reach it");
        if (config.ClusterNatsUrl.Length > 0 && !Uri.TryCreate(config.ClusterNatsUrl, UriKind.Absolute, out _))
            throw new ConfigException($"cluster.nats-url: '{config.ClusterNatsUrl}' is not a URL (e.g. nats://10.0.0.5:4222)");
        PublicSuffixList suffixes;
        try
        {
            suffixes = config.ClusterPublicSuffixList.Length == 0 ? PublicSuffixList.Builtin() : PublicSuffixList.Load(config.ClusterPublicSuffixList);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            throw new ConfigException($"cluster.public-suffix-list: cannot use '{config.ClusterPublicSuffixList}': {e.Message}");
        }
        return new ClusterOptions
        {
            NodeId = nodeId,
            Listen = listen,
            Peers = config.ClusterPeers,
            Secret = Convert.FromHexString(config.ClusterSecret),
            Replicas = config.ClusterReplicas,
            LoadBound = config.ClusterLoadBound,
            Budget = config.ClusterBudget,
            ProbeInterval = config.ClusterProbeInterval,
            MaxInFlightPerPeer = config.ClusterMaxInFlightPerPeer,
            MaxConnections = config.ClusterMaxConnections,
            Suffixes = suffixes,
            NatsUrl = config.ClusterNatsUrl,
            NatsBucket = config.ClusterNatsBucket,
            Lease = config.ClusterLease,
        };
    }
}

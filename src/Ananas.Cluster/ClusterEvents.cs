using Microsoft.Extensions.Logging;

namespace Ananas.Cluster;

/// <summary>Log event ids of cache sharing (4xxx).</summary>
public static class ClusterEvents
{
    public static readonly EventId Started = new(4001, "ClusterStarted");
    public static readonly EventId PeerHealth = new(4002, "ClusterPeerHealth");
    public static readonly EventId PeerRefused = new(4003, "ClusterPeerRefused");
    public static readonly EventId MembershipChanged = new(4004, "ClusterMembershipChanged");
    public static readonly EventId MembershipFailed = new(4005, "ClusterMembershipFailed");
}

using System.Text;
using Ananas.Dns.Messages;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using Microsoft.Extensions.Logging;

namespace Ananas.Cluster;

/// <summary>One node of the ring: this node (no link) or a peer.</summary>
internal sealed record RingMember(string Id, ulong NodeHash, PeerLink? Link, string Address)
{
    public bool IsSelf => Link is null;
}

/// <summary>
/// The pipeline's <see cref="IMissForwarder"/>: on a local miss, the question's registered domain (public suffix
/// list) is hashed onto the healthy members by rendezvous hashing; the first of its <c>cluster.replicas</c> owners
/// that is not over the load bound gets it (bounded load: spill to the next replica), and when that is this node,
/// or no owner answers within the budget, the pipeline resolves it here.
/// </summary>
public sealed class ClusterForwarder : IMissForwarder, IAsyncDisposable
{
    private const int MinLoadBound = 8;

    private readonly ClusterOptions _options;
    private readonly ILogger _logger;
    private readonly Dictionary<string, PeerLink> _links = new(StringComparer.Ordinal);
    private readonly RingMember _self;
    private volatile RingMember[] _members;
    private volatile RingMember[] _ring;
    private volatile ulong[] _ringHashes;

    public ClusterForwarder(ClusterOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _self = new RingMember(options.NodeId, Rendezvous.HashNode(options.NodeId), null, options.Listen?.ToString() ?? "");
        _members = _ring = [_self];
        _ringHashes = [_self.NodeHash];
    }

    public ClusterMetrics Metrics { get; } = new();

    public ClusterOptions Options => _options;

    /// <summary>
    /// Sets the cluster's members (this node may be among them; it is always in the ring): links to new peers are
    /// opened, links to peers that left are closed, and the ring is rebuilt.
    /// </summary>
    public async Task SetMembersAsync(IEnumerable<(string Id, System.Net.IPEndPoint Address)> members)
    {
        var removed = new List<PeerLink>();
        lock (_links)
        {
            var wanted = new Dictionary<string, System.Net.IPEndPoint>(StringComparer.Ordinal);
            foreach (var (id, address) in members) if (id != _options.NodeId) wanted[id] = address;
            foreach (var (id, link) in _links.ToList())
            {
                if (wanted.TryGetValue(id, out var address) && address.Equals(link.Address)) continue;
                removed.Add(link);
                _links.Remove(id);
            }
            foreach (var (id, address) in wanted)
            {
                if (_links.ContainsKey(id)) continue;
                var link = new PeerLink(id, address, _options, Metrics, _logger);
                link.HealthChanged += Rebuild;
                _links[id] = link;
            }
            _members = [_self, .. _links.Values.OrderBy(l => l.Id, StringComparer.Ordinal).Select(l => new RingMember(l.Id, l.NodeHash, l, l.Address.ToString()))];
        }
        Rebuild();
        foreach (var link in removed)
        {
            link.HealthChanged -= Rebuild;
            await link.DisposeAsync().ConfigureAwait(false);
        }
        if (removed.Count > 0 || _links.Count > 0)
            _logger.LogInformation(ClusterEvents.MembershipChanged, "cluster members: {Members}", string.Join(", ", _members.Select(m => m.Id)));
    }

    /// <summary>The ring: this node and the healthy peers (an immutable snapshot swapped on every health change).</summary>
    private void Rebuild()
    {
        var healthy = _members.Where(m => m.IsSelf || m.Link!.Healthy).ToArray();
        _ring = healthy;
        _ringHashes = healthy.Select(m => m.NodeHash).ToArray();
    }

    /// <summary>The registered domain that decides a name's owners.</summary>
    public string OwnershipKey(Ananas.Dns.DnsName name) => _options.Suffixes.RegisteredDomain(name);

    /// <summary>The ids of a name's owners in the current ring, best first (<c>cluster.replicas</c> of them at most).</summary>
    public string[] OwnersOf(Ananas.Dns.DnsName name)
    {
        var ring = _ring;
        Span<int> order = stackalloc int[Math.Min(_options.Replicas, ring.Length)];
        int n = Rendezvous.Rank(Rendezvous.HashKey(OwnershipKey(name)), _ringHashes, order, order.Length);
        var ids = new string[n];
        for (int i = 0; i < n; i++) ids[i] = ring[order[i]].Id;
        return ids;
    }

    public bool TryForward(ReadOnlySpan<byte> query, DnsMessage parsed, ClientAddress client, long deadline, IForwardedMiss miss)
    {
        if (parsed.Questions.Count != 1) return false;
        var link = Choose(parsed.Question.Name);
        if (link is null) return false;
        Span<byte> address = stackalloc byte[17];
        PeerListener.WriteClient(client, address);
        return link.TryForward(query, address, new Forwarded(this, miss, parsed.Id), deadline);
    }

    /// <summary>A question on its way to its owner, for the pipeline's <paramref name="miss"/> (<paramref name="clientId"/>: the client's DNS ID).</summary>
    private sealed class Forwarded(ClusterForwarder forwarder, IForwardedMiss miss, ushort clientId) : PendingQuestion
    {
        public override void Complete(ReadOnlySpan<byte> answer, bool answered) => miss.Answered(answered ? forwarder.Accept(answer, clientId) : null);
    }

    /// <summary>The owner's answer as the client's (its ID), or null when it is not to be passed on (resolve here).</summary>
    private DnsMessage? Accept(ReadOnlySpan<byte> answer, ushort clientId)
    {
        try
        {
            var message = DnsMessage.Parse(answer);
            if (message.Rcode == Ananas.Dns.Rcode.ServFail && !IsValidationVerdict(message))
            {
                // The owner could not resolve it from where it stands (just restarted, resumed from a pause with every
                // upstream query timed out, or its cached failure of such a moment): resolve it here in the time left
                // rather than hand one node's failure to every node's clients.
                Interlocked.Increment(ref Metrics.OwnerFailures);
                return null;
            }
            message.Id = clientId;
            Interlocked.Increment(ref Metrics.Answered);
            return message;
        }
        catch (Ananas.Dns.DnsFormatException)
        {
            Interlocked.Increment(ref Metrics.Fallbacks);
            return null;
        }
    }

    /// <summary>
    /// A SERVFAIL whose Extended DNS Error is a DNSSEC verdict on the data (bogus, expired, missing keys...): a local
    /// resolution would reach the same verdict, so the owner's answer stands. Other failures are the owner's own.
    /// </summary>
    private static bool IsValidationVerdict(DnsMessage message)
    {
        if (message.Edns is not { } edns) return false;
        foreach (var option in edns.Options)
            if (option is ExtendedErrorOption { InfoCode: >= Ananas.Dns.EdeCode.DnssecIndeterminate and <= Ananas.Dns.EdeCode.NsecMissing or Ananas.Dns.EdeCode.SignatureExpiredBeforeValid or Ananas.Dns.EdeCode.UnsupportedNsec3IterationsValue })
                return true;
        return false;
    }

    /// <summary>The peer to ask, or null to resolve here (this node owns the name, or every owner is over its bound).</summary>
    private PeerLink? Choose(Ananas.Dns.DnsName name)
    {
        var ring = _ring;
        var hashes = _ringHashes;
        if (ring.Length < 2) return null;
        Span<int> order = stackalloc int[Math.Min(_options.Replicas, ring.Length)];
        int n = Rendezvous.Rank(Rendezvous.HashKey(OwnershipKey(name)), hashes, order, order.Length);
        int bound = LoadBound(ring);
        for (int i = 0; i < n; i++)
        {
            var member = ring[order[i]];
            if (member.Link is not { } link) return null;
            if (link.Healthy && link.InFlight < bound) return link;
            Interlocked.Increment(ref Metrics.Spilled);
        }
        return null;
    }

    /// <summary>Bounded load: a peer may hold this share of the mean of this node's forwarded questions in flight (at least <see cref="MinLoadBound"/>).</summary>
    private int LoadBound(RingMember[] ring)
    {
        long total = 1;
        foreach (var member in ring) total += member.Link?.InFlight ?? 0;
        long bound = (total * _options.LoadBound + 100L * ring.Length - 1) / (100L * ring.Length);
        return (int)Math.Max(MinLoadBound, Math.Min(bound, _options.MaxInFlightPerPeer));
    }

    public void AppendMetrics(StringBuilder sb) => Metrics.Append(sb, _members.Length, _ring.Length);

    /// <summary>The status as the control API's JSON (camelCase, like its other answers).</summary>
    object IMissForwarder.Status()
    {
        var s = Status();
        return new
        {
            node = s.Node, listen = s.Listen, replicas = s.Replicas, budgetMs = s.BudgetMs, membership = s.Membership, ring = s.Ring,
            peers = s.Peers.Select(p => new { id = p.Id, address = p.Address, state = p.State, inRing = p.InRing, inFlight = p.InFlight, rttMs = p.RttMs }).ToArray(),
            forwarded = s.Forwarded, answered = s.Answered, fallbacks = s.Fallbacks, servedForPeers = s.ServedForPeers, refusedPeers = s.RefusedPeers,
        };
    }

    /// <summary>The ring and each peer's health (<c>GET /cluster</c>, <c>ananas cluster status</c>).</summary>
    public ClusterStatus Status() => new(
        _options.NodeId,
        _self.Address,
        _options.Replicas,
        _options.Budget.TotalMilliseconds,
        _options.NatsUrl.Length > 0 ? $"nats {_options.NatsUrl} bucket {_options.NatsBucket}" : "static",
        _ring.Select(m => m.Id).ToArray(),
        _members.Where(m => !m.IsSelf).Select(m => new PeerStatus(m.Id, m.Address, m.Link!.State, m.Link.Healthy, m.Link.InFlight, m.Link.RttMicroseconds / 1000.0)).ToArray(),
        Interlocked.Read(ref Metrics.Forwarded),
        Interlocked.Read(ref Metrics.Answered),
        Interlocked.Read(ref Metrics.Fallbacks) + Interlocked.Read(ref Metrics.BudgetTimeouts),
        Interlocked.Read(ref Metrics.ServedForPeers),
        Interlocked.Read(ref Metrics.RefusedPeers));

    public async ValueTask DisposeAsync()
    {
        PeerLink[] links;
        lock (_links)
        {
            links = [.. _links.Values];
            _links.Clear();
        }
        foreach (var link in links) await link.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>A node's view of the cluster: who is in the ring, how each peer is, what was forwarded.</summary>
public sealed record ClusterStatus(string Node, string Listen, int Replicas, double BudgetMs, string Membership, string[] Ring, PeerStatus[] Peers,
    long Forwarded, long Answered, long Fallbacks, long ServedForPeers, long RefusedPeers);

/// <summary>One peer: its state (<c>healthy</c>, <c>unresponsive</c>, <c>disconnected</c>), whether it is in the ring, questions in flight, last ping RTT.</summary>
public sealed record PeerStatus(string Id, string Address, string State, bool InRing, int InFlight, double RttMs);

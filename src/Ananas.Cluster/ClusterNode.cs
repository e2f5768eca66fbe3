using Ananas.Cluster.Membership;
using Ananas.Server.Configuration;
using Ananas.Server.Pipeline;
using Microsoft.Extensions.Logging;

namespace Ananas.Cluster;

/// <summary>
/// Cache sharing on one node, composed from the <c>[cluster]</c> configuration: the forwarder installed in the
/// pipeline's miss path, the listener for peers' questions, and the membership (static <c>cluster.peers</c>,
/// plus the NATS key-value bucket when <c>cluster.nats-url</c> is set).
/// </summary>
public sealed class ClusterNode : IAsyncDisposable
{
    private readonly PeerListener? _listener;
    private readonly NatsMembership? _nats;
    private readonly QueryPipeline _pipeline;

    private ClusterNode(ClusterForwarder forwarder, PeerListener? listener, NatsMembership? nats, QueryPipeline pipeline)
    {
        Forwarder = forwarder;
        _listener = listener;
        _nats = nats;
        _pipeline = pipeline;
    }

    public ClusterForwarder Forwarder { get; }

    /// <summary>Where peers reach this node (the bound address: a port 0 in the options is chosen by the system).</summary>
    public System.Net.IPEndPoint? ListenAddress => _listener?.Address;

    /// <summary>
    /// Starts sharing when <paramref name="config"/> turns it on (null otherwise). Throws <see cref="ConfigException"/>
    /// or <see cref="Server.Listeners.ListenerBindException"/> when it cannot start.
    /// </summary>
    public static async Task<ClusterNode?> StartAsync(ServerConfig config, QueryPipeline pipeline, ILoggerFactory loggerFactory)
    {
        if (!ClusterOptions.Enabled(config)) return null;
        return await StartAsync(ClusterOptions.From(config), pipeline, loggerFactory).ConfigureAwait(false);
    }

    public static async Task<ClusterNode> StartAsync(ClusterOptions options, QueryPipeline pipeline, ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger("Ananas.Cluster");
        var forwarder = new ClusterForwarder(options, logger);
        PeerListener? listener = null;
        if (options.Listen is not null)
        {
            listener = new PeerListener(options.Listen, options, pipeline, forwarder.Metrics, logger);
            listener.Start();
        }
        var statics = options.Peers.Select(p => (p.Id, p.Address)).ToList();
        await forwarder.SetMembersAsync(statics).ConfigureAwait(false);
        NatsMembership? nats = null;
        if (options.NatsUrl.Length > 0)
            nats = NatsMembership.Start(options, listener?.Address ?? options.Listen!, members => forwarder.SetMembersAsync([.. statics, .. members]), logger);
        pipeline.Forwarder = forwarder;
        logger.LogInformation(ClusterEvents.Started, "cache sharing on as {Node} (peers on {Listen}; membership {Membership}; {Replicas} replicas, budget {Budget} ms)",
            options.NodeId, listener?.Address, nats is null ? "static" : options.NatsUrl, options.Replicas, options.Budget.TotalMilliseconds);
        return new ClusterNode(forwarder, listener, nats, pipeline);
    }

    public async ValueTask DisposeAsync()
    {
        if (ReferenceEquals(_pipeline.Forwarder, Forwarder)) _pipeline.Forwarder = null;
        if (_nats is not null) await _nats.DisposeAsync().ConfigureAwait(false);
        if (_listener is not null) await _listener.DisposeAsync().ConfigureAwait(false);
        await Forwarder.DisposeAsync().ConfigureAwait(false);
    }
}

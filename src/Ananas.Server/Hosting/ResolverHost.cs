using Ananas.Dns;
using Ananas.Resolver;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Iteration;
using Ananas.Resolver.Cache;
using Ananas.Server.Configuration;
using Ananas.Server.Frames;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;
using Ananas.Server.Scheduling;
using Ananas.Server.Tls;
using Microsoft.Extensions.Logging;

namespace Ananas.Server.Hosting;

/// <summary>
/// The running server, composed from a <see cref="ServerConfig"/>: answer cache, record cache, recursor, the
/// given exchanger, the pipeline and one listener per listen address. The exchanger is injected so that the
/// production conductor replaces the simple one in one line at the composition root.
/// </summary>
public sealed class ResolverHost : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly List<IListener> _listeners = [];

    /// <param name="selector">Orders a zone's servers (the conductor's RTT selector in production); random when null.</param>
    public ResolverHost(ServerConfig config, IExchanger exchanger, ILoggerFactory loggerFactory, IClock? clock = null, IServerSelector? selector = null)
    {
        Config = config;
        _logger = loggerFactory.CreateLogger("Ananas.Server");
        clock ??= SystemClock.Instance;

        var rootHints = config.RootHints.Length == 0 ? RootHints.Iana : LoadRootHints(config.RootHints);
        // The configured budget is split: wire answers are cheap to rebuild from RRsets, RRsets are not.
        long answerBytes = config.CacheSizeBytes / 4;
        var recursorOptions = new RecursorOptions
        {
            RootHints = rootHints,
            QnameMinimisation = config.QnameMinimisation,
            UseIPv6 = config.IPv6,
            CacheCapacityBytes = config.CacheSizeBytes - answerBytes,
        };
        Answers = new AnswerCache(new AnswerCacheOptions { Storage = new CacheOptions { CapacityBytes = answerBytes } }, clock);
        var records = new RecordCache(clock, RecordCacheOptions.For(recursorOptions));
        var recursor = new Recursor(recursorOptions, clock, records,
            selector ?? new RandomServerSelector(SecureRandom.Instance), new LameServerList(clock, recursorOptions.LameHoldDown));
        var pipelineOptions = new PipelineOptions
        {
            Access = AccessList.Parse(config.Allow),
            ResolveTimeout = config.QueryTimeout,
            MaxUdpPayload = (ushort)config.UdpMaxPayload,
            GroupPrefixV4 = config.GroupPrefixV4,
            GroupPrefixV6 = config.GroupPrefixV6,
            Scheduler = new SchedulerOptions
            {
                MaxInFlight = config.MaxInFlight,
                MaxInFlightPerGroup = config.MaxInFlightPerGroup,
                MaxQueued = config.MaxQueued,
                MaxQueuedPerGroup = config.MaxQueuedPerGroup,
                Shed = config.Shed,
            },
        };
        Pipeline = new QueryPipeline(pipelineOptions, Answers, recursor, exchanger, clock, logger: loggerFactory.CreateLogger("Ananas.Server.Pipeline"));

        if (config.Listen.Any(a => a.Transport is Transport.Tls or Transport.Https))
        {
            if (config.TlsCertificate.Length > 0)
            {
                Certificate = TlsCertificate.Load(config.TlsCertificate, config.TlsKey);
            }
            else
            {
                var addresses = config.Listen.Where(a => a.Transport is Transport.Tls or Transport.Https).Select(a => a.EndPoint.Address).Distinct().ToList();
                Certificate = TlsCertificate.SelfSigned(addresses);
                _logger.LogWarning(ServerEvents.SelfSignedCertificate,
                    "tls.certificate is not set: DoT/DoH use a self-signed certificate generated now (SHA-256 {Thumbprint}) for {Addresses}; clients must NOT be configured to trust it. Set tls.certificate and tls.key for real use",
                    Certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256), string.Join(", ", addresses));
            }
        }
        var tcpOptions = new TcpListenerOptions
        {
            IdleTimeout = config.TcpIdleTimeout,
            MaxConnections = config.TcpMaxConnections,
            MaxConnectionsPerClient = config.TcpMaxConnectionsPerClient,
            MaxOutstandingPerConnection = config.TcpMaxOutstanding,
        };
        foreach (var address in config.Listen)
        {
            _listeners.Add(address.Transport switch
            {
                Transport.Udp => new UdpListener(address.EndPoint, Pipeline, new UdpListenerOptions { Sockets = config.UdpSockets, ThreadsPerSocket = config.UdpThreadsPerSocket, BatchSize = config.UdpBatchSize }, logger: _logger),
                Transport.Tcp => new TcpListener(address.EndPoint, Pipeline, tcpOptions, _logger),
                Transport.Tls => new TcpListener(address.EndPoint, Pipeline, tcpOptions, _logger, TlsCertificate.DotOptions(Certificate!)),
                _ => new HttpsListener(address.EndPoint, Pipeline, Certificate!, _logger),
            });
        }
        if (config.MetricsListen.Length > 0)
        {
            Metrics = new MetricsListener(MetricsListener.ParseAddress(config.MetricsListen), Pipeline);
            _listeners.Add(Metrics);
        }
        if (config.ControlListen.Length > 0)
            _listeners.Add(new ControlListener(MetricsListener.ParseAddress(config.ControlListen), Pipeline, records, () => _listeners.Select(l => l.Address)));
    }

    public ServerConfig Config { get; }

    /// <summary>The Prometheus endpoint (null when <c>metrics.listen</c> is empty).</summary>
    public MetricsListener? Metrics { get; }

    /// <summary>The DoT/DoH certificate (configured or self-signed); null without tls:// or https:// listeners.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate { get; }

    public QueryPipeline Pipeline { get; }

    public AnswerCache Answers { get; }

    public IReadOnlyList<IListener> Listeners => _listeners;

    /// <summary>Binds every listener (all or none: on a failure the bound ones are closed) and starts serving.</summary>
    public async Task StartAsync()
    {
        var started = new List<IListener>();
        try
        {
            foreach (var listener in _listeners)
            {
                listener.Start();
                started.Add(listener);
                _logger.LogInformation(ServerEvents.Listening, "listening on {Address}", listener.Address);
            }
        }
        catch
        {
            foreach (var listener in started) await listener.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops taking queries, answers those in flight (waiting at most <paramref name="drain"/>), closes.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        _logger.LogInformation(ServerEvents.Stopping, "stopping: answering {InFlight} queries in flight (at most {Drain} s)", Pipeline.InFlight, drain.TotalSeconds);
        var stopListeners = Task.WhenAll(_listeners.Select(l => l.StopAsync()));
        await Pipeline.DrainAsync(drain).ConfigureAwait(false);
        try
        {
            await stopListeners.WaitAsync(drain).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        foreach (var listener in _listeners) await listener.DisposeAsync().ConfigureAwait(false);
        _logger.LogInformation(ServerEvents.Stopped, "stopped");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var listener in _listeners) await listener.DisposeAsync().ConfigureAwait(false);
    }

    private static RootHints LoadRootHints(string path)
    {
        try
        {
            return RootHints.Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DnsFormatException)
        {
            throw new ConfigException($"root-hints: cannot read '{path}': {e.Message}");
        }
    }
}

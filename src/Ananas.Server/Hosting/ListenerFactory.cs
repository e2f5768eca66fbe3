using System.Security.Cryptography.X509Certificates;
using Ananas.Server.Configuration;
using Ananas.Server.Frames;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;
using Ananas.Server.Tls;
using Microsoft.Extensions.Logging;

namespace Ananas.Server.Hosting;

/// <summary>
/// The DNS listeners of a configuration over one pipeline (UDP, TCP, DoT, DoH), and the certificate the encrypted
/// ones share: configured, or self-signed once. Both hosts (<see cref="ResolverHost"/>, <see cref="AnswerSourceHost"/>) build theirs here.
/// </summary>
public sealed class ListenerFactory(QueryPipeline pipeline, ILogger logger, Help.HelpPage? help = null)
{
    /// <summary>The DoT/DoH certificate (configured or self-signed); null until a tls:// or https:// listener needs it.</summary>
    public X509Certificate2? Certificate { get; private set; }

    public IListener Create(ListenAddress address, ServerConfig config)
    {
        var tcpOptions = new TcpListenerOptions
        {
            IdleTimeout = config.TcpIdleTimeout,
            MaxConnections = config.TcpMaxConnections,
            MaxConnectionsPerClient = config.TcpMaxConnectionsPerClient,
            MaxOutstandingPerConnection = config.TcpMaxOutstanding,
            MaxQueuedBytesPerConnection = config.TcpMaxQueuedBytes,
        };
        var proxy = address.Proxy ? new ProxyOptions { TrustedSources = AccessList.Parse(config.ProxyTrustedSources), HeaderTimeout = config.TcpIdleTimeout } : null;
        return address.Transport switch
        {
            Transport.Udp => new UdpListener(address.EndPoint, pipeline, new UdpListenerOptions { Sockets = config.UdpSockets, ThreadsPerSocket = config.UdpThreadsPerSocket, BatchSize = config.UdpBatchSize }, logger: logger),
            Transport.Tcp => new TcpListener(address.EndPoint, pipeline, tcpOptions, logger, proxy: proxy),
            Transport.Tls => new TcpListener(address.EndPoint, pipeline, tcpOptions, logger, TlsCertificate.DotOptions(CertificateFor(config)), proxy),
            _ => new HttpsListener(address.EndPoint, pipeline, CertificateFor(config), logger, proxy, tcpOptions, help),
        };
    }

    /// <summary>The configured certificate, or a self-signed one made once for the encrypted listen addresses.</summary>
    private X509Certificate2 CertificateFor(ServerConfig config)
    {
        if (Certificate is not null) return Certificate;
        if (config.TlsCertificate.Length > 0) return Certificate = TlsCertificate.Load(config.TlsCertificate, config.TlsKey);
        var addresses = config.Listen.Where(a => a.Transport is Transport.Tls or Transport.Https).Select(a => a.EndPoint.Address).Distinct().ToList();
        Certificate = TlsCertificate.SelfSigned(addresses);
        logger.LogWarning(ServerEvents.SelfSignedCertificate,
            "tls.certificate is not set: DoT/DoH use a self-signed certificate generated now (SHA-256 {Thumbprint}) for {Addresses}; clients must NOT be configured to trust it. Set tls.certificate and tls.key for real use",
            Certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256), string.Join(", ", addresses));
        return Certificate;
    }

    /// <summary>
    /// What every host puts in front of its answers: response rate limiting, DNS cookies (the returned timer rotates a
    /// generated secret; the host disposes it) and the query log. Throws <see cref="ConfigException"/> for a log it cannot open.
    /// </summary>
    public static Timer? AddProtections(QueryPipeline pipeline, ServerConfig config)
    {
        if (config.RrlEnabled)
            pipeline.RateLimiter = new Protection.ResponseRateLimiter(new Protection.RrlOptions
            {
                ResponsesPerSecond = config.RrlResponsesPerSecond,
                NxdomainsPerSecond = config.RrlNxdomainsPerSecond,
                ErrorsPerSecond = config.RrlErrorsPerSecond,
                Slip = config.RrlSlip,
                IPv4PrefixLength = config.RrlPrefixV4,
                IPv6PrefixLength = config.RrlPrefixV6,
                TableSize = config.RrlTableSize,
                Exempt = AccessList.Parse(config.RrlExempt),
            });
        Timer? rotation = null;
        if (config.CookiesEnabled)
        {
            var cookies = new Protection.ServerCookies(config.CookieSecret.Length > 0 ? Convert.FromHexString(config.CookieSecret) : null,
                config.CookiePreviousSecret.Length > 0 ? Convert.FromHexString(config.CookiePreviousSecret) : null);
            pipeline.Cookies = cookies;
            // A generated secret is this server's alone: rotate it (the previous one stays valid, so clients lose nothing).
            if (config.CookieSecret.Length == 0) rotation = new Timer(_ => cookies.Rotate(), null, config.CookieRotation, config.CookieRotation);
        }
        if (config.QueryLog.Length > 0)
        {
            try
            {
                pipeline.QueryLog = QueryLog.Open(config.QueryLog);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                rotation?.Dispose();
                throw new ConfigException($"log.query-log: cannot open '{config.QueryLog}': {e.Message}");
            }
        }
        return rotation;
    }

    /// <summary>Binds every listener, all or none: on a failure the bound ones are closed and the failure is thrown.</summary>
    public static async Task StartAllAsync(IEnumerable<IListener> listeners, ILogger logger)
    {
        var started = new List<IListener>();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
                started.Add(listener);
                logger.LogInformation(ServerEvents.Listening, "listening on {Address}", listener.Address);
            }
        }
        catch
        {
            foreach (var listener in started) await listener.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}

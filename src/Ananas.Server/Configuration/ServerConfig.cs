using Ananas.Server.Scheduling;
using Microsoft.Extensions.Logging;

namespace Ananas.Server.Configuration;

/// <summary>
/// Everything <c>ananas serve</c> can be told. Built from the embedded <c>defaults.toml</c>, then the file given
/// with <c>--config</c>, then command-line flags; validated at each step (<see cref="ConfigLoader"/>).
/// </summary>
public sealed record ServerConfig
{
    public List<ListenAddress> Listen { get; set; } = [];
    public string RootHints { get; set; } = "";
    public long CacheSizeBytes { get; set; }
    public List<string> Allow { get; set; } = [];
    public bool QnameMinimisation { get; set; }
    public bool IPv6 { get; set; }
    public TimeSpan QueryTimeout { get; set; }
    public TimeSpan UpstreamTimeout { get; set; }
    public string DnssecValidation { get; set; } = "off";
    public int UdpMaxPayload { get; set; }
    public int UdpSockets { get; set; }
    public int UdpThreadsPerSocket { get; set; }
    public int UdpBatchSize { get; set; }
    public TimeSpan TcpIdleTimeout { get; set; }
    public int TcpMaxConnections { get; set; }
    public int TcpMaxConnectionsPerClient { get; set; }
    public int TcpMaxOutstanding { get; set; }
    /// <summary>PEM certificate (chain) for DoT and DoH; empty generates a self-signed one at startup.</summary>
    public string TlsCertificate { get; set; } = "";
    /// <summary>PEM private key for <see cref="TlsCertificate"/> (empty: the key is in the certificate file).</summary>
    public string TlsKey { get; set; } = "";
    /// <summary>Prometheus /metrics endpoint, <c>http://ADDR:PORT</c>; empty turns it off.</summary>
    public string MetricsListen { get; set; } = "";
    /// <summary>Control API (cache purge, stats, status), <c>http://ADDR:PORT</c>; empty turns it off.</summary>
    public string ControlListen { get; set; } = "";
    public int GroupPrefixV4 { get; set; }
    public int GroupPrefixV6 { get; set; }
    public int MaxInFlight { get; set; }
    public int MaxInFlightPerGroup { get; set; }
    public int MaxQueued { get; set; }
    public int MaxQueuedPerGroup { get; set; }
    public ShedAction Shed { get; set; }
    public LogLevel LogLevel { get; set; }

    /// <summary>A deep copy (lists included), so that applying a file never changes the defaults.</summary>
    public ServerConfig Copy() => this with { Listen = [.. Listen], Allow = [.. Allow] };
}

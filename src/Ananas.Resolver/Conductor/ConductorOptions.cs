using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Ananas.Resolver.Conductor;

/// <summary>An upstream reached over DNS-over-TLS (RFC 7858), with the name its certificate must carry.</summary>
public sealed record TlsUpstream(IPEndPoint Server, string ServerName);

/// <summary>Settings of the <see cref="Conductor"/>. Immutable; one instance per conductor.</summary>
public sealed record ConductorOptions
{
    /// <summary>EDNS UDP payload size advertised upstream (the DNS Flag Day 2020 value).</summary>
    public ushort UdpPayloadSize { get; init; } = 1232;

    /// <summary>
    /// Tries per UDP exchange (the first send plus retransmissions, each with a fresh ID; a timed-out socket is
    /// closed, so each try also leaves from another port).
    /// </summary>
    public int UdpAttempts { get; init; } = 2;

    /// <summary>
    /// Exchanges one upstream UDP socket carries (one at a time, all with the server it is connected to) before it is
    /// closed and a new random port is taken. 1: a fresh socket for every exchange.
    /// </summary>
    public int UdpSocketUses { get; init; } = 32;

    /// <summary>Longest an upstream UDP socket is kept open (in use or idle) before it is closed.</summary>
    public TimeSpan UdpSocketLifetime { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Idle upstream UDP sockets kept for one server; more are closed when their exchange ends.</summary>
    public int MaxIdleUdpSocketsPerServer { get; init; } = 64;

    /// <summary>Idle upstream UDP sockets kept in all (file descriptors held between exchanges).</summary>
    public int MaxIdleUdpSockets { get; init; } = 1024;

    /// <summary>Randomise the question's letter case (draft-vixie-dnsext-dns0x20) and require it echoed exactly.</summary>
    public bool UseCaseRandomisation { get; init; }

    /// <summary>Followers allowed to wait on one in-flight upstream query; beyond it requests are refused at once.</summary>
    public int MaxWaitersPerQuery { get; init; } = 1000;

    /// <summary>Distinct upstream queries allowed in flight at once; beyond it requests are refused at once.</summary>
    public int MaxInFlightQueries { get; init; } = 10_000;

    /// <summary>Connect + answer time allowed for one exchange over TCP or TLS (at least the server's RTO).</summary>
    public TimeSpan StreamTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>A TCP or TLS connection with nothing outstanding for this long is closed (RFC 7766 §6.2.3).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Most TCP (or TLS) connections kept open to one server.</summary>
    public int MaxConnectionsPerServer { get; init; } = 4;

    /// <summary>Queries outstanding on one connection before another is opened (pipelining, RFC 7766 §6.2.1.1).</summary>
    public int MaxQueriesPerConnection { get; init; } = 100;

    /// <summary>Servers always reached over DNS-over-TLS (forwarders configured for DoT), with their certificate names.</summary>
    public IReadOnlyList<TlsUpstream> TlsUpstreams { get; init; } = [];

    /// <summary>
    /// The certificates DoT upstreams' chains must end in, instead of the system's trust store (Unbound
    /// <c>tls-cert-bundle</c>; a private CA, or a server's own self-signed certificate). Empty: the system's store.
    /// The certificate must carry the configured name either way.
    /// </summary>
    public X509Certificate2Collection TlsTrustedCertificates { get; init; } = [];

    /// <summary>Upstreams tracked individually in <see cref="ConductorMetrics"/>; further ones share one "other" entry.</summary>
    public int MaxTrackedUpstreams { get; init; } = 10_000;
}

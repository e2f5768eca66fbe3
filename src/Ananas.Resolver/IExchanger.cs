using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Resolver;

/// <summary>
/// Sends one query to one upstream server and returns what came back. The recursor's only way to reach
/// the network: the conductor implements it over sockets (with deduplication, server selection, ID and
/// port randomisation, answer matching); the scenario runner implements it by replaying a script.
/// Implementations never throw for network outcomes: timeouts, errors and garbage are statuses.
/// </summary>
public interface IExchanger
{
    ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken);
}

/// <summary>Upstream transports.</summary>
public enum UpstreamTransport : byte
{
    Udp,
    Tcp,
    Tls,
}

/// <summary>
/// One upstream exchange. <see cref="Query"/> carries the question, flags and EDNS; the exchanger owns
/// the message ID (it randomises it) and may vary the question's letter case (0x20).
/// <see cref="ZoneCut"/> is the zone the server is asked as an authority for (used for deduplication,
/// the infrastructure cache and lameness); the forward zone for forwarders.
/// </summary>
public sealed record ExchangeRequest(DnsMessage Query, IPEndPoint Server, UpstreamTransport Transport, DnsName ZoneCut)
{
    /// <summary>Server name to check in the TLS certificate (forwarders over DoT), if any.</summary>
    public string? TlsServerName { get; init; }
}

/// <summary>How an exchange ended.</summary>
public enum ExchangeStatus : byte
{
    /// <summary>A response matching the query arrived (it may still be an error RCODE or truncated).</summary>
    Response,

    /// <summary>No answer within the exchanger's timeout.</summary>
    Timeout,

    /// <summary>The server could not be reached (connection refused, reset, unreachable).</summary>
    NetworkError,

    /// <summary>Something arrived but could not be parsed as a DNS response to the query.</summary>
    MalformedResponse,

    /// <summary>The exchanger refused to send (e.g. an address policy forbids it, or the wait queue is full).</summary>
    Refused,
}

/// <summary>The outcome of one exchange. <see cref="Response"/> is set only for <see cref="ExchangeStatus.Response"/>.</summary>
public sealed record ExchangeResult(ExchangeStatus Status, DnsMessage? Response, TimeSpan RoundTrip, UpstreamTransport Transport)
{
    public static ExchangeResult Timeout(TimeSpan waited, UpstreamTransport transport) => new(ExchangeStatus.Timeout, null, waited, transport);

    public static ExchangeResult Failed(ExchangeStatus status, UpstreamTransport transport) => new(status, null, TimeSpan.Zero, transport);

    public static ExchangeResult Ok(DnsMessage response, TimeSpan roundTrip, UpstreamTransport transport) => new(ExchangeStatus.Response, response, roundTrip, transport);
}

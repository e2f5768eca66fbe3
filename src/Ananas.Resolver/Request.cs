using System.Net;
using Ananas.Dns.Messages;

namespace Ananas.Resolver;

/// <summary>
/// What the recursor is asked to resolve: the client's query plus the metadata that may shape the
/// answer. Transport-blind: the server builds it from any frame.
/// </summary>
public sealed class Request(DnsMessage query)
{
    public DnsMessage Query { get; } = query;

    /// <summary>The client, when known (for logging, ECS and per-client policy); null for internal queries.</summary>
    public IPEndPoint? Client { get; init; }

    /// <summary>Work stops at this instant (the client has given up); null for no deadline.</summary>
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>
    /// A query without RD that the cache cannot answer gets a referral from the cache (RFC 1034 §4.3.2 step 3b) instead
    /// of REFUSED: for clients allowed cache snooping (Unbound <c>allow_snoop</c>); the referral shows what others asked.
    /// </summary>
    public bool CacheReferrals { get; init; }

    /// <summary>Receives this request's upstream exchanges (in addition to <see cref="RecursorOptions.Trace"/>).</summary>
    public Action<UpstreamExchange>? Trace { get; init; }
}

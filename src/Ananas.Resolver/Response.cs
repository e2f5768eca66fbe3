using Ananas.Dns.Messages;

namespace Ananas.Resolver;

/// <summary>The recursor's answer, ready to encode, plus what it cost to produce.</summary>
public sealed class Response(DnsMessage message)
{
    public DnsMessage Message { get; } = message;

    /// <summary>Upstream exchanges made for this answer (0 for a cache hit).</summary>
    public int UpstreamQueries { get; init; }

    /// <summary>
    /// A referral from the cache to one client's query without RD (<see cref="Request.CacheReferrals"/>): not the answer to
    /// the question, so an answer cache keyed by the question must not keep it.
    /// </summary>
    public bool Referral { get; init; }
}

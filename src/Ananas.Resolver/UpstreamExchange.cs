using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Resolver;

/// <summary>
/// One upstream exchange as seen by the recursor, reported to the trace hook
/// (<see cref="RecursorOptions.Trace"/>, <see cref="Request.Trace"/>): <c>ananas resolve --trace</c> and the
/// scenario runner's verbose mode print these.
/// </summary>
public sealed record UpstreamExchange(
    IPEndPoint Server,
    Question Question,
    DnsName ZoneCut,
    UpstreamTransport Transport,
    ExchangeStatus Status,
    DnsMessage? Response,
    TimeSpan RoundTrip)
{
    /// <summary>The response code, when a response arrived.</summary>
    public Rcode? Rcode => Response?.Rcode;

    public override string ToString()
    {
        var outcome = Response is null ? Status.ToString() : RcodeText.ToText(Response.Rcode);
        return $"{Server} {Transport} [{ZoneCut}] {Question} -> {outcome} in {RoundTrip.TotalMilliseconds:0.#} ms";
    }
}

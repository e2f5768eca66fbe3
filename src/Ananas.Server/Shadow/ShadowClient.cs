using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Conductor;
using Ananas.Resolver.Infrastructure;

namespace Ananas.Server.Shadow;

/// <summary>
/// Asks a resolver one question as a stub does (RD, EDNS, DO and CD as given) through the conductor: random IDs
/// and ports, TCP after a truncated reply. Servers are never held down (a slow resolver under test stays asked).
/// </summary>
public sealed class ShadowClient(IExchanger exchanger) : IDisposable
{
    private readonly IDisposable? _owned = exchanger as IDisposable;

    /// <summary>A client over a conductor of its own whose one exchange waits at most <paramref name="timeout"/>.</summary>
    public static ShadowClient Create(TimeSpan timeout)
    {
        var infrastructure = new InfrastructureCache(new InfrastructureCacheOptions
        {
            InitialRto = timeout,
            MinRto = timeout,
            MaxRto = timeout,
            HoldDownAfterFailures = int.MaxValue,
        }, SystemClock.Instance);
        return new ShadowClient(new Conductor(new ConductorOptions { StreamTimeout = timeout, UdpAttempts = 1 }, infrastructure));
    }

    /// <summary>The reply, or null when none came (timeout, network error, garbage).</summary>
    public async Task<DnsMessage?> AskAsync(IPEndPoint server, Question question, bool dnssecOk, bool checkingDisabled, CancellationToken cancellationToken)
    {
        var query = DnsMessage.CreateQuery(0, question.Name, question.Type, question.Class, recursionDesired: true, dnssecOk: dnssecOk);
        if (checkingDisabled) query.Set(HeaderFlags.CD);
        var result = await exchanger.ExchangeAsync(new ExchangeRequest(query, server, UpstreamTransport.Udp, DnsName.Root), cancellationToken).ConfigureAwait(false);
        return result.Status == ExchangeStatus.Response ? result.Response : null;
    }

    public void Dispose() => _owned?.Dispose();
}

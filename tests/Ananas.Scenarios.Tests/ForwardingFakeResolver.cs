using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Scenarios.Running;

namespace Ananas.Scenarios.Tests;

/// <summary>
/// Test-only resolver: sends the client's query to the first root hint through the exchanger and relays the
/// reply with the client's ID, RA set and RD echoed. Enough to drive the whole runner loop.
/// </summary>
internal sealed class ForwardingFakeResolver(ScenarioSetup setup, IExchanger exchanger) : IScenarioResolver
{
    public int Queries { get; private set; }

    public async Task<DnsMessage?> ResolveAsync(DnsMessage query, CancellationToken cancellationToken)
    {
        Queries++;
        var upstream = DnsMessage.CreateQuery(0, query.Question.Name, query.Question.Type, recursionDesired: false);
        var server = new IPEndPoint(setup.RootHints.Addresses[0], 53);
        var result = await exchanger.ExchangeAsync(new ExchangeRequest(upstream, server, UpstreamTransport.Udp, DnsName.Root), cancellationToken);
        if (result.Response is not { } reply) return query.CreateResponse(Rcode.ServFail);
        reply.Id = query.Id;
        reply.Set(HeaderFlags.RA);
        reply.Set(HeaderFlags.RD, query.Has(HeaderFlags.RD));
        return reply;
    }
}

internal sealed class ForwardingFakeFactory(ScenarioCapabilities capabilities = ScenarioCapabilities.None) : IScenarioResolverFactory
{
    public List<ScenarioSetup> Setups { get; } = [];

    public ScenarioCapabilities Capabilities => capabilities;

    public IScenarioResolver Create(ScenarioSetup setup, IExchanger exchanger, IClock clock)
    {
        Setups.Add(setup);
        return new ForwardingFakeResolver(setup, exchanger);
    }
}

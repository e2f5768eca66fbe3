using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;

namespace Ananas.Scenarios.Running;

/// <summary>Creates a fresh resolver under test for one scenario run, wired to the replay exchanger and virtual clock.</summary>
public interface IScenarioResolverFactory
{
    /// <summary>What the resolver supports; scenarios needing more are skipped.</summary>
    ScenarioCapabilities Capabilities { get; }

    IScenarioResolver Create(ScenarioSetup setup, IExchanger exchanger, IClock clock);
}

/// <summary>
/// The resolver under test, as a client sees it. If it implements <see cref="IDisposable"/> or
/// <see cref="IAsyncDisposable"/>, the runner disposes it after the run.
/// </summary>
public interface IScenarioResolver
{
    /// <summary>Answers a client query; null means no answer was sent (dropped).</summary>
    Task<DnsMessage?> ResolveAsync(DnsMessage query, CancellationToken cancellationToken);

    /// <summary>Answers a client query sent from <paramref name="client"/> (unbound <c>STEP n QUERY ADDRESS ip</c>); null means unknown.</summary>
    Task<DnsMessage?> ResolveAsync(DnsMessage query, IPEndPoint? client, CancellationToken cancellationToken) =>
        ResolveAsync(query, cancellationToken);

    /// <summary>
    /// Handles a raw client packet (deckard <c>RAW</c> queries, often garbage). Garbage must be answered
    /// (e.g. FORMERR) or dropped (null), never crash. The default parses and resolves, and drops what does not parse.
    /// </summary>
    async Task<DnsMessage?> ResolveRawAsync(ReadOnlyMemory<byte> wire, CancellationToken cancellationToken)
    {
        DnsMessage query;
        try { query = DnsMessage.Parse(wire.Span); }
        catch (DnsFormatException) { return null; }
        return await ResolveAsync(query, cancellationToken).ConfigureAwait(false);
    }
}

using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Iteration;

namespace Ananas.Resolver;

/// <summary>
/// The validating recursive resolver's core (validation to come). It does no I/O of its own: the network is the
/// <see cref="IExchanger"/> passed per call, time is <see cref="IClock"/>, randomness <see cref="IRandom"/>.
/// Thread-safe: one instance serves all queries.
/// </summary>
public sealed class Recursor
{
    private readonly RecursorOptions _options;
    private readonly IClock _clock;
    private readonly IRecordCache _cache;
    private readonly ILameServerList _lame;
    private readonly IServerSelector _selector;

    public Recursor(RecursorOptions options, IClock clock, IRandom random, IRecordCache cache)
        : this(options, clock, cache, new RandomServerSelector(random), new LameServerList(clock, options.LameHoldDown))
    {
    }

    public Recursor(RecursorOptions options, IClock clock, IRecordCache cache, IServerSelector selector, ILameServerList lameServers)
    {
        _options = options;
        _clock = clock;
        _cache = cache;
        _selector = selector;
        _lame = lameServers;
    }

    public RecursorOptions Options => _options;

    public IRecordCache Cache => _cache;

    public Task<Response> ResolveAsync(Request request, IExchanger exchanger) => ResolveAsync(request, exchanger, CancellationToken.None);

    /// <summary>
    /// Answers the request's query. Never throws for DNS or network outcomes: failures are SERVFAIL (or FORMERR,
    /// NOTIMP, REFUSED for bad queries) with an Extended DNS Error when the query had EDNS.
    /// </summary>
    public async Task<Response> ResolveAsync(Request request, IExchanger exchanger, CancellationToken cancellationToken)
    {
        var query = request.Query;
        if (query.Opcode != Opcode.Query) return Refuse(query, Rcode.NotImp, null);
        if (query.Questions.Count != 1) return Refuse(query, Rcode.FormErr, null);
        var question = query.Questions[0];
        if (question.Class != RRClass.IN)
            return Refuse(query, Rcode.Refused, new ExtendedErrorOption(EdeCode.NotSupported, $"class {(ushort)question.Class} is not served"));
        switch (question.Type)
        {
            case RRType.OPT:
                return Refuse(query, Rcode.FormErr, null);
            case RRType.AXFR or RRType.IXFR or (RRType)253 or (RRType)254: // zone transfers, MAILB, MAILA
                return Refuse(query, Rcode.NotImp, new ExtendedErrorOption(EdeCode.NotSupported, $"QTYPE {(ushort)question.Type} is not supported by a resolver"));
        }

        var resolution = new Resolution(_options, _cache, _lame, _selector, _clock, exchanger, request, cancellationToken);
        var outcome = await resolution.ResolveAsync(question.Name, question.Type, 0);

        // Without RD only cached data is served (RFC 1034 §4.3.1); what is not cached is refused, as Unbound does
        // for clients not allowed to snoop. No upstream query is made.
        var response = query.CreateResponse(resolution.NeededRecursion ? Rcode.Refused : outcome.Rcode);
        response.Set(HeaderFlags.RA);
        uint maxTtl = (uint)_options.MaxCacheTtl.TotalSeconds;
        foreach (var rr in outcome.Answer) response.Answers.Add(rr.Ttl > maxTtl ? rr.WithTtl(maxTtl) : rr);
        if (outcome.Soa is not null) response.Authority.Add(outcome.Soa);
        foreach (var rr in outcome.Authority) response.Authority.Add(rr.Ttl > maxTtl ? rr.WithTtl(maxTtl) : rr);
        if (outcome.Failure is not null && response.Edns is not null)
            response.Edns.Options.Add(new ExtendedErrorOption(outcome.Failure.Code, outcome.Failure.Text));
        return new Response(response) { UpstreamQueries = resolution.UpstreamQueries };
    }

    private static Response Refuse(DnsMessage query, Rcode rcode, ExtendedErrorOption? error)
    {
        var response = query.CreateResponse(rcode);
        response.Set(HeaderFlags.RA);
        if (error is not null && response.Edns is not null) response.Edns.Options.Add(error);
        return new Response(response);
    }
}

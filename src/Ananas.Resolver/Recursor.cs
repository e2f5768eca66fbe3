using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Iteration;
using Ananas.Resolver.Validation;

namespace Ananas.Resolver;

/// <summary>
/// The validating recursive resolver's core: <see cref="ResolutionPolicy"/>, the <see cref="Resolution"/>, then the <see cref="ValidationStage"/>. It does no I/O of its own: the network is the
/// <see cref="IExchanger"/> passed per call, time is <see cref="IClock"/>, randomness <see cref="IRandom"/>.
/// Thread-safe: one instance serves all queries.
/// </summary>
public sealed class Recursor
{
    private readonly RecursorOptions _options;
    private readonly IRecordCache _cache;

    // What every resolution shares: the options, caches, lame and bogus lists, selector and clock.
    private readonly RecursorContext _context;

    // Idle resolutions reused by client queries (the per-query objects of a cold query).
    private readonly ResolutionPool _resolutions;

    // Serve-stale, prefetch and failure caching around each resolution.
    private readonly ResolutionPolicy _policy;

    // DNSSEC validation of each outcome, and the DNSSEC flags and records of each response.
    private readonly ValidationStage _validation;

    // Referrals from the cache, for clients allowed cache snooping.
    private readonly CacheReferrals _referrals;

    public Recursor(RecursorOptions options, IClock clock, IRandom random, IRecordCache cache)
        : this(options, clock, cache, new RandomServerSelector(random), new LameServerList(clock, options.LameHoldDown))
    {
    }

    /// <param name="peer">Peer-corpus switches (the scenario runner's); null: the resolver's own behaviour.</param>
    public Recursor(RecursorOptions options, IClock clock, IRecordCache cache, IServerSelector selector, ILameServerList lameServers,
        PeerCompatibility? peer = null)
    {
        _options = options;
        _cache = cache;
        var bogusServers = new LameServerList(clock, options.BogusServerHoldDown);
        _context = new RecursorContext(options, cache, lameServers, bogusServers, selector, clock, peer ?? PeerCompatibility.None);
        _resolutions = new ResolutionPool(_context);
        _validation = new ValidationStage(_context);
        _referrals = new CacheReferrals(_context, _validation);
        _policy = new ResolutionPolicy(_context, (query, resolution, outcome) => Build(query, resolution, outcome));
    }

    /// <summary>
    /// Zones whose DNSKEY RRset was proven bogus, keyed (zone, DNSKEY), for <see cref="RecursorOptions.BogusCacheTtl"/>:
    /// the validator takes the verdict instead of fetching and computing the key set again (Unbound's bogus key entries).
    /// </summary>
    public FailureCache BogusKeySets => _validation.BogusKeySets;

    /// <summary>Zones' secure key sets derived by earlier queries (kept while the cache holds their DS and DNSKEY).</summary>
    internal ValidatedKeySets KeySets => _validation.KeySets;

    public RecursorOptions Options => _options;

    public IRecordCache Cache => _cache;

    /// <summary>Questions whose resolution failed recently (RFC 9520); purge it with the record cache (<see cref="CachePurger"/>).</summary>
    public FailureCache Failures => _policy.Failures;

    /// <summary>Servers held off for a zone after sending data that failed DNSSEC validation (<see cref="RecursorOptions.BogusServerHoldDown"/>).</summary>
    public ILameServerList BogusServers => _context.BogusServers;

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
        // localhost., invalid., test. and the like never leave the resolver (RFC 6761 §6).
        if (_options.LocalZones.TryAnswer(query) is { } local) return new Response(local);

        // Serve-stale, prefetch and failure caching (ResolutionPolicy) before, while and after the resolution.
        var early = await _policy.BeforeResolvingAsync(request, exchanger, question, cancellationToken);
        if (early is not null) return early;
        var resolution = _resolutions.Rent(exchanger, request, cancellationToken);
        var resolving = resolution.ResolveAsync(question.Name, question.Type, 0);
        ResolutionOutcome outcome;
        if (resolving.IsCompletedSuccessfully) outcome = resolving.Result; // no Task for a resolution that never waited
        else
        {
            var work = resolving.AsTask();
            // A stale answer leaves the resolution running in the background: it is not given back to the pool.
            var stale = await _policy.WhileResolvingAsync(request, exchanger, question, work, cancellationToken);
            if (stale is not null) return stale;
            outcome = await work.ConfigureAwait(false);
        }
        var response = await RespondAsync(request, exchanger, question, outcome, resolution, cancellationToken).ConfigureAwait(false);
        // The resolution's work has ended and the response holds none of its objects, only the outcome's.
        _resolutions.Return(resolution);
        return response;
    }

    /// <summary>The response to a resolved query: failure caching and serve-stale, a referral for RD=0, validation.</summary>
    private async ValueTask<Response> RespondAsync(Request request, IExchanger exchanger, Question question, ResolutionOutcome outcome,
        Resolution resolution, CancellationToken cancellationToken)
    {
        var query = request.Query;
        var fallback = await _policy.AfterResolvingAsync(request, exchanger, question, outcome, resolution, cancellationToken);
        if (fallback is not null) return fallback;
        // RD=0 and not cached: a client allowed to snoop gets a referral from the cache (RFC 1034 §4.3.2 step 3b).
        if (resolution.NeededRecursion && request.CacheReferrals &&
            await _referrals.AnswerAsync(request, exchanger, resolution, cancellationToken) is { } referral)
            return referral;
        bool recursive = query.Has(HeaderFlags.RD);
        bool checkingDisabled = query.Has(HeaderFlags.CD);
        // DNSSEC validation (Validation/ValidationStage.cs).
        var validated = await _validation.ValidateAsync(request, exchanger, question, outcome, resolution, cancellationToken);
        if (validated.Bogus && recursive) _policy.RememberBogus(question, checkingDisabled, validated.Outcome.Failure!);
        // RFC 8509 §3.2: a secure A/AAAA answer (CD unset) to a root-key-sentinel name that contradicts our root trust
        // anchors is SERVFAIL.
        if (validated.Secure && !checkingDisabled && question.Type is RRType.A or RRType.AAAA &&
            KeySentinel.Failure(question.Name, _options.TrustAnchors) is { } sentinel)
            return Refuse(query, Rcode.ServFail, new ExtendedErrorOption(EdeCode.Other, sentinel));
        var response = Build(query, resolution, validated.Outcome, validated.Secure, validated.UpstreamQueries);
        if (validated.Notice is not null) response.Message.Edns?.Options.Add(validated.Notice);
        return response;
    }

    /// <summary>The idle resolutions client queries reuse (tests look at how often they were).</summary>
    internal ResolutionPool Resolutions => _resolutions;

    /// <summary>Referrals from the cache sent to queries without RD (<see cref="Request.CacheReferrals"/>).</summary>
    public long ReferralsFromCache => _referrals.Sent;

    /// <summary>Stale answers sent (RFC 8767), whatever the reason.</summary>
    public long StaleAnswers => _policy.StaleAnswers;

    /// <summary>Background refreshes started (prefetches and refreshes behind stale answers).</summary>
    public long Refreshes => _policy.Background.Refreshes;

    /// <summary>
    /// Waits until no background work (prefetch, stale refresh, resolution outliving its client timer) is running.
    /// The scenario runner calls it after each query so that refreshes happen at a deterministic point.
    /// </summary>
    public Task WhenBackgroundIdleAsync() => _policy.Background.WhenIdleAsync();

    /// <summary>SERVFAIL answers sent from the failure cache (RFC 9520).</summary>
    public long CachedFailureAnswers => _policy.CachedFailureAnswers;

    /// <summary>Background refreshes not started because <see cref="RecursorOptions.MaxBackgroundRefreshes"/> were running.</summary>
    public long RefreshesSkipped => _policy.Background.Skipped;

    /// <summary>Background refreshes and tracked resolutions running now (at most <see cref="RecursorOptions.MaxBackgroundRefreshes"/>).</summary>
    public int BackgroundInFlight => _policy.Background.InFlight;

    /// <summary>Questions held off prefetching after a failed prefetch (expired ones until swept or evicted).</summary>
    public long PrefetchHoldOffs => _policy.Background.PrefetchHoldOffs;

    /// <summary>How long a question whose prefetch failed is not prefetched again (Unbound's NORR_TTL).</summary>
    public static readonly TimeSpan PrefetchFailureHoldDown = TimeSpan.FromSeconds(5);

    private Response Build(DnsMessage query, Resolution resolution, ResolutionOutcome outcome, bool secure = false, int validationQueries = 0)
    {
        // Without RD only cached data is served (RFC 1034 §4.3.1); what is not cached is refused, as Unbound does
        // for clients not allowed to snoop (those allowed get a referral instead). No upstream query is made.
        var response = query.CreateResponse(resolution.NeededRecursion ? Rcode.Refused : outcome.Rcode);
        response.Set(HeaderFlags.RA);
        uint maxTtl = (uint)_options.MaxCacheTtl.TotalSeconds;
        // Sections are made only when there is something to put in them, sized to it.
        if (outcome.Answer.Count > 0)
        {
            var answers = response.Answers;
            answers.Capacity = outcome.Answer.Count;
            foreach (var rr in outcome.Answer) answers.Add(rr.Ttl > maxTtl ? rr.WithTtl(maxTtl) : rr);
        }
        if (outcome.Soa is not null) response.Authority.Add(outcome.Soa);
        for (int i = 0; i < outcome.Authority.Count; i++)
        {
            var rr = outcome.Authority[i];
            response.Authority.Add(rr.Ttl > maxTtl ? rr.WithTtl(maxTtl) : rr);
        }
        if (outcome.Failure is not null && response.Edns is not null)
            response.Edns.Options.Add(new ExtendedErrorOption(outcome.Failure.Code, outcome.Failure.Text));
        _validation.ApplyDnssecFlags(query, response, secure);
        return new Response(response) { UpstreamQueries = resolution.UpstreamQueries + validationQueries };
    }

    private static Response Refuse(DnsMessage query, Rcode rcode, ExtendedErrorOption? error)
    {
        var response = query.CreateResponse(rcode);
        response.Set(HeaderFlags.RA);
        if (error is not null && response.Edns is not null) response.Edns.Options.Add(error);
        return new Response(response);
    }
}

using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Iteration;

namespace Ananas.Resolver;

/// <summary>
/// What <see cref="Recursor.ResolveAsync(Request, IExchanger, CancellationToken)"/> does around a resolution, apart from
/// resolving: serve-stale (RFC 8767), prefetch (Unbound <c>prefetch</c>) and failure caching (RFC 9520). The recursor
/// asks it before resolving, while the resolution runs (the client response timer) and after it ends. Thread-safe.
/// </summary>
internal sealed class ResolutionPolicy
{
    private readonly RecursorContext _context;
    private readonly Func<DnsMessage, Resolution, ResolutionOutcome, Response> _build;
    private long _staleAnswers;
    private long _cachedFailureAnswers;

    /// <param name="build">The recursor's reply from a (fresh) resolution's outcome.</param>
    public ResolutionPolicy(RecursorContext context, Func<DnsMessage, Resolution, ResolutionOutcome, Response> build)
    {
        _context = context;
        _build = build;
        Failures = new FailureCache(context.Clock);
        Background = new BackgroundRefreshes(context);
    }

    /// <summary>Questions whose resolution failed recently (RFC 9520).</summary>
    public FailureCache Failures { get; }

    public BackgroundRefreshes Background { get; }

    public long StaleAnswers => Interlocked.Read(ref _staleAnswers);

    public long CachedFailureAnswers => Interlocked.Read(ref _cachedFailureAnswers);

    private RecursorOptions Options => _context.Options;

    /// <summary>
    /// Before resolving: the answer from the failure cache, or (serve-stale first) from the cache, fresh or stale; null
    /// when the question is to be resolved.
    /// </summary>
    public async Task<Response?> BeforeResolvingAsync(Request request, IExchanger exchanger, Question question, CancellationToken cancellationToken)
    {
        var query = request.Query;
        var stale = Options.ServeStale;
        bool recursive = query.Has(HeaderFlags.RD);
        bool checkingDisabled = query.Has(HeaderFlags.CD);
        // RFC 9520 §3: a question that failed moments ago fails again without asking upstream. Only recursive queries
        // resolve, so only they fill the failure cache; an RD=0 query is answered from it too, as from the rest of
        // what the resolver holds (Unbound answers it the cached bogus SERVFAIL and its EDE: val_nodata_failsig).
        var cachedFailure = Failures.Get(question.Name, question.Type, checkingDisabled);
        // A bogus verdict stands only while validation covers the name: a negative trust anchor added since (RFC 7646
        // §2) turns it into an answer, as it does for the data the cache holds.
        if (cachedFailure is { Bogus: true } && !Validation.Validator.Covers(Options.TrustAnchors, Options.NegativeTrustAnchors, question.Name))
        {
            Failures.Remove(question.Name, question.Type, checkingDisabled);
            cachedFailure = null;
        }
        // With serve-stale on, a cached failure is the failure recheck (RFC 8767 §4): stale data first, no refresh.
        bool recheckWait = stale.Enabled && cachedFailure is not null;
        if (stale.Enabled && recursive && (stale.ClientTimeout <= TimeSpan.Zero || recheckWait))
        {
            // Stale first (Unbound's serve-expired-client-timeout 0): whatever the cache holds, fresh or within the
            // stale window, is the answer; stale data is refreshed in the background.
            var cached = new Resolution(_context, exchanger, request, cancellationToken) { StaleWindow = stale.MaxStale };
            var cachedOutcome = await cached.ResolveAsync(question.Name, question.Type, 0);
            if (!cached.NeededRecursion && cachedOutcome.Rcode != Rcode.ServFail)
            {
                if (cached.UsedStale)
                {
                    if (!recheckWait) Background.Start(question, exchanger);
                    return StaleResponse(query, cachedOutcome);
                }
                if (Options.Prefetch && cached.PrefetchWanted) Background.Start(question, exchanger, prefetch: true);
                return _build(query, cached, cachedOutcome);
            }
        }
        return cachedFailure is not null ? CachedFailureResponse(query, cachedFailure) : null;
    }

    /// <summary>
    /// While the resolution runs: past the client response timer, the stale answer (the resolution goes on in the
    /// background); null when the resolution's own outcome is to be awaited.
    /// </summary>
    public async Task<Response?> WhileResolvingAsync(Request request, IExchanger exchanger, Question question, Task<ResolutionOutcome> work,
        CancellationToken cancellationToken)
    {
        var stale = Options.ServeStale;
        if (!stale.Enabled || !request.Query.Has(HeaderFlags.RD) || stale.ClientTimeout <= TimeSpan.Zero || work.IsCompleted) return null;
        // RFC 8767 §5 client response timer: past it, stale data is better than silence; resolution goes on and
        // refreshes the cache. The timer runs on the resolver's clock, so a virtual clock decides when it fires.
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (await Task.WhenAny(work, _context.Clock.Delay(stale.ClientTimeout, timer.Token)).ConfigureAwait(false) != work)
        {
            var early = await TryStaleAsync(request, exchanger, question);
            if (early is not null)
            {
                Background.Track((question.Name, question.Type), work);
                return early;
            }
        }
        await timer.CancelAsync().ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// After the resolution: a failure is remembered (RFC 9520) or, with serve-stale, answered from stale data (the
    /// returned response); an answer clears a remembered failure and may start a prefetch. Null: reply with the outcome.
    /// </summary>
    public async Task<Response?> AfterResolvingAsync(Request request, IExchanger exchanger, Question question, ResolutionOutcome outcome,
        Resolution resolution, CancellationToken cancellationToken)
    {
        bool recursive = request.Query.Has(HeaderFlags.RD);
        bool checkingDisabled = request.Query.Has(HeaderFlags.CD);
        if (outcome.Rcode == Rcode.ServFail && recursive)
        {
            var failure = outcome.Failure ?? new ResolutionFailure(EdeCode.Other, "resolution failed");
            if (Options.ServeStale.Enabled)
            {
                // RFC 8767 §4: resolution failed (servers unreachable or failing): serve what expired rather than SERVFAIL.
                var fallback = await TryStaleAsync(request, exchanger, question);
                if (fallback is not null)
                {
                    Failures.Store(question.Name, question.Type, checkingDisabled, failure, Options.ServeStale.FailureRecheck);
                    return fallback;
                }
            }
            // A failure of this client's own making (it cancelled, or its deadline passed) says nothing about upstream.
            bool clientGaveUp = cancellationToken.IsCancellationRequested || request.Deadline is { } deadline && _context.Clock.UtcNow >= deadline;
            if (!clientGaveUp) Failures.Store(question.Name, question.Type, checkingDisabled, failure, Options.FailureCacheTtl);
        }
        else if (recursive && Failures.Count > 0)
        {
            // Answered after all (e.g. a concurrent query failed meanwhile): the failure is no longer the answer.
            Failures.Remove(question.Name, question.Type, checkingDisabled);
        }
        if (Options.Prefetch && recursive && resolution.PrefetchWanted) Background.Start(question, exchanger, prefetch: true);
        return null;
    }

    /// <summary>
    /// A bogus answer is remembered briefly (Unbound val-bogus-ttl): a broken zone cannot make every query revalidate,
    /// which is the validation storm the cost control is about.
    /// </summary>
    public void RememberBogus(Question question, bool checkingDisabled, ResolutionFailure failure) =>
        Failures.Store(question.Name, question.Type, checkingDisabled, failure, Options.BogusCacheTtl);

    /// <summary>
    /// A failure answered from the failure cache: SERVFAIL with the original Extended DNS Error, if there was one, and
    /// EDE 13 (Cached Error, RFC 8914 §4.14).
    /// </summary>
    private Response CachedFailureResponse(DnsMessage query, ResolutionFailure failure)
    {
        Interlocked.Increment(ref _cachedFailureAnswers);
        var response = query.CreateResponse(Rcode.ServFail);
        response.Set(HeaderFlags.RA);
        if (response.Edns is not null)
        {
            response.Edns.Options.Add(new ExtendedErrorOption(failure.Code, failure.Text));
            response.Edns.Options.Add(new ExtendedErrorOption(EdeCode.CachedError, "cached resolution failure (RFC 9520)"));
        }
        return new Response(response);
    }

    /// <summary>The answer from cache data expired within the stale window, or null when the cache cannot answer.</summary>
    private async Task<Response?> TryStaleAsync(Request request, IExchanger exchanger, Question question)
    {
        var cached = new Resolution(_context, exchanger, request, CancellationToken.None) { StaleWindow = Options.ServeStale.MaxStale };
        var outcome = await cached.ResolveAsync(question.Name, question.Type, 0);
        if (cached.NeededRecursion || outcome.Rcode == Rcode.ServFail) return null;
        return cached.UsedStale ? StaleResponse(request.Query, outcome) : _build(request.Query, cached, outcome);
    }

    /// <summary>
    /// A stale answer: every TTL is <see cref="ServeStaleOptions.AnswerTtl"/> (RFC 8767 §4), with EDE 3 (Stale
    /// Answer), or EDE 19 (Stale NXDOMAIN Answer) for a name error (RFC 8914 §4.20).
    /// </summary>
    private Response StaleResponse(DnsMessage query, ResolutionOutcome outcome)
    {
        Interlocked.Increment(ref _staleAnswers);
        uint ttl = Options.ServeStale.AnswerTtl;
        var response = query.CreateResponse(outcome.Rcode);
        response.Set(HeaderFlags.RA);
        foreach (var rr in outcome.Answer) response.Answers.Add(rr.WithTtl(ttl));
        if (outcome.Soa is not null) response.Authority.Add(outcome.Soa.WithTtl(ttl));
        foreach (var rr in outcome.Authority) response.Authority.Add(rr.WithTtl(ttl));
        if (response.Edns is not null)
        {
            response.Edns.Options.Add(outcome.Rcode == Rcode.NXDomain
                ? new ExtendedErrorOption(EdeCode.StaleNxdomainAnswer, "stale NXDOMAIN answer (RFC 8767)")
                : new ExtendedErrorOption(EdeCode.StaleAnswer, "stale answer (RFC 8767)"));
        }
        return new Response(response);
    }
}

using System.Collections.Concurrent;
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
public sealed partial class Recursor
{
    private readonly RecursorOptions _options;
    private readonly IClock _clock;
    private readonly IRecordCache _cache;
    private readonly ILameServerList _lame;
    private readonly ILameServerList _bogusServers;
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
        _bogusServers = new LameServerList(clock, options.BogusServerHoldDown);
        _failures = new FailureCache(clock);
        _bogusKeySets = new FailureCache(clock, BogusKeySetCapacityBytes);
        _prefetchHeldOff = new HoldDownTable<(DnsName, RRType), bool>(clock, PrefetchFailureHoldDown, options.PrefetchHoldOffCapacityBytes, QuestionCost.Instance);
    }

    /// <summary>1 MiB: thousands of bogus zones; a flood of them evicts its own entries, nothing else.</summary>
    private const long BogusKeySetCapacityBytes = 1L << 20;

    private readonly FailureCache _bogusKeySets;

    /// <summary>
    /// Zones whose DNSKEY RRset was proven bogus, keyed (zone, DNSKEY), for <see cref="RecursorOptions.BogusCacheTtl"/>:
    /// the validator takes the verdict instead of fetching and computing the key set again (Unbound's bogus key entries).
    /// </summary>
    public FailureCache BogusKeySets => _bogusKeySets;

    public RecursorOptions Options => _options;

    public IRecordCache Cache => _cache;

    /// <summary>Questions whose resolution failed recently (RFC 9520); purge it with the record cache (<see cref="CachePurger"/>).</summary>
    public FailureCache Failures => _failures;

    /// <summary>Servers held off for a zone after sending data that failed DNSSEC validation (<see cref="RecursorOptions.BogusServerHoldDown"/>).</summary>
    public ILameServerList BogusServers => _bogusServers;

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

        var stale = _options.ServeStale;
        bool recursive = query.Has(HeaderFlags.RD);
        var key = (question.Name, question.Type);
        bool checkingDisabled = query.Has(HeaderFlags.CD);
        // RFC 9520 §3: a question that failed moments ago fails again without asking upstream. Only recursive queries
        // resolve, so only they fill the failure cache; an RD=0 query is answered from it too, as from the rest of
        // what the resolver holds (Unbound answers it the cached bogus SERVFAIL and its EDE: val_nodata_failsig).
        var cachedFailure = _failures.Get(question.Name, question.Type, checkingDisabled);
        // A bogus verdict stands only while validation covers the name: a negative trust anchor added since (RFC 7646
        // §2) turns it into an answer, as it does for the data the cache holds.
        if (cachedFailure is { Bogus: true } && !Validation.Validator.Covers(_options.TrustAnchors, _options.NegativeTrustAnchors, question.Name))
        {
            _failures.Remove(question.Name, question.Type, checkingDisabled);
            cachedFailure = null;
        }
        // With serve-stale on, a cached failure is the failure recheck (RFC 8767 §4): stale data first, no refresh.
        bool recheckWait = stale.Enabled && cachedFailure is not null;
        if (stale.Enabled && recursive && (stale.ClientTimeout <= TimeSpan.Zero || recheckWait))
        {
            // Stale first (Unbound's serve-expired-client-timeout 0): whatever the cache holds, fresh or within the
            // stale window, is the answer; stale data is refreshed in the background.
            var cached = new Resolution(_options, _cache, _lame, _bogusServers, _selector, _clock, exchanger, request, cancellationToken) { StaleWindow = stale.MaxStale };
            var cachedOutcome = await cached.ResolveAsync(question.Name, question.Type, 0);
            if (!cached.NeededRecursion && cachedOutcome.Rcode != Rcode.ServFail)
            {
                if (cached.UsedStale)
                {
                    if (!recheckWait) StartRefresh(question, exchanger);
                    return StaleResponse(query, cachedOutcome);
                }
                if (_options.Prefetch && cached.PrefetchWanted) StartRefresh(question, exchanger, prefetch: true);
                return Build(query, cached, cachedOutcome);
            }
        }
        if (cachedFailure is not null) return CachedFailureResponse(query, cachedFailure);

        var resolution = NewResolution(request, exchanger, cancellationToken);
        var work = resolution.ResolveAsync(question.Name, question.Type, 0).AsTask();
        if (stale.Enabled && recursive && stale.ClientTimeout > TimeSpan.Zero && !work.IsCompleted)
        {
            // RFC 8767 §5 client response timer: past it, stale data is better than silence; resolution goes on and
            // refreshes the cache.
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (await Task.WhenAny(work, ClientTimer(stale.ClientTimeout, timer.Token)).ConfigureAwait(false) != work)
            {
                var early = await TryStaleAsync(request, exchanger, question);
                if (early is not null)
                {
                    Track(key, work);
                    return early;
                }
            }
            await timer.CancelAsync().ConfigureAwait(false);
        }
        var outcome = await work.ConfigureAwait(false);
        if (outcome.Rcode == Rcode.ServFail && recursive)
        {
            var failure = outcome.Failure ?? new ResolutionFailure(EdeCode.Other, "resolution failed");
            if (stale.Enabled)
            {
                // RFC 8767 §4: resolution failed (servers unreachable or failing): serve what expired rather than SERVFAIL.
                var fallback = await TryStaleAsync(request, exchanger, question);
                if (fallback is not null)
                {
                    _failures.Store(question.Name, question.Type, checkingDisabled, failure, stale.FailureRecheck);
                    return fallback;
                }
            }
            // A failure of this client's own making (it cancelled, or its deadline passed) says nothing about upstream.
            bool clientGaveUp = cancellationToken.IsCancellationRequested || request.Deadline is { } deadline && _clock.UtcNow >= deadline;
            if (!clientGaveUp) _failures.Store(question.Name, question.Type, checkingDisabled, failure, _options.FailureCacheTtl);
        }
        else if (recursive && _failures.Count > 0)
        {
            // Answered after all (e.g. a concurrent query failed meanwhile): the failure is no longer the answer.
            _failures.Remove(question.Name, question.Type, checkingDisabled);
        }
        if (_options.Prefetch && recursive && resolution.PrefetchWanted) StartRefresh(question, exchanger, prefetch: true);
        // DNSSEC validation (Validation/Recursor.Validation.cs).
        var validated = await ValidateAsync(request, exchanger, question, outcome, resolution, cancellationToken);
        // A bogus answer is remembered briefly (Unbound val-bogus-ttl): a broken zone cannot make every query
        // revalidate, which is the validation storm the cost control is about.
        if (validated.Bogus && recursive) _failures.Store(question.Name, question.Type, checkingDisabled, validated.Outcome.Failure!, _options.BogusCacheTtl);
        // RFC 8509 §3.2: a secure A/AAAA answer (CD unset) to a root-key-sentinel name that contradicts our root trust
        // anchors is SERVFAIL.
        if (validated.Secure && !checkingDisabled && question.Type is RRType.A or RRType.AAAA &&
            Validation.KeySentinel.Failure(question.Name, _options.TrustAnchors) is { } sentinel)
            return Refuse(query, Rcode.ServFail, new ExtendedErrorOption(EdeCode.Other, sentinel));
        var response = Build(query, resolution, validated.Outcome, validated.Secure, validated.UpstreamQueries);
        if (validated.Notice is not null) response.Message.Edns?.Options.Add(validated.Notice);
        return response;
    }

    /// <summary>Stale answers sent (RFC 8767), whatever the reason.</summary>
    public long StaleAnswers => Interlocked.Read(ref _staleAnswers);

    /// <summary>Background refreshes started (prefetches and refreshes behind stale answers).</summary>
    public long Refreshes => Interlocked.Read(ref _refreshCount);

    /// <summary>
    /// Waits until no background work (prefetch, stale refresh, resolution outliving its client timer) is running.
    /// The scenario runner calls it after each query so that refreshes happen at a deterministic point.
    /// </summary>
    public async Task WhenBackgroundIdleAsync()
    {
        while (!_background.IsEmpty) await Task.WhenAll(_background.Values).ConfigureAwait(false);
    }

    /// <summary>SERVFAIL answers sent from the failure cache (RFC 9520).</summary>
    public long CachedFailureAnswers => Interlocked.Read(ref _cachedFailureAnswers);

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

    private Resolution NewResolution(Request request, IExchanger exchanger, CancellationToken cancellationToken) =>
        new(_options, _cache, _lame, _bogusServers, _selector, _clock, exchanger, request, cancellationToken);

    private Response Build(DnsMessage query, Resolution resolution, ResolutionOutcome outcome, bool secure = false, int validationQueries = 0)
    {
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
        ApplyDnssecFlags(query, response, secure);
        return new Response(response) { UpstreamQueries = resolution.UpstreamQueries + validationQueries };
    }

    /// <summary>The answer from cache data expired within the stale window, or null when the cache cannot answer.</summary>
    private async Task<Response?> TryStaleAsync(Request request, IExchanger exchanger, Question question)
    {
        var cached = new Resolution(_options, _cache, _lame, _bogusServers, _selector, _clock, exchanger, request, CancellationToken.None)
        {
            StaleWindow = _options.ServeStale.MaxStale,
        };
        var outcome = await cached.ResolveAsync(question.Name, question.Type, 0);
        if (cached.NeededRecursion || outcome.Rcode == Rcode.ServFail) return null;
        return cached.UsedStale ? StaleResponse(request.Query, outcome) : Build(request.Query, cached, outcome);
    }

    /// <summary>
    /// A stale answer: every TTL is <see cref="ServeStaleOptions.AnswerTtl"/> (RFC 8767 §4), with EDE 3 (Stale
    /// Answer), or EDE 19 (Stale NXDOMAIN Answer) for a name error (RFC 8914 §4.20).
    /// </summary>
    private Response StaleResponse(DnsMessage query, ResolutionOutcome outcome)
    {
        Interlocked.Increment(ref _staleAnswers);
        uint ttl = _options.ServeStale.AnswerTtl;
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

    /// <summary>Resolves the question again in the background, bypassing the cache for its own names; one at a time per question.</summary>
    private void StartRefresh(Question question, IExchanger exchanger, bool prefetch = false)
    {
        var key = (question.Name, question.Type);
        if (_background.ContainsKey(key)) return;
        // After a failed prefetch the question is not prefetched again for PrefetchFailureHoldDown: the cached answer
        // is still good, and every client query would otherwise hammer the failing servers (Unbound iterator.c
        // error_response_cache: dns_cache_prefetch_adjust moves the entry's prefetch time by NORR_TTL, 5 s).
        if (prefetch && _prefetchHeldOff.Contains(key)) return;
        if (!TryReserveBackgroundSlot()) return;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_background.TryAdd(key, done.Task))
        {
            Interlocked.Decrement(ref _backgroundCount);
            return;
        }
        Interlocked.Increment(ref _refreshCount);
        _ = RefreshAsync(key, question, exchanger, done, prefetch);
    }

    /// <summary>
    /// Takes one of the <see cref="RecursorOptions.MaxBackgroundRefreshes"/> slots: one client question adds a refresh,
    /// so a flood of distinct names must not start an unbounded number of them. Past the bound the refresh is skipped
    /// (the client still gets its cached or stale answer) and counted in <see cref="RefreshesSkipped"/>.
    /// </summary>
    private bool TryReserveBackgroundSlot()
    {
        if (Interlocked.Increment(ref _backgroundCount) <= _options.MaxBackgroundRefreshes) return true;
        Interlocked.Decrement(ref _backgroundCount);
        Interlocked.Increment(ref _refreshesSkipped);
        return false;
    }

    /// <summary>Background refreshes not started because <see cref="RecursorOptions.MaxBackgroundRefreshes"/> were running.</summary>
    public long RefreshesSkipped => Interlocked.Read(ref _refreshesSkipped);

    /// <summary>Background refreshes and tracked resolutions running now (at most <see cref="RecursorOptions.MaxBackgroundRefreshes"/>).</summary>
    public int BackgroundInFlight => Volatile.Read(ref _backgroundCount);

    /// <summary>Questions held off prefetching after a failed prefetch (expired ones until swept or evicted).</summary>
    public long PrefetchHoldOffs => _prefetchHeldOff.Count;

    /// <summary>How long a question whose prefetch failed is not prefetched again (Unbound's NORR_TTL).</summary>
    public static readonly TimeSpan PrefetchFailureHoldDown = TimeSpan.FromSeconds(5);

    private async Task RefreshAsync((DnsName, RRType) key, Question question, IExchanger exchanger, TaskCompletionSource done, bool prefetch)
    {
        try
        {
            var request = new Request(DnsMessage.CreateQuery(0, question.Name, question.Type, question.Class, recursionDesired: true));
            var refresh = new Resolution(_options, _cache, _lame, _bogusServers, _selector, _clock, exchanger, request, CancellationToken.None) { Refresh = true };
            // Whatever it learns goes to the cache; a failure leaves the cache as it was.
            var outcome = await refresh.ResolveAsync(question.Name, question.Type, 0);
            if (prefetch && outcome.Rcode == Rcode.ServFail) _prefetchHeldOff.Add(key, true);
        }
        finally
        {
            _background.TryRemove(key, out _);
            Interlocked.Decrement(ref _backgroundCount);
            done.SetResult();
        }
    }

    /// <summary>Keeps a resolution that outlived its client timer visible to <see cref="WhenBackgroundIdleAsync"/>.</summary>
    private void Track((DnsName, RRType) key, Task work)
    {
        // The resolution runs on regardless (it ends within Limits.MaxResolutionTime); past the bound it is not tracked.
        if (!TryReserveBackgroundSlot()) return;
        if (!_background.TryAdd(key, work))
        {
            Interlocked.Decrement(ref _backgroundCount);
            return;
        }
        _ = work.ContinueWith(_ =>
            {
                _background.TryRemove(new KeyValuePair<(DnsName, RRType), Task>(key, work));
                Interlocked.Decrement(ref _backgroundCount);
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private readonly ConcurrentDictionary<(DnsName, RRType), Task> _background = new();

    private readonly FailureCache _failures;
    private long _cachedFailureAnswers;

    // Background work by question; every entry ends within Limits.MaxResolutionTime and holds one of the counted slots.
    private int _backgroundCount;
    private long _refreshesSkipped;

    // Questions whose prefetch failed, held off for PrefetchFailureHoldDown (bounded: one entry per hostile name).
    private readonly HoldDownTable<(DnsName, RRType), bool> _prefetchHeldOff;

    private sealed class QuestionCost : ICacheCost<(DnsName Name, RRType Type), bool>
    {
        public static readonly QuestionCost Instance = new();

        /// <summary>The name, the type and the entry's key tuple.</summary>
        public long CostOf((DnsName Name, RRType Type) key, bool value) => RecordCost.Of(key.Name) + 16;
    }

    private long _staleAnswers;
    private long _refreshCount;

    /// <summary>The client response timer (<see cref="ServeStaleOptions.ClientTimeout"/>); replaceable so that tests decide when it fires.</summary>
    public Func<TimeSpan, CancellationToken, Task> ClientTimer { get; init; } = static (delay, ct) => Task.Delay(delay, ct);

    private static Response Refuse(DnsMessage query, Rcode rcode, ExtendedErrorOption? error)
    {
        var response = query.CreateResponse(rcode);
        response.Set(HeaderFlags.RA);
        if (error is not null && response.Edns is not null) response.Edns.Options.Add(error);
        return new Response(response);
    }
}

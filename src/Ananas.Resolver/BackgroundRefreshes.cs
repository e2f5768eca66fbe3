using System.Collections.Concurrent;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Iteration;

namespace Ananas.Resolver;

/// <summary>
/// A recursor's background work: prefetches (Unbound <c>prefetch</c>), refreshes behind stale answers (RFC 8767) and
/// resolutions that outlived their client timer, at most one per question and <see cref="RecursorOptions.MaxBackgroundRefreshes"/>
/// in all. Thread-safe.
/// </summary>
internal sealed class BackgroundRefreshes
{
    private readonly RecursorContext _context;
    private readonly ConcurrentDictionary<(DnsName, RRType), Task> _background = new();

    // Background work by question; every entry ends within Limits.MaxResolutionTime and holds one of the counted slots.
    private int _backgroundCount;
    private long _refreshesSkipped;
    private long _refreshCount;

    // Questions whose prefetch failed, held off for PrefetchFailureHoldDown (bounded: one entry per hostile name).
    private readonly HoldDownTable<(DnsName, RRType), bool> _prefetchHeldOff;

    public BackgroundRefreshes(RecursorContext context)
    {
        _context = context;
        _prefetchHeldOff = new HoldDownTable<(DnsName, RRType), bool>(context.Clock, Recursor.PrefetchFailureHoldDown,
            context.Options.PrefetchHoldOffCapacityBytes, QuestionCost.Instance);
    }

    public long Refreshes => Interlocked.Read(ref _refreshCount);

    public long Skipped => Interlocked.Read(ref _refreshesSkipped);

    public int InFlight => Volatile.Read(ref _backgroundCount);

    public long PrefetchHoldOffs => _prefetchHeldOff.Count;

    public async Task WhenIdleAsync()
    {
        while (!_background.IsEmpty) await Task.WhenAll(_background.Values).ConfigureAwait(false);
    }

    /// <summary>Resolves the question again in the background, bypassing the cache for its own names; one at a time per question.</summary>
    public void Start(Question question, IExchanger exchanger, bool prefetch = false)
    {
        var key = (question.Name, question.Type);
        if (_background.ContainsKey(key)) return;
        // After a failed prefetch the question is not prefetched again for PrefetchFailureHoldDown: the cached answer
        // is still good, and every client query would otherwise hammer the failing servers (Unbound iterator.c
        // error_response_cache: dns_cache_prefetch_adjust moves the entry's prefetch time by NORR_TTL, 5 s).
        if (prefetch && _prefetchHeldOff.Contains(key)) return;
        if (!TryReserveSlot()) return;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_background.TryAdd(key, done.Task))
        {
            Interlocked.Decrement(ref _backgroundCount);
            return;
        }
        Interlocked.Increment(ref _refreshCount);
        _ = RefreshAsync(key, question, exchanger, done, prefetch);
    }

    /// <summary>Keeps a resolution that outlived its client timer visible to <see cref="WhenIdleAsync"/>.</summary>
    public void Track((DnsName, RRType) key, Task work)
    {
        // The resolution runs on regardless (it ends within Limits.MaxResolutionTime); past the bound it is not tracked.
        if (!TryReserveSlot()) return;
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

    /// <summary>
    /// Takes one of the <see cref="RecursorOptions.MaxBackgroundRefreshes"/> slots: one client question adds a refresh,
    /// so a flood of distinct names must not start an unbounded number of them. Past the bound the refresh is skipped
    /// (the client still gets its cached or stale answer) and counted in <see cref="Skipped"/>.
    /// </summary>
    private bool TryReserveSlot()
    {
        if (Interlocked.Increment(ref _backgroundCount) <= _context.Options.MaxBackgroundRefreshes) return true;
        Interlocked.Decrement(ref _backgroundCount);
        Interlocked.Increment(ref _refreshesSkipped);
        return false;
    }

    private async Task RefreshAsync((DnsName, RRType) key, Question question, IExchanger exchanger, TaskCompletionSource done, bool prefetch)
    {
        try
        {
            var request = new Request(DnsMessage.CreateQuery(0, question.Name, question.Type, question.Class, recursionDesired: true));
            var refresh = new Resolution(_context, exchanger, request, CancellationToken.None) { Refresh = true };
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

    private sealed class QuestionCost : ICacheCost<(DnsName Name, RRType Type), bool>
    {
        public static readonly QuestionCost Instance = new();

        /// <summary>The name, the type and the entry's key tuple.</summary>
        public long CostOf((DnsName Name, RRType Type) key, bool value) => RecordCost.Of(key.Name) + 16;
    }
}

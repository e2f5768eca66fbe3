using Ananas.Dns;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Iteration;

namespace Ananas.Resolver;

/// <summary>
/// The resolver's parts built from one <see cref="RecursorOptions"/>: the record cache (sized and TTL-bounded from the
/// same options, with stale retention for serve-stale), the lame-server list and the recursor over them. The only
/// place they are assembled: the server's composition (<c>serve</c>, <c>resolve</c>) and the scenario runner call
/// <see cref="Create"/>; a configuration reload calls <see cref="Reconfigure"/>, which keeps the caches.
/// </summary>
public sealed class ResolverStack
{
    private readonly IClock _clock;
    private readonly IServerSelector _selector;
    private readonly Func<TimeSpan, CancellationToken, Task>? _clientTimer;

    private ResolverStack(IClock clock, IServerSelector selector, RecordCache records, LameServerList lame, Recursor recursor,
        Func<TimeSpan, CancellationToken, Task>? clientTimer)
    {
        _clock = clock;
        _selector = selector;
        _clientTimer = clientTimer;
        Records = records;
        Lame = lame;
        Recursor = recursor;
    }

    public RecordCache Records { get; }

    public LameServerList Lame { get; }

    public Recursor Recursor { get; }

    /// <param name="selector">Orders a zone's servers (the conductor's RTT selector in production).</param>
    /// <param name="clientTimer">The serve-stale client timer; null: real time (a virtual clock passes its own).</param>
    public static ResolverStack Create(RecursorOptions options, IClock clock, IServerSelector selector,
        Func<TimeSpan, CancellationToken, Task>? clientTimer = null)
    {
        var records = new RecordCache(clock, RecordCacheOptions.For(options));
        var lame = new LameServerList(clock, options.LameHoldDown);
        return new ResolverStack(clock, selector, records, lame, Build(options, clock, records, selector, lame, clientTimer), clientTimer);
    }

    /// <summary>A recursor with other options over the same caches and lame list (a reload: nothing learnt is lost).</summary>
    /// <param name="answers">The wire-format answer cache in front of the recursor: answers under a negative trust
    /// anchor added or removed (RFC 7646) are dropped from it, as their AD bit no longer holds; the record cache keeps
    /// the data, and the new recursor decides AD for it again.</param>
    public ResolverStack Reconfigure(RecursorOptions options, AnswerCache? answers = null)
    {
        if (answers is not null)
        {
            var before = NegativeAnchors(Recursor.Options);
            var after = NegativeAnchors(options);
            foreach (var name in before) if (!after.Contains(name)) answers.PurgeSubtree(name);
            foreach (var name in after) if (!before.Contains(name)) answers.PurgeSubtree(name);
        }
        return new(_clock, _selector, Records, Lame, Build(options, _clock, Records, _selector, Lame, _clientTimer), _clientTimer);
    }

    private static HashSet<DnsName> NegativeAnchors(RecursorOptions options) => [.. options.NegativeTrustAnchors, .. options.TrustAnchors.NegativeAnchors];

    private static Recursor Build(RecursorOptions options, IClock clock, RecordCache records, IServerSelector selector, LameServerList lame,
        Func<TimeSpan, CancellationToken, Task>? clientTimer) =>
        clientTimer is null ? new Recursor(options, clock, records, selector, lame) : new Recursor(options, clock, records, selector, lame) { ClientTimer = clientTimer };
}

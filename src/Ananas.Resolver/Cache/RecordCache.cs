using System.Collections.Concurrent;
using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Cache;

/// <summary>
/// A simple, unbounded, thread-safe <see cref="IRecordCache"/>: concurrent dictionaries keyed by lowercase owner,
/// type and class, entries expiring on the injected clock, RFC 2181 ranking on replacement. Expired entries are
/// dropped when met. (A byte-bounded ARC cache will replace it behind the same interface.)
/// </summary>
public sealed class RecordCache : IRecordCache
{
    private readonly IClock _clock;
    private readonly uint _maxTtl;
    private readonly uint _maxNegativeTtl;
    private readonly ConcurrentDictionary<Key, PositiveEntry> _positive = new();
    private readonly ConcurrentDictionary<Key, NegativeEntry> _noData = new();
    private readonly ConcurrentDictionary<(DnsName Name, RRClass Class), NegativeEntry> _nameErrors = new();
    private readonly ConcurrentDictionary<Key, PositiveEntry> _parentSideGlue = new();

    public RecordCache(IClock clock, TimeSpan? maxTtl = null, TimeSpan? maxNegativeTtl = null)
    {
        _clock = clock;
        _maxTtl = (uint)(maxTtl ?? TimeSpan.FromDays(1)).TotalSeconds;
        _maxNegativeTtl = (uint)(maxNegativeTtl ?? TimeSpan.FromHours(3)).TotalSeconds;
    }

    /// <summary>Entries held (expired ones included until met).</summary>
    public int Count => _positive.Count + _noData.Count + _nameErrors.Count;

    private readonly record struct Key(DnsName Name, RRType Type, RRClass Class);

    private sealed record PositiveEntry(RRset RRset, TrustRank Rank, ValidationState Validation, DateTimeOffset Expires);

    private sealed record NegativeEntry(NegativeAnswer Answer, TrustRank Rank, DateTimeOffset Expires);

    public CachedRRset? Get(DnsName name, RRType type, RRClass @class)
    {
        var key = new Key(name, type, @class);
        if (!_positive.TryGetValue(key, out var entry)) return null;
        var now = _clock.UtcNow;
        if (entry.Expires <= now)
        {
            _positive.TryRemove(new KeyValuePair<Key, PositiveEntry>(key, entry));
            return null;
        }
        return new CachedRRset(entry.RRset, entry.Rank, entry.Validation, Remaining(entry.Expires, now));
    }

    public void Store(RRset rrset, TrustRank rank, ValidationState validation = ValidationState.Unchecked)
    {
        uint ttl = Math.Min(rrset.Ttl, _maxTtl);
        if (ttl == 0) return;
        var now = _clock.UtcNow;
        var key = new Key(rrset.Name, rrset.Type, rrset.Class);
        var fresh = new PositiveEntry(rrset, rank, validation, now.AddSeconds(ttl));
        var stored = _positive.AddOrUpdate(key, fresh, (_, old) => old.Expires > now && old.Rank > rank ? old : fresh);
        if (stored != fresh) return;
        // Data now exists: a NODATA for this key or an NXDOMAIN for this very name is stale.
        if (_noData.TryGetValue(key, out var noData) && noData.Rank <= rank)
            _noData.TryRemove(new KeyValuePair<Key, NegativeEntry>(key, noData));
        if (_nameErrors.TryGetValue((rrset.Name, rrset.Class), out var nx) && nx.Rank <= rank)
            _nameErrors.TryRemove(new KeyValuePair<(DnsName, RRClass), NegativeEntry>((rrset.Name, rrset.Class), nx));
    }

    public void StoreParentSideGlue(RRset glue)
    {
        uint ttl = Math.Min(glue.Ttl, _maxTtl);
        if (ttl == 0) return;
        var now = _clock.UtcNow;
        _parentSideGlue[new Key(glue.Name, glue.Type, glue.Class)] = new PositiveEntry(glue, TrustRank.Additional, ValidationState.Unchecked, now.AddSeconds(ttl));
    }

    public CachedRRset? GetParentSideGlue(DnsName name, RRType type, RRClass @class)
    {
        var key = new Key(name, type, @class);
        if (!_parentSideGlue.TryGetValue(key, out var entry)) return null;
        var now = _clock.UtcNow;
        if (entry.Expires <= now)
        {
            _parentSideGlue.TryRemove(new KeyValuePair<Key, PositiveEntry>(key, entry));
            return null;
        }
        return new CachedRRset(entry.RRset, entry.Rank, entry.Validation, Remaining(entry.Expires, now));
    }

    public CachedNegative? GetNegative(DnsName name, RRType type, RRClass @class)
    {
        var now = _clock.UtcNow;
        var key = new Key(name, type, @class);
        if (_noData.TryGetValue(key, out var noData))
        {
            if (noData.Expires > now) return new CachedNegative(noData.Answer, noData.Rank, Remaining(noData.Expires, now));
            _noData.TryRemove(new KeyValuePair<Key, NegativeEntry>(key, noData));
        }
        if (_nameErrors.IsEmpty) return null;
        // RFC 8020: an NXDOMAIN for an ancestor denies this name too.
        for (int labels = name.LabelCount; labels >= 1; labels--)
        {
            var ancestor = labels == name.LabelCount ? name : name.GetAncestor(labels);
            if (!_nameErrors.TryGetValue((ancestor, @class), out var nx)) continue;
            if (nx.Expires > now)
            {
                var answer = ancestor.Equals(name) && nx.Answer.Type == type ? nx.Answer : nx.Answer with { Name = name, Type = type };
                return new CachedNegative(answer, nx.Rank, Remaining(nx.Expires, now));
            }
            _nameErrors.TryRemove(new KeyValuePair<(DnsName, RRClass), NegativeEntry>((ancestor, @class), nx));
        }
        return null;
    }

    public void StoreNegative(NegativeAnswer answer, TrustRank rank)
    {
        uint ttl = Math.Min(answer.Ttl, _maxNegativeTtl);
        if (ttl == 0) return;
        var now = _clock.UtcNow;
        var fresh = new NegativeEntry(answer, rank, now.AddSeconds(ttl));
        if (answer.Kind == NegativeKind.NameError)
        {
            _nameErrors.AddOrUpdate((answer.Name, answer.Class), fresh, (_, old) => old.Expires > now && old.Rank > rank ? old : fresh);
            return;
        }
        var key = new Key(answer.Name, answer.Type, answer.Class);
        // A lower-ranked NODATA does not hide better positive data.
        if (_positive.TryGetValue(key, out var positive) && positive.Expires > now && positive.Rank > rank) return;
        var stored = _noData.AddOrUpdate(key, fresh, (_, old) => old.Expires > now && old.Rank > rank ? old : fresh);
        if (stored == fresh && positive is not null) _positive.TryRemove(new KeyValuePair<Key, PositiveEntry>(key, positive));
    }

    public CachedRRset? FindClosestNameServers(DnsName name, RRClass @class)
    {
        for (int labels = name.LabelCount; labels >= 0; labels--)
        {
            var cut = labels == name.LabelCount ? name : name.GetAncestor(labels);
            var ns = Get(cut, RRType.NS, @class);
            if (ns is not null) return ns;
        }
        return null;
    }

    private static uint Remaining(DateTimeOffset expires, DateTimeOffset now)
    {
        double seconds = (expires - now).TotalSeconds;
        return seconds <= 0 ? 0 : (uint)Math.Ceiling(seconds);
    }
}

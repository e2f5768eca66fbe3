namespace Ananas.Resolver.Cache;

/// <summary>
/// Adaptive replacement (Megiddo and Modha, "ARC: A Self-Tuning, Low Overhead Replacement Cache", FAST 2003)
/// measured in bytes instead of pages. T1 and T2 hold resident entries seen once and at least twice
/// recently; B1 and B2 remember (keys only) what was evicted from each. A ghost hit in B1 says T1 is too
/// small and grows the target p; a ghost hit in B2 shrinks it. Every list size of the paper becomes a byte
/// count (a ghost counts the cost of the entry it remembers), every "1" becomes the requested entry's cost,
/// so the paper's bounds hold in bytes: T1+T2 ≤ c, T1+B1 ≤ c, T1+T2+B1+B2 ≤ 2c, 0 ≤ p ≤ c. The ghost
/// directory therefore remembers about as many keys as fit resident.
/// </summary>
internal sealed class ArcShard<TKey, TValue> : CacheShard<TKey, TValue> where TKey : notnull
{
    private readonly NodeList<TKey, TValue> _t1 = new(CacheList.T1);
    private readonly NodeList<TKey, TValue> _t2 = new(CacheList.T2);
    private readonly NodeList<TKey, TValue> _b1 = new(CacheList.B1);
    private readonly NodeList<TKey, TValue> _b2 = new(CacheList.B2);
    private readonly Dictionary<TKey, CacheNode<TKey, TValue>> _ghosts;

    /// <summary>Target size of T1 in bytes.</summary>
    private long _p;

    public ArcShard(long capacity, TimeSpan staleRetention, IEqualityComparer<TKey> comparer)
        : base(capacity, staleRetention, comparer)
    {
        _ghosts = new Dictionary<TKey, CacheNode<TKey, TValue>>(comparer);
    }

    internal ArcState State => new(Capacity, _p, _t1.Bytes, _t2.Bytes, _b1.Bytes, _b2.Bytes, _t1.Count, _t2.Count, _b1.Count, _b2.Count, _ghosts.Count, Map.Count, ResidentBytes);

    // Case I: a hit moves the entry to the MRU end of T2.
    protected override void OnRead(CacheNode<TKey, TValue> node)
    {
        if (node.List == CacheList.T1)
        {
            _t1.Remove(node);
            _t2.AddFirst(node);
        }
        else
        {
            _t2.MoveToFirst(node);
        }
    }

    protected override void Unlink(CacheNode<TKey, TValue> node) => ListOf(node).Remove(node);

    protected override void Admit(CacheNode<TKey, TValue> node, bool replacesResident)
    {
        long c = Capacity, size = node.Cost;
        if (replacesResident)
        {
            // Case I again: storing a key that is resident is a second reference to it.
            Replace(size, ghostHitInB2: false);
            _t2.AddFirst(node);
        }
        else if (_ghosts.Remove(node.Key, out var ghost))
        {
            if (ghost.List == CacheList.B1)
            {
                // Case II: T1 was too small. δ1 = 1 if |B1| ≥ |B2|, else |B2|/|B1| (in units of this entry).
                long delta = _b1.Bytes >= _b2.Bytes ? size : Scale(size, _b2.Bytes, _b1.Bytes);
                _p = Math.Min(_p + delta, c);
                _b1.Remove(ghost);
                Replace(size, ghostHitInB2: false);
            }
            else
            {
                // Case III: T2 was too small. δ2 = 1 if |B2| ≥ |B1|, else |B1|/|B2|.
                long delta = _b2.Bytes >= _b1.Bytes ? size : Scale(size, _b1.Bytes, _b2.Bytes);
                _p = Math.Max(_p - delta, 0);
                _b2.Remove(ghost);
                Replace(size, ghostHitInB2: true);
            }
            _t2.AddFirst(node);
        }
        else
        {
            // Case IV. A: L1 = T1 ∪ B1 is full: drop B1's LRU ghost, or, when B1 is empty, T1's LRU without a ghost.
            while (_t1.Bytes + _b1.Bytes + size > c)
            {
                if (_b1.Last is { } oldestGhost) DropGhost(_b1, oldestGhost);
                else EvictWithoutGhost(_t1, _t1.Last!);
            }
            // B: the whole directory is full: drop B2's LRU ghost.
            while (_t1.Bytes + _t2.Bytes + _b1.Bytes + _b2.Bytes + size > 2 * c && _b2.Last is { } oldestGhost)
                DropGhost(_b2, oldestGhost);
            Replace(size, ghostHitInB2: false);
            _t1.AddFirst(node);
        }
        TrimGhosts();
    }

    /// <summary>REPLACE(x, p) repeated until <paramref name="size"/> more bytes fit: evict from T1 while it is over target, else from T2.</summary>
    private void Replace(long size, bool ghostHitInB2)
    {
        while (ResidentBytes + size > Capacity)
        {
            bool fromT1 = _t1.Count > 0 && (_t1.Bytes > _p || (ghostHitInB2 && _t1.Bytes >= _p) || _t2.Count == 0);
            var (list, ghosts) = fromT1 ? (_t1, _b1) : (_t2, _b2);
            var victim = list.Last!;
            list.Remove(victim);
            Evict(victim);
            var ghost = new CacheNode<TKey, TValue>(victim.Key, default!, victim.Cost, 0);
            ghosts.AddFirst(ghost);
            _ghosts[victim.Key] = ghost;
        }
    }

    /// <summary>
    /// With byte sizes a ghost hit can bring back a larger entry than the ghost remembered, so the
    /// directory bounds are restored after every admission by forgetting the oldest ghosts.
    /// </summary>
    private void TrimGhosts()
    {
        long c = Capacity;
        while (_t1.Bytes + _b1.Bytes > c && _b1.Last is { } g1) DropGhost(_b1, g1);
        while (_t1.Bytes + _t2.Bytes + _b1.Bytes + _b2.Bytes > 2 * c && _b2.Last is { } g2) DropGhost(_b2, g2);
    }

    private void DropGhost(NodeList<TKey, TValue> list, CacheNode<TKey, TValue> ghost)
    {
        list.Remove(ghost);
        _ghosts.Remove(ghost.Key);
    }

    private void EvictWithoutGhost(NodeList<TKey, TValue> list, CacheNode<TKey, TValue> victim)
    {
        list.Remove(victim);
        Evict(victim);
    }

    private NodeList<TKey, TValue> ListOf(CacheNode<TKey, TValue> node) => node.List == CacheList.T1 ? _t1 : _t2;

    /// <summary>size × numerator / denominator without overflow for any realistic capacity.</summary>
    private static long Scale(long size, long numerator, long denominator) =>
        (long)Math.Min((double)size * numerator / denominator, long.MaxValue / 4);
}

/// <summary>A reading of one ARC shard's lists (bytes and counts), for invariant checks and diagnostics.</summary>
internal readonly record struct ArcState(
    long Capacity, long Target,
    long T1Bytes, long T2Bytes, long B1Bytes, long B2Bytes,
    int T1Count, int T2Count, int B1Count, int B2Count,
    int GhostKeys, int MapCount, long ResidentBytes);

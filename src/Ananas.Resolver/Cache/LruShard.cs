namespace Ananas.Resolver.Cache;

/// <summary>Plain least-recently-used replacement in bytes: the baseline ARC is measured against.</summary>
internal sealed class LruShard<TKey, TValue>(long capacity, TimeSpan staleRetention, IEqualityComparer<TKey> comparer)
    : CacheShard<TKey, TValue>(capacity, staleRetention, comparer) where TKey : notnull
{
    private readonly NodeList<TKey, TValue> _list = new(CacheList.Lru);

    protected override void OnRead(CacheNode<TKey, TValue> node) => _list.MoveToFirst(node);

    protected override void Unlink(CacheNode<TKey, TValue> node) => _list.Remove(node);

    protected override void Admit(CacheNode<TKey, TValue> node, bool replacesResident)
    {
        while (ResidentBytes + node.Cost > Capacity)
        {
            var victim = _list.Last!;
            _list.Remove(victim);
            Evict(victim);
        }
        _list.AddFirst(node);
    }
}

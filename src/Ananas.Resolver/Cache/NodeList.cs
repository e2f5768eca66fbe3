namespace Ananas.Resolver.Cache;

/// <summary>An intrusive doubly linked list of nodes, most recently used first, with its total cost. Guarded by the shard lock.</summary>
internal sealed class NodeList<TKey, TValue>(CacheList tag)
{
    public CacheList Tag { get; } = tag;

    /// <summary>Most recently used.</summary>
    public CacheNode<TKey, TValue>? First { get; private set; }

    /// <summary>Least recently used: the next victim.</summary>
    public CacheNode<TKey, TValue>? Last { get; private set; }

    public int Count { get; private set; }

    public long Bytes { get; private set; }

    public void AddFirst(CacheNode<TKey, TValue> node)
    {
        node.List = Tag;
        node.Previous = null;
        node.Next = First;
        if (First is null) Last = node;
        else First.Previous = node;
        First = node;
        Count++;
        Bytes += node.Cost;
    }

    public void Remove(CacheNode<TKey, TValue> node)
    {
        if (node.Previous is null) First = node.Next;
        else node.Previous.Next = node.Next;
        if (node.Next is null) Last = node.Previous;
        else node.Next.Previous = node.Previous;
        node.Previous = node.Next = null;
        node.List = CacheList.None;
        Count--;
        Bytes -= node.Cost;
    }

    public void MoveToFirst(CacheNode<TKey, TValue> node)
    {
        if (ReferenceEquals(First, node)) return;
        Remove(node);
        AddFirst(node);
    }
}

namespace Ananas.Resolver.Conductor;

/// <summary>
/// Coalesces identical upstream queries: the first request for a <see cref="QueryKey"/> becomes the leader and
/// starts the exchange; followers wait for the same <see cref="ExchangeResult"/>. Both the number of keys in
/// flight and the followers per key are bounded; beyond either, <see cref="TryJoin"/> says no and the caller
/// refuses at once rather than queueing. The lock guards only the dictionary, never any I/O.
/// </summary>
internal sealed class InFlightTable(int maxKeys, int maxWaitersPerKey)
{
    private readonly Dictionary<QueryKey, Entry> _entries = new();

    internal sealed class Entry
    {
        public readonly TaskCompletionSource<ExchangeResult> Result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Waiters;
    }

    public int Count
    {
        get { lock (_entries) return _entries.Count; }
    }

    public enum Join : byte
    {
        Leader,
        Follower,
        Full,
    }

    /// <summary>Joins the in-flight query for <paramref name="key"/>, or starts one (the caller is then the leader).</summary>
    public Join TryJoin(in QueryKey key, out Entry entry)
    {
        lock (_entries)
        {
            if (_entries.TryGetValue(key, out var existing))
            {
                entry = existing;
                if (existing.Waiters >= maxWaitersPerKey) return Join.Full;
                existing.Waiters++;
                return Join.Follower;
            }
            if (_entries.Count >= maxKeys)
            {
                entry = null!;
                return Join.Full;
            }
            entry = new Entry();
            _entries.Add(key, entry);
            return Join.Leader;
        }
    }

    /// <summary>Ends the in-flight query: later requests start a new one; the waiters get <paramref name="result"/>.</summary>
    public void Complete(in QueryKey key, Entry entry, ExchangeResult result)
    {
        lock (_entries)
        {
            if (_entries.TryGetValue(key, out var current) && ReferenceEquals(current, entry)) _entries.Remove(key);
        }
        entry.Result.TrySetResult(result);
    }
}

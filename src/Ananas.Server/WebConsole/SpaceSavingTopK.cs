namespace Ananas.Server.WebConsole;

/// <summary>
/// The most frequent keys of a stream in bounded memory (Metwally et al., "Space-Saving", 2005): at most
/// <c>capacity</c> counters; a new key when all are taken replaces the smallest and inherits its count (so a count
/// may overestimate by at most that inherited error, which is kept and reported).
/// </summary>
public sealed class SpaceSavingTopK(int capacity)
{
    private readonly Dictionary<string, (long Count, long Error)> _counters = new(capacity, StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public int Capacity => capacity;

    public void Add(string key)
    {
        lock (_lock)
        {
            if (_counters.TryGetValue(key, out var c))
            {
                _counters[key] = (c.Count + 1, c.Error);
                return;
            }
            if (_counters.Count < capacity)
            {
                _counters[key] = (1, 0);
                return;
            }
            // Full: the smallest counter is given to the new key (a linear scan; only sampled replies get here).
            string? smallest = null;
            long min = long.MaxValue;
            foreach (var (k, v) in _counters)
            {
                if (v.Count >= min) continue;
                min = v.Count;
                smallest = k;
            }
            _counters.Remove(smallest!);
            _counters[key] = (min + 1, min);
        }
    }

    /// <summary>The <paramref name="n"/> largest counts, largest first.</summary>
    public List<(string Key, long Count, long Error)> Top(int n)
    {
        List<(string, long, long)> all;
        lock (_lock) all = [.. _counters.Select(kv => (kv.Key, kv.Value.Count, kv.Value.Error))];
        all.Sort((a, b) => b.Item2 != a.Item2 ? b.Item2.CompareTo(a.Item2) : string.CompareOrdinal(a.Item1, b.Item1));
        return all.Count > n ? all[..n] : all;
    }

    public void Clear()
    {
        lock (_lock) _counters.Clear();
    }
}

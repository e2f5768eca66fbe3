using System.Text;

namespace Ananas.Sandbox;

/// <summary>
/// The counters one plugin version adds to with <c>counter_add</c>. Adding to a known name scans a small array
/// and adds atomically, allocating nothing; a new name copies the array under a lock. Bounded, so a guest
/// cannot grow host memory with made-up names.
/// </summary>
internal sealed class GuestCounters
{
    public const int MaxNames = 256;
    public const int MaxNameLength = 128;

    private sealed class Entry(byte[] name)
    {
        public readonly byte[] Name = name;
        public long Value;
    }

    private readonly object _gate = new();
    private volatile Entry[] _entries = [];

    /// <summary>False when the name is new and the table is full or the name is too long (the add is dropped).</summary>
    public bool Add(ReadOnlySpan<byte> name, long delta)
    {
        if (Find(_entries, name) is { } entry)
        {
            Interlocked.Add(ref entry.Value, delta);
            return true;
        }
        if (name.Length > MaxNameLength) return false;
        lock (_gate)
        {
            var entries = _entries;
            entry = Find(entries, name);
            if (entry is null)
            {
                if (entries.Length >= MaxNames) return false;
                entry = new Entry(name.ToArray());
                _entries = [.. entries, entry];
            }
        }
        Interlocked.Add(ref entry.Value, delta);
        return true;
    }

    private static Entry? Find(Entry[] entries, ReadOnlySpan<byte> name)
    {
        foreach (var e in entries)
        {
            if (name.SequenceEqual(e.Name)) return e;
        }
        return null;
    }

    public IReadOnlyList<KeyValuePair<string, long>> Snapshot()
    {
        var entries = _entries;
        var list = new List<KeyValuePair<string, long>>(entries.Length);
        foreach (var e in entries) list.Add(new(Encoding.UTF8.GetString(e.Name), Interlocked.Read(ref e.Value)));
        return list;
    }
}

using System.Runtime.InteropServices;

namespace Ananas.Resolver.Cache;

/// <summary>
/// A bounded, lossy, lock-free multi-producer ring of recent reads (the Caffeine design). Readers append
/// without locking and drop the record when the ring is full or another reader wins the slot: a lost
/// record only makes the replacement policy slightly less informed. The single consumer (whoever holds
/// the shard lock) replays the records into the policy.
/// </summary>
internal sealed class ReadBuffer<T> where T : class
{
    public const int Capacity = 64;
    private const int Mask = Capacity - 1;

    private readonly T?[] _slots = new T?[Capacity];
    private ReadBufferCounters _counters;

    /// <summary>
    /// Appends <paramref name="item"/> if there is room. Returns the number of pending records afterwards,
    /// <see cref="Capacity"/> when the ring was full (the record is dropped), or 0 when it lost a race (dropped too).
    /// </summary>
    public int TryAdd(T item)
    {
        long tail = Volatile.Read(ref _counters.Tail);
        long pending = tail - Volatile.Read(ref _counters.Head);
        if (pending >= Capacity) return Capacity;
        if (Interlocked.CompareExchange(ref _counters.Tail, tail + 1, tail) != tail) return 0;
        Volatile.Write(ref _slots[tail & Mask], item);
        return (int)pending + 1;
    }

    /// <summary>Takes the oldest published record. Only the lock holder calls this.</summary>
    public bool TryTake(out T? item)
    {
        long head = _counters.Head;
        if (head == Volatile.Read(ref _counters.Tail)) { item = null; return false; }
        ref T? slot = ref _slots[head & Mask];
        item = Volatile.Read(ref slot);
        // A producer claimed the slot but has not written it yet: stop here, the next drain gets it.
        if (item is null) return false;
        slot = null;
        Volatile.Write(ref _counters.Head, head + 1);
        return true;
    }
}

/// <summary>Head and tail of a <see cref="ReadBuffer{T}"/> on separate cache lines (explicit layout cannot be generic).</summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
internal struct ReadBufferCounters
{
    [FieldOffset(64)] public long Head;
    [FieldOffset(128)] public long Tail;
}

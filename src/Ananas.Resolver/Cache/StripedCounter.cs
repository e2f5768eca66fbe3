using System.Runtime.CompilerServices;

namespace Ananas.Resolver.Cache;

/// <summary>
/// A counter incremented from many threads without contending on one cache line: each thread adds to
/// one of several padded cells, and a read sums them.
/// </summary>
public sealed class StripedCounter
{
    // 8 longs = 64 bytes: one cell per cache line.
    private const int Stride = 8;
    private readonly long[] _cells;
    private readonly int _mask;

    public StripedCounter()
    {
        int stripes = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(Environment.ProcessorCount * 2, 2, 64));
        _mask = stripes - 1;
        _cells = new long[(stripes + 1) * Stride]; // one spare line so the first cell is not next to the array header
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Increment()
    {
        int cell = ((Environment.CurrentManagedThreadId & _mask) + 1) * Stride;
        Interlocked.Increment(ref _cells[cell]);
    }

    public long Read()
    {
        long sum = 0;
        for (int i = Stride; i < _cells.Length; i += Stride) sum += Volatile.Read(ref _cells[i]);
        return sum;
    }
}

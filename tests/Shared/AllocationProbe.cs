using System.Runtime.CompilerServices;

namespace Ananas.Tests.Shared;

/// <summary>
/// Measures bytes allocated per call on the current thread. Tiered compilation and on-stack replacement can
/// allocate on the measuring thread once, and another thread's allocations can retire this thread's allocation
/// context, whose unused remainder (up to ~8 KB) then reads as allocated here; a real per-call allocation shows
/// in every round, so the probe warms up, measures several rounds and reports the smallest.
/// </summary>
internal static class AllocationProbe
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static long BytesPerRound(Action body, int callsPerRound = 1000, int rounds = 3)
    {
        for (int i = 0; i < callsPerRound; i++) body();
        long best = long.MaxValue;
        for (int r = 0; r < rounds; r++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < callsPerRound; i++) body();
            best = Math.Min(best, GC.GetAllocatedBytesForCurrentThread() - before);
            if (best == 0) break;
        }
        return best;
    }
}

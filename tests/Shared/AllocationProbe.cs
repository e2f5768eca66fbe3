using System.Runtime.CompilerServices;

namespace Ananas.Tests.Shared;

/// <summary>
/// Measures bytes allocated per call on the current thread. Tiered compilation and on-stack replacement can
/// allocate on the measuring thread, and run the unoptimised code until a background compilation finishes (later
/// on a loaded host); another thread's allocations can retire this thread's allocation context, whose unused
/// remainder (up to ~8 KB) then reads as allocated here. A real per-call allocation shows in every round, so the
/// probe warms up, measures rounds until one is clean (giving the compiler time between them, at most about a
/// second) and reports the smallest.
/// </summary>
internal static class AllocationProbe
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static long BytesPerRound(Action body, int callsPerRound = 1000, int rounds = 3)
    {
        for (int i = 0; i < callsPerRound; i++) body();
        long best = long.MaxValue;
        int most = Math.Max(rounds, 20);
        for (int r = 0; r < most; r++)
        {
            if (r >= rounds) Thread.Sleep(50); // a noisy start: let tiering finish before the next round
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < callsPerRound; i++) body();
            best = Math.Min(best, GC.GetAllocatedBytesForCurrentThread() - before);
            if (best == 0) break;
        }
        return best;
    }
}

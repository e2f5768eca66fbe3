using Ananas.Resolver.Tests.Fakes;
using Ananas.Tests.Shared;
using Ananas.Resolver.Cache;

namespace Ananas.Resolver.Tests.Cache;

public sealed class ArcCacheTests
{
    private const int Payload = 100;
    private static readonly long Overhead = CacheEntryOverhead.For<int>();

    /// <summary>Bytes charged for one entry of <see cref="Payload"/> bytes.</summary>
    private static readonly long Unit = Payload + Overhead;

    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private static ArcCache<int, int> NewArc(VirtualClock clock, long entries, int shards = 1, TimeSpan? staleRetention = null) =>
        new(new CacheOptions { CapacityBytes = entries * Unit, ShardCount = shards, StaleRetention = staleRetention ?? TimeSpan.Zero }, clock, ValueIsCost.Instance);

    private static LruCache<int, int> NewLru(VirtualClock clock, long entries) =>
        new(new CacheOptions { CapacityBytes = entries * Unit, ShardCount = 1 }, clock, ValueIsCost.Instance);

    private static void AssertInvariants(ArcCache<int, int> cache)
    {
        for (int i = 0; i < cache.ShardCount; i++)
        {
            var s = cache.GetShardState(i);
            long c = s.Capacity;
            Assert.True(s.T1Bytes + s.T2Bytes <= c, $"resident {s.T1Bytes + s.T2Bytes} > c {c}");
            Assert.Equal(s.T1Bytes + s.T2Bytes, s.ResidentBytes);
            Assert.True(s.T1Bytes + s.B1Bytes <= c, $"|T1|+|B1| = {s.T1Bytes + s.B1Bytes} > c {c}");
            Assert.True(s.T1Bytes + s.T2Bytes + s.B1Bytes + s.B2Bytes <= 2 * c, "directory larger than 2c");
            Assert.InRange(s.Target, 0, c);
            Assert.Equal(s.T1Count + s.T2Count, s.MapCount);
            Assert.Equal(s.B1Count + s.B2Count, s.GhostKeys);
            Assert.True(s.T1Bytes >= 0 && s.T2Bytes >= 0 && s.B1Bytes >= 0 && s.B2Bytes >= 0);
        }
    }

    [Fact]
    public void Invariants_HoldAfterEveryOperation_RandomisedWorkload()
    {
        var clock = new VirtualClock();
        var cache = NewArc(clock, entries: 50);
        var random = new Random(1234);
        for (int op = 0; op < 20_000; op++)
        {
            // A skewed key space (small keys more likely) so that ghosts get hit from both lists.
            int key = (int)Math.Pow(random.Next(1, 400), 1.5) % 600;
            switch (random.Next(10))
            {
                case < 5:
                    cache.TryGet(key, out _);
                    break;
                case < 9:
                    cache.Set(key, random.Next(1, 4 * Payload), TimeSpan.FromSeconds(random.Next(0, 600)));
                    break;
                default:
                    if (random.Next(2) == 0) cache.Remove(key);
                    else clock.Advance(TimeSpan.FromSeconds(random.Next(1, 30)));
                    break;
            }
            AssertInvariants(cache);
        }
        Assert.True(cache.GetStatistics().Evictions > 0);
    }

    [Fact]
    public void GhostHitInB1_GrowsTarget_GhostHitInB2_ShrinksTarget()
    {
        var clock = new VirtualClock();
        var cache = NewArc(clock, entries: 10);
        for (int k = 0; k < 10; k++) cache.Set(k, Payload, Hour);
        for (int k = 0; k < 5; k++) Assert.True(cache.TryGet(k, out _)); // 0..4 → T2
        cache.Set(10, Payload, Hour); // evicts T1's LRU (5) into B1
        cache.Set(11, Payload, Hour); // evicts 6 into B1
        var before = cache.GetShardState(0);
        Assert.Equal(0, before.Target);
        Assert.Equal(2, before.B1Count);

        cache.Set(5, Payload, Hour); // ghost hit in B1 (|B1| ≥ |B2|: p grows by one entry)
        var afterB1 = cache.GetShardState(0);
        Assert.Equal(Unit, afterB1.Target);

        foreach (int k in new[] { 8, 9, 10, 11 }) Assert.True(cache.TryGet(k, out _)); // T1 empties into T2
        cache.Set(12, Payload, Hour); // T1 is empty, so T2's LRU (0) goes to B2
        Assert.Equal(1, cache.GetShardState(0).B2Count);

        cache.Set(0, Payload, Hour); // ghost hit in B2: |B1| = 2 > |B2| = 1, p shrinks by 2 entries, floored at 0
        var afterB2 = cache.GetShardState(0);
        Assert.True(afterB2.Target < afterB1.Target);
        Assert.Equal(0, afterB2.Target);
        AssertInvariants(cache);
    }

    [Fact]
    public void FrequentEntries_SurviveAOnePassScan_ThatFlushesAnLru()
    {
        var clock = new VirtualClock();
        var arc = NewArc(clock, entries: 10);
        var lru = NewLru(clock, entries: 10);
        foreach (var cache in new ShardedCache<int, int>[] { arc, lru })
        {
            for (int k = 0; k < 5; k++) cache.Set(k, Payload, Hour);
            for (int k = 0; k < 5; k++) cache.TryGet(k, out _);
            for (int k = 1000; k < 1100; k++) cache.Set(k, Payload, Hour); // the scan: each name once
        }
        for (int k = 0; k < 5; k++)
        {
            Assert.True(arc.TryGet(k, out _), $"ARC lost frequent key {k}");
            Assert.False(lru.TryGet(k, out _), $"LRU kept key {k}");
        }
        AssertInvariants(arc);
    }

    [Fact]
    public void ExpiredEntry_IsAMiss_AndIsRemovedLazily()
    {
        var clock = new VirtualClock();
        var cache = NewArc(clock, entries: 10);
        cache.Set(1, Payload, TimeSpan.FromSeconds(30));
        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.True(cache.TryGet(1, out _));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet(1, out _)); // expiry is exclusive: at expiresAt the entry is gone
        Assert.Equal(1, cache.Count); // still resident until the next drain
        cache.Set(2, Payload, Hour); // a write replays the recorded read, which removes it
        Assert.Equal(1, cache.Count);
        Assert.Equal(1, cache.GetStatistics().Expirations);
        Assert.False(cache.TryGet(1, out _));
    }

    [Fact]
    public void RemoveExpired_SweepsEverythingPastItsExpiry()
    {
        var clock = new VirtualClock();
        var cache = NewArc(clock, entries: 10);
        cache.Set(1, Payload, TimeSpan.FromSeconds(10));
        cache.Set(2, Payload, TimeSpan.FromSeconds(20));
        cache.Set(3, Payload, TimeSpan.FromSeconds(30));
        clock.Advance(TimeSpan.FromSeconds(25));
        Assert.Equal(2, cache.RemoveExpired());
        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet(3, out _));
    }

    [Fact]
    public void TtlZero_IsNotCached_AndDropsTheOlderEntry()
    {
        var clock = new VirtualClock();
        var cache = NewArc(clock, entries: 10);
        Assert.False(cache.Set(1, Payload, TimeSpan.Zero));
        Assert.False(cache.TryGet(1, out _));
        Assert.True(cache.Set(2, Payload, Hour));
        Assert.False(cache.Set(2, Payload, TimeSpan.Zero));
        Assert.False(cache.TryGet(2, out _));
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.ResidentBytes);
    }

    [Fact]
    public void Stale_IsServedWithinTheCallersWindow_WhileRetained()
    {
        var clock = new VirtualClock();
        var cache = NewArc(clock, entries: 10, staleRetention: TimeSpan.FromMinutes(10));
        cache.Set(1, 42, TimeSpan.FromSeconds(30));
        Assert.Equal(CacheLookup.Fresh, cache.TryGet(1, TimeSpan.FromMinutes(5), out int v, out var expiresAt));
        Assert.Equal(42, v);
        Assert.Equal(clock.UtcNow.AddSeconds(30), expiresAt);
        clock.Advance(TimeSpan.FromMinutes(3));
        Assert.False(cache.TryGet(1, out _));
        Assert.Equal(CacheLookup.Stale, cache.TryGet(1, TimeSpan.FromMinutes(5), out v, out _));
        Assert.Equal(42, v);
        Assert.Equal(CacheLookup.Miss, cache.TryGet(1, TimeSpan.FromMinutes(1), out _, out _));
        clock.Advance(TimeSpan.FromMinutes(10)); // beyond the retention: removed on the next sweep
        Assert.Equal(1, cache.RemoveExpired());
        Assert.Equal(CacheLookup.Miss, cache.TryGet(1, TimeSpan.FromHours(1), out _, out _));
        Assert.Equal(1, cache.GetStatistics().StaleHits);
    }

    [Fact]
    public void ByteBound_IsNeverExceeded_UnderConcurrentRandomisedWriters()
    {
        var clock = new VirtualClock();
        var arc = new ArcCache<int, int>(new CacheOptions { CapacityBytes = 64 * Unit, ShardCount = 4 }, clock, ValueIsCost.Instance);
        var lru = new LruCache<int, int>(new CacheOptions { CapacityBytes = 64 * Unit, ShardCount = 4 }, clock, ValueIsCost.Instance);
        foreach (var cache in new ShardedCache<int, int>[] { arc, lru })
        {
            long violations = 0;
            var threads = new Thread[4];
            for (int t = 0; t < threads.Length; t++)
            {
                int seed = t;
                threads[t] = new Thread(() =>
                {
                    var random = new Random(seed);
                    for (int op = 0; op < 50_000; op++)
                    {
                        int key = random.Next(2000);
                        switch (random.Next(8))
                        {
                            case < 4: cache.TryGet(key, out _); break;
                            case < 7: cache.Set(key, random.Next(1, 8 * Payload), TimeSpan.FromSeconds(random.Next(1, 100))); break;
                            default: cache.Remove(key); break;
                        }
                        if (cache.ResidentBytes > cache.CapacityBytes) Interlocked.Increment(ref violations);
                    }
                });
                threads[t].Start();
            }
            foreach (var thread in threads) thread.Join();
            Assert.Equal(0, violations);
            Assert.True(cache.ResidentBytes <= cache.CapacityBytes);
            var stats = cache.GetStatistics();
            Assert.True(stats.Evictions > 0);
            Assert.Equal(cache.ResidentBytes, stats.ResidentBytes);
        }
        AssertInvariants(arc);
    }

    [Fact]
    public void Statistics_CountHitsMissesInsertionsEvictionsAndBytes()
    {
        var clock = new VirtualClock();
        var cache = NewArc(clock, entries: 3);
        for (int k = 0; k < 5; k++) cache.Set(k, Payload, Hour);
        cache.TryGet(4, out _);
        cache.TryGet(3, out _);
        cache.TryGet(0, out _);
        var stats = cache.GetStatistics();
        Assert.Equal(2, stats.Hits);
        Assert.Equal(1, stats.Misses);
        Assert.Equal(5, stats.Insertions);
        Assert.Equal(2, stats.Evictions);
        Assert.Equal(3, stats.EntryCount);
        Assert.Equal(3 * Unit, stats.ResidentBytes);
        Assert.Equal(3 * Unit, stats.CapacityBytes);
        Assert.Equal(2.0 / 3, stats.HitRatio, 6);
    }

    [Fact]
    public void EntryLargerThanAShard_IsNotAdmitted()
    {
        var clock = new VirtualClock();
        var cache = NewArc(clock, entries: 4, shards: 2);
        Assert.False(cache.Set(1, (int)(3 * Unit), Hour));
        Assert.True(cache.Set(2, Payload, Hour));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Remove_AndRemoveWhere_PurgeEntries()
    {
        var clock = new VirtualClock();
        var cache = NewArc(clock, entries: 100, shards: 4);
        for (int k = 0; k < 50; k++) cache.Set(k, Payload, Hour);
        Assert.True(cache.Remove(7));
        Assert.False(cache.Remove(7));
        Assert.False(cache.TryGet(7, out _));
        Assert.Equal(24, cache.RemoveWhere(static (key, _) => key % 2 == 1));
        Assert.Equal(25, cache.Count);
        for (int k = 0; k < 50; k++) Assert.Equal(k % 2 == 0, cache.TryGet(k, out _));
        Assert.Equal(25, cache.GetStatistics().Removals);
        Assert.Equal(25 * Unit, cache.ResidentBytes);
    }

    [Fact]
    public void Replacing_AnEntry_ChargesTheNewCost()
    {
        var clock = new VirtualClock();
        var cache = NewArc(clock, entries: 10);
        cache.Set(1, Payload, Hour);
        cache.Set(1, 2 * Payload, Hour);
        Assert.True(cache.TryGet(1, out int v));
        Assert.Equal(2 * Payload, v);
        Assert.Equal(2 * Payload + Overhead, cache.ResidentBytes);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Hit_AllocatesNothing()
    {
        var clock = new VirtualClock();
        var cache = NewArc(clock, entries: 1000, shards: 16);
        for (int k = 0; k < 500; k++) cache.Set(k, Payload, Hour);
        int calls = 0, hits = 0;
        long allocated = AllocationProbe.BytesPerRound(() =>
        {
            if (cache.TryGet(calls++ % 500, out _)) hits++;
        }, callsPerRound: 100_000);
        Assert.Equal(calls, hits);
        Assert.Equal(0, allocated);
    }
}

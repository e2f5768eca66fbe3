using Ananas.Authoritative.Answering;
using Ananas.Authoritative.Signing;
using Ananas.Authoritative.Store;
using Ananas.Dns.Zones;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Authoritative.Tests;

/// <summary>The reply cache in front of the store: hits read nothing, and no reply outlives the data it was made from.</summary>
public sealed class ReplyCacheTests
{
    private static readonly AuthoritativeOptions Cached = new() { ReplyCacheSize = 1024 };

    [Fact]
    public void A_repeated_question_is_answered_from_the_cache_without_a_store_read_and_with_the_same_bytes()
    {
        using var store = StoreFixture.With(Cached, StoreFixture.ExampleZone);
        var first = Raw(store, "www.example.com.", RRType.A, id: 1, out int readsFirst);
        var second = Raw(store, "www.example.com.", RRType.A, id: 2, out int readsSecond);
        Assert.Equal(1, readsFirst);
        Assert.Equal(0, readsSecond);
        Assert.Equal(first.AsSpan(2).ToArray(), second.AsSpan(2).ToArray());
        Assert.Equal(2, DnsMessage.Parse(second).Id);
        Assert.Equal(1, store.Answerer.Replies!.Hits);
        // Negative answers and refusals are cached the same way.
        Raw(store, "nothere.example.com.", RRType.A, id: 3, out _);
        Assert.Equal(Rcode.NXDomain, DnsMessage.Parse(Raw(store, "nothere.example.com.", RRType.A, id: 4, out int readsMissing)).Rcode);
        Assert.Equal(0, readsMissing);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // what another process's import does: a commit through its own environment
    public void A_write_to_the_store_makes_every_cached_reply_stale_at_once(bool throughAnotherHandle)
    {
        using var store = StoreFixture.With(Cached, StoreFixture.ExampleZone);
        Raw(store, "www.example.com.", RRType.A, id: 1, out _);
        Raw(store, "www.example.com.", RRType.A, id: 2, out int readsHit);
        Assert.Equal(0, readsHit);
        ulong before = store.Store.LastCommitted();
        var changed = StoreFixture.ExampleZone.Replace("192.0.2.80", "192.0.2.81");
        if (!throughAnotherHandle) store.Import(changed);
        else
        {
            using var other = new EdgeStore(store.Directory);
            var file = ZoneFileReader.Parse(changed, "other.zone");
            ZoneWriter.Replace(other, [ZoneImage.Build(file.FirstOrigin!, file.Records.Select(r => r.Record))]);
        }
        Assert.True(store.Store.LastCommitted() > before);
        var reply = DnsMessage.Parse(Raw(store, "www.example.com.", RRType.A, id: 3, out int reads));
        Assert.Equal(1, reads);
        Assert.Equal("192.0.2.81", Assert.Single(reply.Answers).Data.ToString());
    }

    [Fact]
    public void After_hits_a_write_is_seen_by_the_next_store_read_and_by_the_repeated_question()
    {
        // A hit takes no read transaction; the reads after it must still be of the newest snapshot.
        using var store = StoreFixture.With(Cached, StoreFixture.ExampleZone);
        Raw(store, "www.example.com.", RRType.A, id: 1, out _);
        Raw(store, "www.example.com.", RRType.A, id: 2, out int readsHit);
        Assert.Equal(0, readsHit);
        store.Import(StoreFixture.ExampleZone.Replace("192.0.2.80", "192.0.2.81").Replace("192.0.2.1\n", "192.0.2.2\n"));
        var other = DnsMessage.Parse(Raw(store, "ns1.example.com.", RRType.A, id: 3, out int readsOther));
        Assert.Equal(1, readsOther);
        Assert.Equal("192.0.2.2", Assert.Single(other.Answers).Data.ToString());
        var repeated = DnsMessage.Parse(Raw(store, "www.example.com.", RRType.A, id: 4, out int readsRepeated));
        Assert.Equal(1, readsRepeated);
        Assert.Equal("192.0.2.81", Assert.Single(repeated.Answers).Data.ToString());
    }

    [Fact]
    public void A_new_zone_is_answered_once_the_index_reloads_not_refused_from_the_cache()
    {
        using var store = StoreFixture.With(Cached, StoreFixture.ExampleZone);
        const string Other = "$ORIGIN other.test.\n@ 60 IN SOA ns h 1 2 3 4 5\n@ 60 IN NS ns\nns 60 IN A 192.0.2.43\n";
        Assert.Equal(Rcode.Refused, DnsMessage.Parse(Raw(store, "ns.other.test.", RRType.A, id: 1, out _)).Rcode);
        store.Import(Other);
        // Between the write and the index reload the old index answers (and that reply may be cached) ...
        Assert.Equal(Rcode.Refused, DnsMessage.Parse(Raw(store, "ns.other.test.", RRType.A, id: 2, out _)).Rcode);
        Assert.True(store.Answerer.Refresh());
        // ... but nothing made with the old index is served after it.
        Assert.Equal(Rcode.NoError, DnsMessage.Parse(Raw(store, "ns.other.test.", RRType.A, id: 3, out _)).Rcode);
    }

    [Fact]
    public void The_name_is_echoed_as_asked_and_each_size_limit_gets_its_own_reply()
    {
        var big = "$ORIGIN example.com.\n@ 60 IN SOA ns1 h 1 2 3 4 5\n@ 60 IN NS ns1\nns1 60 IN A 192.0.2.1\n"
            + string.Concat(Enumerable.Range(1, 40).Select(i => $"many 60 IN A 198.51.100.{i}\n"));
        using var store = StoreFixture.With(Cached, big);
        Raw(store, "many.example.com.", RRType.A, id: 1, out _);
        var mixed = DnsMessage.Parse(Raw(store, "MaNy.example.com.", RRType.A, id: 2, out int reads));
        Assert.Equal(1, reads); // another spelling is another entry
        Assert.Equal("MaNy.example.com.", mixed.Question.Name.ToString());
        var small = store.Ask("many.example.com.", RRType.A, out _, edns: false);
        Assert.True(small.Has(HeaderFlags.TC));
        var large = store.Ask("many.example.com.", RRType.A, out _, payload: 4096);
        Assert.False(large.Has(HeaderFlags.TC));
        Assert.Equal(40, large.Answers.Count);
        Assert.True(store.Ask("many.example.com.", RRType.A, out _, edns: false).Has(HeaderFlags.TC));
    }

    [Fact]
    public void Signed_replies_are_made_each_time_and_never_cached()
    {
        using var store = StoreFixture.With(Cached, StoreFixture.ExampleZone);
        KeyTable.Generate(store.Store, DnsName.Parse("example.com."), SigningKey.EcdsaP256Sha256, DateTimeOffset.UtcNow);
        Assert.True(store.Answerer.Refresh());
        store.Ask("www.example.com.", RRType.A, out _, dnssecOk: true);
        var signed = store.Ask("www.example.com.", RRType.A, out int reads, dnssecOk: true);
        Assert.Equal(1, reads);
        Assert.Contains(signed.Answers, r => r.Type == RRType.RRSIG);
        // The same question without DO has no signatures and is cached.
        store.Ask("www.example.com.", RRType.A, out _);
        store.Ask("www.example.com.", RRType.A, out int unsignedReads);
        Assert.Equal(0, unsignedReads);
    }

    [Fact]
    public void Threads_asking_different_names_through_a_small_cache_each_get_their_own_answer()
    {
        var zone = "$ORIGIN example.com.\n@ 60 IN SOA ns1 h 1 2 3 4 5\n@ 60 IN NS ns1\nns1 60 IN A 192.0.2.1\n"
            + string.Concat(Enumerable.Range(0, 64).Select(i => $"h{i} 60 IN A 198.51.100.{i}\n"));
        using var store = StoreFixture.With(new AuthoritativeOptions { ReplyCacheSize = 8 }, zone);
        var queries = Enumerable.Range(0, 64)
            .Select(i => DnsMessage.CreateQuery((ushort)i, DnsName.Parse($"h{i}.example.com."), RRType.A, recursionDesired: false).ToArray()).ToArray();
        int wrong = 0;
        Parallel.For(0, 4, worker =>
        {
            var reply = new byte[1232];
            for (int n = 0; n < 5_000; n++)
            {
                // Each name four times running (hits), the names rotating through more keys than the cache holds (evictions).
                int i = (n / 4 * 7 + worker * 13) % 64;
                int length = store.Answerer.Answer(queries[i], reply, reply.Length, out _);
                var message = DnsMessage.Parse(reply.AsSpan(0, length));
                if (message.Id != i || message.Answers.Count != 1 || message.Answers[0].Data.ToString() != $"198.51.100.{i}") Interlocked.Increment(ref wrong);
            }
        });
        Assert.Equal(0, wrong);
        Assert.True(store.Answerer.Replies!.Hits > 0);
    }

    [Fact]
    public void Hits_are_counted_as_answers_by_rcode_and_as_answers_without_a_store_read()
    {
        using var store = StoreFixture.With(Cached, StoreFixture.ExampleZone);
        for (ushort id = 1; id <= 3; id++) Raw(store, "www.example.com.", RRType.A, id, out _);
        for (ushort id = 4; id <= 5; id++) Raw(store, "nothere.example.com.", RRType.A, id, out _);
        var sb = new System.Text.StringBuilder();
        store.Answerer.Counters.AppendPrometheus(sb, 1, 1, store.Answerer.Replies);
        var metrics = sb.ToString();
        Assert.Equal(3, store.Answerer.Replies!.Hits);
        Assert.Contains("ananas_auth_answers_total{rcode=\"NOERROR\"} 3\n", metrics);
        Assert.Contains("ananas_auth_answers_total{rcode=\"NXDOMAIN\"} 2\n", metrics);
        Assert.Contains("ananas_auth_queries_by_reads_total{reads=\"0\"} 3\n", metrics);
        Assert.Contains("ananas_auth_queries_by_reads_total{reads=\"1\"} 2\n", metrics);
    }

    [Fact]
    public void Filling_the_cache_past_its_capacity_takes_no_page_fault_and_allocates_nothing_on_the_answering_thread()
    {
        var cache = new ReplyCache(32_768); // 16 MiB of slots: 4,096 pages
        Fill(cache, 0, 1); // compiled before the count (the JIT's own memory is not the cache's)
        long faults = ThreadMinorFaults();
        // Measured in rounds: another thread's allocations can retire this thread's allocation context, whose unused
        // remainder (up to ~8 KB) then reads as allocated here in one rare round; an allocation per store shows in every round.
        const int Rounds = 8;
        int perRound = 2 * cache.Capacity / Rounds;
        var allocated = new long[Rounds];
        for (int round = 0; round < Rounds; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Fill(cache, 1 + round * perRound, perRound);
            allocated[round] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        long taken = ThreadMinorFaults() - faults;
        Assert.True(allocated.Count(bytes => bytes == 0) >= Rounds - 1, $"bytes allocated per {perRound} stores, by round: {string.Join(", ", allocated)}");
        Assert.True(cache.Stores > cache.Capacity);
        // Without the cache's memory touched when it is made, this is about one fault per 4 KiB page of it.
        Assert.True(taken < 64, $"{taken} page faults while filling the cache");
    }

    /// <summary>Stores and reads back <paramref name="count"/> distinct keys (optimized at once: no recompilation mid-loop).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining | System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void Fill(ReplyCache cache, int from, int count)
    {
        Span<byte> key = stackalloc byte[16];
        Span<byte> reply = stackalloc byte[200];
        Span<byte> copy = stackalloc byte[512];
        key.Clear();
        reply.Fill(7);
        for (int i = from; i < from + count; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(key, i);
            cache.Store(key, 1, 1, reply);
            if (cache.TryCopy(key, 1, 1, copy) != reply.Length) throw new InvalidOperationException($"key {i} not read back");
        }
    }

    private static long ThreadMinorFaults()
    {
        const int RusageThread = 1;
        if (GetRusage(RusageThread, out var usage) != 0) throw new InvalidOperationException("getrusage failed");
        return usage.MinorFaults;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static extern int GetRusage(int who, out Rusage usage);

    /// <summary>struct rusage on 64-bit Linux: two timevals, then fourteen longs (ru_minflt is the fifth).</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct Rusage
    {
        public long UserSeconds, UserMicroseconds, SystemSeconds, SystemMicroseconds;
        public long MaxRss, SharedText, UnsharedData, UnsharedStack, MinorFaults, MajorFaults;
        public long Swaps, BlocksIn, BlocksOut, MessagesSent, MessagesReceived, Signals, VoluntarySwitches, InvoluntarySwitches;
    }

    private static byte[] Raw(StoreFixture store, string name, RRType type, ushort id, out int reads)
    {
        var query = DnsMessage.CreateQuery(id, DnsName.Parse(name), type, recursionDesired: false).ToArray();
        var reply = new byte[1232];
        int length = store.Answerer.Answer(query, reply, reply.Length, out reads);
        return reply[..length];
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Wire;
using Xunit.Abstractions;

namespace Ananas.Dns.Tests;

/// <summary>
/// Hostile-input property tests. Every packet must either parse or raise <see cref="DnsFormatException"/>;
/// a packet that parses must survive write → parse unchanged; the allocation of one parse must stay within
/// a constant factor of the packet size; <see cref="QueryReader"/> must never throw and must agree with
/// the full parser. Seeds are fixed, so a failure reproduces: the message names the seed, the iteration
/// and the packet's hex.
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    private const int Seeds = 16;
    private const int PacketsPerSeed = 65_536; // 16 × 65,536 = 1,048,576 packets

    [Fact]
    public async Task A_million_random_and_mutated_packets_parse_or_raise_format_errors()
    {
        var failures = new ConcurrentQueue<string>();
        var stats = new PacketFuzzer.Stats[Seeds];
        var clock = Stopwatch.StartNew();
        var workers = new Task[Environment.ProcessorCount];
        int nextSeed = -1;
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Factory.StartNew(() =>
            {
                int seed;
                while ((seed = Interlocked.Increment(ref nextSeed)) < Seeds && failures.Count < 20)
                    stats[seed] = new PacketFuzzer(seed, failures).Run(PacketsPerSeed);
            }, TaskCreationOptions.LongRunning);
        }
        // A hang inside the parser shows up here rather than as a test run that never ends.
        var all = Task.WhenAll(workers);
        bool finished = await Task.WhenAny(all, Task.Delay(TimeSpan.FromMinutes(5))) == all;
        Assert.True(finished, $"fuzzing did not finish within 5 minutes (a parse hangs?); seeds started: {Math.Min(nextSeed, Seeds)}");

        long packets = 0, parsed = 0, roundTripped = 0, sampled = 0, fastPathOk = 0;
        double worstRatio = 0;
        foreach (var s in stats)
        {
            if (s is null) continue;
            packets += s.Packets; parsed += s.Parsed; roundTripped += s.RoundTripped; sampled += s.Sampled; fastPathOk += s.FastPathOk;
            worstRatio = Math.Max(worstRatio, s.WorstBytesPerOctet);
        }
        output.WriteLine($"{packets:N0} packets in {clock.Elapsed.TotalSeconds:F1} s on {Environment.ProcessorCount} cores: " +
                         $"{parsed:N0} parsed, {roundTripped:N0} round-tripped, {fastPathOk:N0} read by QueryReader, " +
                         $"{sampled:N0} allocation samples (worst {worstRatio:F1} bytes allocated per octet for packets of 256+ octets)");
        Assert.True(failures.IsEmpty, string.Join("\n\n", failures));
        Assert.True(packets >= 1_000_000, $"only {packets} packets were checked");
        // The corpus must be useful: a good share of packets parse and round-trip.
        Assert.True(parsed > packets / 10, $"only {parsed} of {packets} packets parsed: the generators are too destructive");
    }

    [Fact]
    public void Pointer_chains_are_bounded()
    {
        // A chain of pointers, each pointing at the previous one and the first at the question name "a.":
        // a name that follows 200 of them needs more jumps than any encoder produces, and is rejected.
        var e = Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(BuildChainPacket(200)));
        Assert.Contains("compression pointers", e.Message);
        // 100 links is legal (if odd) and decodes to "a.".
        Assert.Equal(DnsName.Parse("a."), DnsMessage.Parse(BuildChainPacket(100)).Answers[1].Name);
    }

    /// <summary>Answer 1 (owner "a.") carries the chain as NULL RDATA; answer 2 is owned by the chain's last link.</summary>
    private static byte[] BuildChainPacket(int links)
    {
        var packet = new List<byte> { 0, 1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 1, (byte)'a', 0, 0, 1, 0, 1 };
        int rdataStart = packet.Count + 12;
        packet.AddRange([0xC0, 12, 0, 10, 0, 1, 0, 0, 0, 0, (byte)((2 * links) >> 8), (byte)(2 * links)]);
        int previous = 12;
        for (int i = 0; i < links; i++)
        {
            packet.AddRange([(byte)(0xC0 | (previous >> 8)), (byte)previous]);
            previous = rdataStart + 2 * i;
        }
        packet.AddRange([(byte)(0xC0 | (previous >> 8)), (byte)previous, 0, 10, 0, 1, 0, 0, 0, 0, 0, 0]);
        return packet.ToArray();
    }

    [Fact]
    public void Many_records_pointing_into_a_long_pointer_chain_stay_cheap()
    {
        // 64 KB message: a 120-link pointer chain in the first answer's RDATA, then as many records as fit,
        // each owned by a different link (so the reader's name cache cannot help). Work per name is capped
        // by MaxPointers and each decoded name is at most 255 octets, so the cost stays linear.
        var packet = new List<byte> { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, (byte)'a', 0, 0, 1, 0, 1 };
        const int links = 120;
        int rdataStart = packet.Count + 12;
        packet.AddRange([0xC0, 12, 0, 10, 0, 1, 0, 0, 0, 0, 0, 2 * links]);
        for (int i = 0; i < links; i++)
        {
            int target = i == 0 ? 12 : rdataStart + 2 * (i - 1);
            packet.AddRange([(byte)(0xC0 | (target >> 8)), (byte)target]);
        }
        int answers = 1;
        while (packet.Count + 12 <= 65_535)
        {
            int link = rdataStart + 2 * (answers % links);
            packet.AddRange([(byte)(0xC0 | (link >> 8)), (byte)link, 0, 10, 0, 1, 0, 0, 0, 0, 0, 0]);
            answers++;
        }
        var wire = packet.ToArray();
        wire[6] = (byte)(answers >> 8);
        wire[7] = (byte)answers;

        DnsMessage.Parse(wire); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var m = DnsMessage.Parse(wire);
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(answers, m.Answers.Count);
        Assert.True(allocated <= (long)PacketFuzzer.AllocationFactor * wire.Length + PacketFuzzer.AllocationSlack, $"{allocated} bytes allocated for {wire.Length} octets");
        Assert.True(clock.ElapsedMilliseconds < 500, $"parse took {clock.ElapsedMilliseconds} ms");
        Span<byte> name = stackalloc byte[255];
        Assert.True(QueryReader.TryRead(wire, name, out _, out _));
    }

    [Fact]
    public void Maximum_counts_with_tiny_bodies_are_rejected_quickly()
    {
        byte[] header = [0, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        byte[] tiny = [.. header, 0, 0, 1, 0, 1];
        Span<byte> name = stackalloc byte[255];
        foreach (var wire in new[] { header, tiny, [.. header, .. new byte[5000]] })
        {
            var clock = Stopwatch.StartNew();
            Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(wire));
            Assert.True(clock.ElapsedMilliseconds < 200);
            Assert.False(QueryReader.TryRead(wire, name, out _, out _));
        }
    }

    [Fact]
    public void Names_of_255_octets_built_from_pointers_are_bounded_and_256_is_rejected()
    {
        // Labels of one octet, each followed by a pointer to the previous label: label i decodes to
        // i one-letter labels. Decoding the last gives a 2 × 127 + 1 = 255-octet name via 126 pointers.
        var packet = new List<byte> { 0, 1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 1, (byte)'a', 0, 0, 1, 0, 1 };
        var rdata = new List<byte>();
        int rdataStart = packet.Count + 12;
        int previous = 12;
        for (int i = 0; i < 127; i++)
        {
            int here = rdataStart + rdata.Count;
            rdata.AddRange([1, (byte)('a' + i % 26), (byte)(0xC0 | (previous >> 8)), (byte)previous]);
            previous = here;
        }
        packet.AddRange([0xC0, 12, 0, 10, 0, 1, 0, 0, 0, 0, (byte)(rdata.Count >> 8), (byte)rdata.Count]);
        packet.AddRange(rdata);
        // Second answer owned by label 126 (127 labels + root = 255 octets: the longest legal name).
        int last126 = rdataStart + 125 * 4;
        packet.AddRange([(byte)(0xC0 | (last126 >> 8)), (byte)last126, 0, 10, 0, 1, 0, 0, 0, 0, 0, 0]);
        var wire = packet.ToArray();
        var m = DnsMessage.Parse(wire);
        Assert.Equal(255, m.Answers[1].Name.WireLength);
        Assert.Equal(127, m.Answers[1].Name.LabelCount);

        // Owned by label 127 instead: 128 labels, 257 octets: rejected.
        int last127 = rdataStart + 126 * 4;
        wire[^12] = (byte)(0xC0 | (last127 >> 8));
        wire[^11] = (byte)last127;
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(wire));
    }

    [Fact]
    public void The_fuzzer_is_deterministic()
    {
        // Same seed, same packets: a printed seed is enough to reproduce a failure.
        Assert.Equal(PacketFuzzer.Fingerprint(7, 2000), PacketFuzzer.Fingerprint(7, 2000));
        Assert.NotEqual(PacketFuzzer.Fingerprint(7, 2000), PacketFuzzer.Fingerprint(8, 2000));
    }
}

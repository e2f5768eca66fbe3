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

    /// <summary>Allocation bound for parsing a packet of n octets: Factor × n + Slack.</summary>
    private const int AllocationFactor = 64;
    private const int AllocationSlack = 16 * 1024;

    /// <summary>No single packet may take longer than this to check (parse, write, re-parse, fast path).</summary>
    private static readonly TimeSpan PerPacketBudget = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task A_million_random_and_mutated_packets_parse_or_raise_format_errors()
    {
        var failures = new ConcurrentQueue<string>();
        var stats = new Stats[Seeds];
        var clock = Stopwatch.StartNew();
        var workers = new Task[Environment.ProcessorCount];
        int nextSeed = -1;
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Factory.StartNew(() =>
            {
                int seed;
                while ((seed = Interlocked.Increment(ref nextSeed)) < Seeds && failures.Count < 20)
                    stats[seed] = new Fuzzer(seed, failures).Run(PacketsPerSeed);
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
        Assert.True(allocated <= (long)AllocationFactor * wire.Length + AllocationSlack, $"{allocated} bytes allocated for {wire.Length} octets");
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
        Assert.Equal(Fuzzer.Fingerprint(7, 2000), Fuzzer.Fingerprint(7, 2000));
        Assert.NotEqual(Fuzzer.Fingerprint(7, 2000), Fuzzer.Fingerprint(8, 2000));
    }

    internal sealed class Stats
    {
        public long Packets, Parsed, RoundTripped, Sampled, FastPathOk;
        public double WorstBytesPerOctet;
    }

    /// <summary>One seed's packet stream and checks. Not thread-safe; one per worker.</summary>
    internal sealed class Fuzzer(int seed, ConcurrentQueue<string> failures)
    {
        private static readonly RRType[] OpaqueTypes =
        [
            RRType.MX, RRType.TXT, RRType.SRV, RRType.DS, RRType.DNSKEY, RRType.RRSIG, RRType.NSEC, RRType.NSEC3,
            RRType.NSEC3PARAM, RRType.SVCB, RRType.HTTPS, RRType.CAA, RRType.TLSA, RRType.NAPTR, RRType.HINFO,
            RRType.SSHFP, RRType.URI, RRType.LOC, RRType.CDS, RRType.CDNSKEY, RRType.ZONEMD, RRType.CSYNC, RRType.RP,
            RRType.AFSDB, RRType.KX, RRType.MINFO, RRType.NULL, RRType.WKS, RRType.SPF, RRType.OPENPGPKEY, RRType.SMIMEA,
            RRType.DHCID, RRType.CERT, RRType.TSIG, RRType.TKEY, RRType.A, RRType.AAAA, RRType.SOA, RRType.CNAME,
            (RRType)65280, (RRType)4321,
        ];

        private readonly Random _rng = new(seed * 1_000_003 + 17);
        private readonly byte[] _writeBuffer = new byte[1 << 20];
        private readonly byte[] _writeBuffer2 = new byte[1 << 20];
        private readonly byte[] _nameBuffer = new byte[DnsName.MaxWireLength];
        private readonly Stats _stats = new();
        private List<DnsName> _names = [];
        private List<byte[]> _corpus = [];

        public Stats Run(int packets)
        {
            BuildCorpus();
            for (int i = 0; i < packets; i++)
            {
                var packet = NextPacket();
                if (!Check(packet, i)) break;
            }
            return _stats;
        }

        /// <summary>A hash of the first <paramref name="count"/> packets of a seed.</summary>
        public static int Fingerprint(int seed, int count)
        {
            var f = new Fuzzer(seed, new ConcurrentQueue<string>());
            f.BuildCorpus();
            var h = new HashCode();
            for (int i = 0; i < count; i++) h.AddBytes(f.NextPacket());
            return h.ToHashCode();
        }

        private void Fail(int iteration, byte[] packet, string what) =>
            failures.Enqueue($"seed {seed}, iteration {iteration}, {packet.Length} octets: {what}\npacket: {Convert.ToHexString(packet)}");

        /// <summary>Runs every property on one packet; false stops this seed (its failure is recorded).</summary>
        private bool Check(byte[] packet, int iteration)
        {
            _stats.Packets++;
            long start = Stopwatch.GetTimestamp();
            bool sample = (iteration & 31) == 0;
            long before = sample ? GC.GetAllocatedBytesForCurrentThread() : 0;
            DnsMessage? m;
            try
            {
                m = DnsMessage.Parse(packet);
            }
            catch (DnsFormatException)
            {
                m = null;
            }
            catch (Exception e)
            {
                Fail(iteration, packet, $"DnsMessage.Parse threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                return false;
            }
            if (sample)
            {
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                _stats.Sampled++;
                if (packet.Length >= 256) _stats.WorstBytesPerOctet = Math.Max(_stats.WorstBytesPerOctet, (double)allocated / packet.Length);
                if (allocated > (long)AllocationFactor * packet.Length + AllocationSlack)
                {
                    Fail(iteration, packet, $"parse allocated {allocated} bytes for {packet.Length} octets");
                    return false;
                }
            }

            if (m is not null)
            {
                _stats.Parsed++;
                if (!CheckRoundTrip(m, packet, iteration)) return false;
            }
            if (!CheckFastPath(m, packet, iteration)) return false;

            var elapsed = Stopwatch.GetElapsedTime(start);
            if (elapsed > PerPacketBudget)
            {
                Fail(iteration, packet, $"checking one packet took {elapsed.TotalMilliseconds:F0} ms");
                return false;
            }
            return true;
        }

        private bool CheckRoundTrip(DnsMessage m, byte[] packet, int iteration)
        {
            try
            {
                int n = m.WriteTo(_writeBuffer, _writeBuffer.Length);
                if ((_writeBuffer[2] & 0x02) != 0 && !m.Has(HeaderFlags.TC)) return true; // grew past 1 MB: nothing to compare
                var again = DnsMessage.Parse(_writeBuffer.AsSpan(0, n));
                string? difference = Difference(m, again);
                if (difference is not null)
                {
                    Fail(iteration, packet, $"re-parsed message differs: {difference}\nwritten: {Convert.ToHexString(_writeBuffer, 0, n)}");
                    return false;
                }
                // Compression may pick different (equally valid) pointers for the second write, because which
                // names share one DnsName instance depends on the layout; so compare meaning, not octets.
                int n2 = again.WriteTo(_writeBuffer2, _writeBuffer2.Length);
                difference = Difference(again, DnsMessage.Parse(_writeBuffer2.AsSpan(0, n2)));
                if (difference is not null)
                {
                    Fail(iteration, packet, $"second write and re-parse differs: {difference}");
                    return false;
                }
                _stats.RoundTripped++;
                return true;
            }
            catch (Exception e)
            {
                Fail(iteration, packet, $"round trip threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                return false;
            }
        }

        private bool CheckFastPath(DnsMessage? m, byte[] packet, int iteration)
        {
            bool ok;
            QueryView view;
            QueryReadError error;
            try
            {
                ok = QueryReader.TryRead(packet, _nameBuffer, out view, out error);
            }
            catch (Exception e)
            {
                Fail(iteration, packet, $"QueryReader.TryRead threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                return false;
            }
            if (ok) _stats.FastPathOk++;
            if (m is null) return true;
            // The full parser is the stricter one: whatever it accepts with one question, the fast path reads the same way.
            if (m.Questions.Count != 1) return true;
            string? problem = null;
            if (!ok) problem = $"QueryReader rejected ({error}) a packet DnsMessage.Parse accepts";
            else if (!view.Name.SequenceEqual(m.Questions[0].Name.Wire)) problem = "question names differ";
            else if (view.Type != m.Questions[0].Type || view.Class != m.Questions[0].Class) problem = "question type or class differs";
            else if (view.HasEdns != m.Edns is not null) problem = "EDNS presence differs";
            else if (m.Edns is not null)
            {
                if (view.UdpPayloadSize != m.Edns.UdpPayloadSize || view.DnssecOk != m.Edns.DnssecOk || view.EdnsVersion != m.Edns.Version)
                    problem = "OPT fields differ";
                int i = 0;
                foreach (var o in view.Options)
                {
                    if (i >= m.Edns.Options.Count || m.Edns.Options[i].Code != o.Code) { problem = "EDNS options differ"; break; }
                    i++;
                }
                if (problem is null && i != m.Edns.Options.Count) problem = "EDNS option counts differ";
            }
            if (problem is null) return true;
            Fail(iteration, packet, problem);
            return false;
        }

        private static string? Difference(DnsMessage a, DnsMessage b)
        {
            if (a.Id != b.Id) return "id";
            if (a.Flags != b.Flags) return $"flags {a.Flags} vs {b.Flags}";
            if (a.Opcode != b.Opcode) return "opcode";
            if (a.Rcode != b.Rcode) return $"rcode {a.Rcode} vs {b.Rcode}";
            if (!a.Questions.SequenceEqual(b.Questions)) return "questions";
            if (!a.Answers.SequenceEqual(b.Answers)) return "answers";
            if (!a.Authority.SequenceEqual(b.Authority)) return "authority";
            if (!a.Additional.SequenceEqual(b.Additional)) return "additional";
            if ((a.Edns is null) != (b.Edns is null)) return "EDNS presence";
            if (a.Edns is not null && b.Edns is not null)
            {
                if (a.Edns.UdpPayloadSize != b.Edns.UdpPayloadSize || a.Edns.Version != b.Edns.Version ||
                    a.Edns.DnssecOk != b.Edns.DnssecOk || a.Edns.OtherFlags != b.Edns.OtherFlags) return "OPT header";
                if (!a.Edns.Options.SequenceEqual(b.Edns.Options)) return "EDNS options";
            }
            return null;
        }

        // ---- generators ----

        private void BuildCorpus()
        {
            _names = [];
            for (int i = 0; i < 24; i++) _names.Add(RandomName());
            _corpus = [];
            for (int i = 0; i < 96; i++) _corpus.Add(RandomMessage().ToArray());
        }

        private byte[] NextPacket()
        {
            int roll = _rng.Next(100);
            if (roll < 12) return RandomBytes();
            var basis = _corpus[_rng.Next(_corpus.Count)];
            if (roll < 16) return basis;
            var packet = new List<byte>(basis);
            int mutations = 1 + _rng.Next(_rng.Next(2) == 0 ? 2 : 6);
            for (int i = 0; i < mutations; i++) Mutate(packet);
            return packet.ToArray();
        }

        private byte[] RandomBytes()
        {
            var bytes = new byte[_rng.Next(_rng.Next(4) == 0 ? 1500 : 64)];
            _rng.NextBytes(bytes);
            if (bytes.Length >= 12 && _rng.Next(2) == 0)
            {
                // A plausible header, so that the body gets looked at.
                for (int i = 4; i < 12; i += 2) { bytes[i] = 0; bytes[i + 1] = (byte)_rng.Next(4); }
            }
            return bytes;
        }

        private void Mutate(List<byte> p)
        {
            if (p.Count == 0) { p.Add((byte)_rng.Next(256)); return; }
            switch (_rng.Next(10))
            {
                case 0: // bit flip
                {
                    int i = _rng.Next(p.Count);
                    p[i] ^= (byte)(1 << _rng.Next(8));
                    break;
                }
                case 1: // byte overwrite, often with a value that means something on the wire
                {
                    byte[] interesting = [0, 1, 0x3F, 0x40, 0x80, 0xC0, 0xFF, 41, 63, 64];
                    p[_rng.Next(p.Count)] = _rng.Next(2) == 0 ? interesting[_rng.Next(interesting.Length)] : (byte)_rng.Next(256);
                    break;
                }
                case 2: // truncation
                {
                    int keep = _rng.Next(p.Count + 1);
                    p.RemoveRange(keep, p.Count - keep);
                    break;
                }
                case 3: // insertion
                {
                    int at = _rng.Next(p.Count + 1);
                    int n = 1 + _rng.Next(8);
                    for (int i = 0; i < n; i++) p.Insert(at, (byte)_rng.Next(256));
                    break;
                }
                case 4: // deletion of a range
                {
                    int at = _rng.Next(p.Count);
                    p.RemoveRange(at, Math.Min(p.Count - at, 1 + _rng.Next(16)));
                    break;
                }
                case 5: // count tampering
                {
                    if (p.Count < 12) break;
                    int field = 4 + 2 * _rng.Next(4);
                    int current = (p[field] << 8) | p[field + 1];
                    int value = _rng.Next(4) switch
                    {
                        0 => 0xFFFF,
                        1 => current + 1,
                        2 => Math.Max(0, current - 1),
                        _ => _rng.Next(0x10000),
                    };
                    p[field] = (byte)(value >> 8);
                    p[field + 1] = (byte)value;
                    break;
                }
                case 6: // pointer tampering: retarget an existing pointer (or make one) anywhere, including forwards and into itself
                {
                    int i = FindPointer(p);
                    if (i < 0 || i + 1 >= p.Count) { i = _rng.Next(p.Count - 1 < 1 ? 1 : p.Count - 1); if (i + 1 >= p.Count) break; }
                    int target = _rng.Next(4) switch
                    {
                        0 => i,
                        1 => i - 1 - _rng.Next(Math.Max(1, i)),
                        2 => 12,
                        _ => _rng.Next(0x4000),
                    };
                    target = Math.Clamp(target, 0, 0x3FFF);
                    p[i] = (byte)(0xC0 | (target >> 8));
                    p[i + 1] = (byte)target;
                    break;
                }
                case 7: // length-octet tampering: grow or shrink something that looks like a label or RDLENGTH
                {
                    int i = _rng.Next(p.Count);
                    p[i] = (byte)(p[i] + _rng.Next(-3, 4));
                    break;
                }
                case 8: // duplicate a slice (repeats records, options, labels)
                {
                    int at = _rng.Next(p.Count);
                    int n = Math.Min(p.Count - at, 1 + _rng.Next(40));
                    var slice = p.GetRange(at, n);
                    p.InsertRange(_rng.Next(p.Count + 1), slice);
                    break;
                }
                default: // splice with another corpus packet
                {
                    var other = _corpus[_rng.Next(_corpus.Count)];
                    int from = _rng.Next(other.Length);
                    int at = _rng.Next(p.Count);
                    int n = Math.Min(other.Length - from, 1 + _rng.Next(64));
                    for (int i = 0; i < n && at + i < p.Count; i++) p[at + i] = other[from + i];
                    break;
                }
            }
        }

        private int FindPointer(List<byte> p)
        {
            int start = _rng.Next(Math.Max(1, p.Count));
            for (int k = 0; k < p.Count; k++)
            {
                int i = (start + k) % p.Count;
                if ((p[i] & 0xC0) == 0xC0 && i + 1 < p.Count) return i;
            }
            return -1;
        }

        private DnsName RandomName()
        {
            int roll = _rng.Next(10);
            if (roll == 0) return DnsName.Root;
            if (roll == 1)
            {
                // Near the 255-octet limit.
                var name = DnsName.Root;
                while (true)
                {
                    int len = 1 + _rng.Next(63);
                    if (name.WireLength + len + 1 > DnsName.MaxWireLength) return name;
                    name = name.Prepend(RandomLabel(len));
                }
            }
            var result = _names.Count > 0 && _rng.Next(2) == 0 ? _names[_rng.Next(_names.Count)] : DnsName.Root;
            int labels = 1 + _rng.Next(4);
            for (int i = 0; i < labels; i++)
            {
                var label = RandomLabel(_rng.Next(8) == 0 ? 63 : 1 + _rng.Next(12));
                if (result.WireLength + label.Length + 1 > DnsName.MaxWireLength) break;
                result = result.Prepend(label);
            }
            return result;
        }

        private byte[] RandomLabel(int length)
        {
            var label = new byte[length];
            bool binary = _rng.Next(10) == 0;
            for (int i = 0; i < length; i++)
            {
                label[i] = binary ? (byte)_rng.Next(256) : (byte)"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_*"[_rng.Next(65)];
            }
            return label;
        }

        private DnsName PickName() => _rng.Next(4) == 0 ? RandomName() : _names[_rng.Next(_names.Count)];

        private DnsMessage RandomMessage()
        {
            var m = new DnsMessage
            {
                Id = (ushort)_rng.Next(0x10000),
                Flags = (HeaderFlags)(_rng.Next(0x10000) & 0x87F0),
                Opcode = (Opcode)_rng.Next(16),
            };
            int questions = _rng.Next(10) switch { 0 => 0, 1 => 2, _ => 1 };
            for (int i = 0; i < questions; i++) m.Questions.Add(new Question(PickName(), RandomType(), (RRClass)(_rng.Next(8) == 0 ? _rng.Next(0x10000) : 1)));
            int answers = _rng.Next(9), authority = _rng.Next(4), additional = _rng.Next(4);
            for (int i = 0; i < answers; i++) m.Answers.Add(RandomRecord());
            for (int i = 0; i < authority; i++) m.Authority.Add(RandomRecord());
            for (int i = 0; i < additional; i++) m.Additional.Add(RandomRecord());
            if (_rng.Next(10) < 7)
            {
                m.Edns = new Edns
                {
                    UdpPayloadSize = (ushort)(_rng.Next(2) == 0 ? 1232 : _rng.Next(0x10000)),
                    DnssecOk = _rng.Next(2) == 0,
                    Version = (byte)(_rng.Next(10) == 0 ? _rng.Next(256) : 0),
                    OtherFlags = (ushort)(_rng.Next(10) == 0 ? _rng.Next(0x8000) : 0),
                };
                int options = _rng.Next(5);
                for (int i = 0; i < options; i++) m.Edns.Options.Add(RandomOption());
                m.Rcode = (Rcode)(_rng.Next(4) == 0 ? _rng.Next(4096) : _rng.Next(6));
            }
            else
            {
                m.Rcode = (Rcode)_rng.Next(16);
            }
            return m;
        }

        private RRType RandomType() => _rng.Next(3) == 0 ? (RRType)_rng.Next(0x10000) : OpaqueTypes[_rng.Next(OpaqueTypes.Length)];

        private ResourceRecord RandomRecord()
        {
            var owner = PickName();
            uint ttl = _rng.Next(4) == 0 ? (uint)_rng.NextInt64(0x1_0000_0000) : (uint)_rng.Next(86400);
            var rrclass = (RRClass)(_rng.Next(10) == 0 ? _rng.Next(0x10000) : 1);
            RData data = _rng.Next(12) switch
            {
                0 or 1 => new AddressData(new IPAddress(RandomBytes(4))),
                2 => new AddressData(new IPAddress(RandomBytes(16))),
                3 => NameData.Cname(PickName()),
                4 => NameData.Ns(PickName()),
                5 => new NameData(_rng.Next(2) == 0 ? RRType.DNAME : RRType.PTR, PickName()),
                6 => new SoaData(PickName(), PickName(), (uint)_rng.Next(), (uint)_rng.Next(), (uint)_rng.Next(), (uint)_rng.Next(), (uint)_rng.Next()),
                7 => new UnknownData(RRType.MX, [.. RandomBytes(2), .. PickName().Wire]),
                8 => new UnknownData(RRType.TXT, RandomTxt()),
                9 => new UnknownData(RRType.SRV, [.. RandomBytes(6), .. PickName().Wire]),
                _ => new UnknownData(RandomType(), RandomBytes(_rng.Next(_rng.Next(6) == 0 ? 300 : 24))),
            };
            return new ResourceRecord(owner, rrclass, ttl, data);
        }

        private byte[] RandomTxt()
        {
            var bytes = new List<byte>();
            int strings = 1 + _rng.Next(3);
            for (int i = 0; i < strings; i++)
            {
                var s = RandomBytes(_rng.Next(40));
                bytes.Add((byte)s.Length);
                bytes.AddRange(s);
            }
            return bytes.ToArray();
        }

        private byte[] RandomBytes(int n)
        {
            var b = new byte[n];
            _rng.NextBytes(b);
            return b;
        }

        private EdnsOption RandomOption() => _rng.Next(9) switch
        {
            0 => new ClientSubnetOption(new IPAddress(RandomBytes(4)), (byte)_rng.Next(33), (byte)_rng.Next(33)),
            1 => new ClientSubnetOption(new IPAddress(RandomBytes(16)), (byte)_rng.Next(129), (byte)_rng.Next(129)),
            2 => new CookieOption(RandomBytes(8), _rng.Next(2) == 0 ? default : RandomBytes(8 + _rng.Next(25))),
            3 => _rng.Next(2) == 0 ? new PaddingOption(_rng.Next(64)) : PaddingOption.ToBlockSize(_rng.Next(2) == 0 ? 128 : 468),
            4 => new TcpKeepaliveOption(_rng.Next(2) == 0 ? null : (ushort)_rng.Next(0x10000)),
            5 => new NsidOption(RandomBytes(_rng.Next(16))),
            6 => new ExtendedErrorOption((EdeCode)_rng.Next(40), _rng.Next(2) == 0 ? "" : "ede text é"),
            7 => new RawEdnsOption((EdnsOptionCode)_rng.Next(0x10000), RandomBytes(_rng.Next(20))),
            _ => new RawEdnsOption(EdnsOptionCode.Chain, RandomBytes(_rng.Next(8))),
        };
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Wire;

namespace Ananas.Dns.Tests;

/// <summary>One seed's packet stream and checks. Not thread-safe; one per worker.</summary>
internal sealed class PacketFuzzer(int seed, ConcurrentQueue<string> failures)
{
    /// <summary>Allocation bound for parsing a packet of n octets: Factor × n + Slack.</summary>
    internal const int AllocationFactor = 64;
    internal const int AllocationSlack = 16 * 1024;

    /// <summary>
    /// No single packet may take more CPU than this to check (parse, write, re-parse, fast path). The checking
    /// thread's CPU time, not the wall clock: a loaded host can deschedule the thread for longer than that.
    /// </summary>
    private static readonly TimeSpan PerPacketBudget = TimeSpan.FromSeconds(1);

    internal sealed class Stats
    {
        public long Packets, Parsed, RoundTripped, Sampled, FastPathOk;
        public double WorstBytesPerOctet;
    }

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
        var f = new PacketFuzzer(seed, new ConcurrentQueue<string>());
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
        var start = ThreadCpuTime();
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

        var elapsed = ThreadCpuTime() - start;
        if (elapsed > PerPacketBudget)
        {
            Fail(iteration, packet, $"checking one packet took {elapsed.TotalMilliseconds:F0} ms");
            return false;
        }
        return true;
    }

    /// <summary>The CPU time this thread has used (Linux's per-thread clock); the wall clock where that is missing.</summary>
    private static TimeSpan ThreadCpuTime()
    {
        if (OperatingSystem.IsLinux() && ClockGetTime(ThreadCpuClock, out var ts) == 0) return TimeSpan.FromTicks(ts.Seconds * TimeSpan.TicksPerSecond + ts.Nanoseconds / 100);
        return Stopwatch.GetElapsedTime(0);
    }

    private const int ThreadCpuClock = 3; // CLOCK_THREAD_CPUTIME_ID

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec time);

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

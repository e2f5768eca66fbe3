using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;

namespace Ananas.Server.Protection;

/// <summary>Response rate limiting settings (the <c>rrl.*</c> keys).</summary>
public sealed record RrlOptions
{
    /// <summary>Positive answers and NODATA per second for one (client network, name, type).</summary>
    public int ResponsesPerSecond { get; init; } = 20;

    /// <summary>NXDOMAIN per second for one (client network, domain: the last two labels of the name).</summary>
    public int NxdomainsPerSecond { get; init; } = 10;

    /// <summary>Other rcodes (REFUSED, SERVFAIL, FORMERR…) per second for one client network.</summary>
    public int ErrorsPerSecond { get; init; } = 10;

    /// <summary>Every Nth limited response slips out truncated (TC=1, or BADCOOKIE to a client with a cookie); 0: never, all dropped.</summary>
    public int Slip { get; init; } = 2;

    public int IPv4PrefixLength { get; init; } = 24;

    public int IPv6PrefixLength { get; init; } = 56;

    /// <summary>Buckets kept; beyond, the least recently used of a set is reused. Bounds the memory (40 octets each).</summary>
    public int TableSize { get; init; } = 65536;

    /// <summary>Client networks never limited (monitoring, known forwarders).</summary>
    public AccessList Exempt { get; init; } = AccessList.Parse([]);
}

/// <summary>What happens to one UDP response.</summary>
public enum RrlVerdict : byte
{
    Send,
    Drop,

    /// <summary>Send a truncated empty answer instead: a real client retries over TCP, a spoofed victim gets 1 small packet.</summary>
    Slip,
}

/// <summary>
/// Response rate limiting on UDP (the class BIND and NSD call RRL): a token bucket per (client network, response
/// class, name, type), refilled at the configured rate, holding at most one second of it. A response beyond the
/// bucket is dropped, except every <see cref="RrlOptions.Slip"/>th, which slips out truncated. The table is a fixed
/// array (set-associative, four ways, least recently used reused), so its memory is bounded whatever the traffic,
/// and a bucket left alone refills completely: that is its expiry. Keys are hashed with a secret per process, so
/// a client cannot aim its keys at another's bucket. Allocation-free; one short lock per response, striped.
/// </summary>
public sealed class ResponseRateLimiter
{
    private const int Ways = 4;
    private const int Stripes = 64;
    private static readonly long TicksPerSecond = Stopwatch.Frequency;

    private readonly RrlOptions _options;
    private readonly Entry[] _entries;
    private readonly int _sets;
    private readonly Lock[] _locks = new Lock[Stripes];
    private readonly ulong _k0, _k1;
    private readonly Func<long> _now;
    private long _evictions;

    private struct Entry
    {
        public ulong Key;
        public long Touched;
        /// <summary>Tokens in thousandths of a response.</summary>
        public long Tokens;
        public int Limited;
    }

    /// <param name="now">A Stopwatch timestamp; <see cref="Stopwatch.GetTimestamp"/> when null.</param>
    public ResponseRateLimiter(RrlOptions options, Func<long>? now = null)
    {
        _options = options;
        _sets = Math.Max(1, options.TableSize / Ways);
        _entries = new Entry[_sets * Ways];
        for (int i = 0; i < Stripes; i++) _locks[i] = new Lock();
        Span<byte> key = stackalloc byte[16];
        RandomNumberGenerator.Fill(key);
        _k0 = BinaryPrimitives.ReadUInt64LittleEndian(key);
        _k1 = BinaryPrimitives.ReadUInt64LittleEndian(key[8..]);
        _now = now ?? Stopwatch.GetTimestamp;
    }

    public RrlOptions Options => _options;

    /// <summary>Buckets of live keys reused for another key (the table was full for their set).</summary>
    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>The number of buckets (the bound on the table).</summary>
    public int Capacity => _entries.Length;

    /// <summary>Whether this client's network is exempt (<see cref="RrlOptions.Exempt"/>).</summary>
    public bool IsExempt(in ClientAddress client) => _options.Exempt.Networks.Count > 0 && _options.Exempt.Allows(client);

    /// <summary>Charges the response in <paramref name="reply"/> (its rcode, answer count and question) to the client's bucket.</summary>
    public RrlVerdict Decide(in ClientAddress client, ReadOnlySpan<byte> reply)
    {
        if (reply.Length < 12) return RrlVerdict.Send;
        int rcode = reply[3] & 0x0F;
        int answers = BinaryPrimitives.ReadUInt16BigEndian(reply[6..]);
        byte kind = rcode switch { 0 => 0, 3 => 1, _ => 2 };
        int rate = kind switch { 0 => _options.ResponsesPerSecond, 1 => _options.NxdomainsPerSecond, _ => _options.ErrorsPerSecond };
        if (rate <= 0) return RrlVerdict.Send;
        var group = ClientGroup.Of(client, _options.IPv4PrefixLength, _options.IPv6PrefixLength);

        // The key: network, class, then (answers and NODATA) the name and type, (NXDOMAIN) the domain; errors: nothing more.
        Span<byte> material = stackalloc byte[16 + 1 + 1 + 2 + 256];
        BinaryPrimitives.WriteUInt64BigEndian(material, group.High);
        BinaryPrimitives.WriteUInt64BigEndian(material[8..], group.Low);
        material[16] = group.Family;
        material[17] = kind;
        int length = 18;
        if (kind != 2) length += WriteName(reply, material[18..], kind == 1, answers);
        ulong key = SipHash.Hash(_k0, _k1, material[..length]) | 1; // 0 marks an empty entry
        return Charge(key, rate);
    }

    private RrlVerdict Charge(ulong key, int rate)
    {
        long now = _now();
        int set = (int)(key % (ulong)_sets);
        int first = set * Ways;
        lock (_locks[set % Stripes])
        {
            int slot = -1, oldest = first;
            for (int i = first; i < first + Ways; i++)
            {
                if (_entries[i].Key == key)
                {
                    slot = i;
                    break;
                }
                if (_entries[i].Touched < _entries[oldest].Touched) oldest = i;
            }
            long capacity = rate * 1000L;
            ref var entry = ref _entries[slot >= 0 ? slot : oldest];
            if (slot < 0)
            {
                // A bucket full for a whole second holds nothing worth keeping; an earlier one does (counted).
                if (entry.Key != 0 && now - entry.Touched < TicksPerSecond) Interlocked.Increment(ref _evictions);
                entry = new Entry { Key = key, Touched = now, Tokens = capacity };
            }
            else
            {
                long elapsed = now - entry.Touched;
                long refill = elapsed >= TicksPerSecond ? capacity : elapsed * capacity / TicksPerSecond;
                entry.Tokens = Math.Min(capacity, entry.Tokens + refill);
                entry.Touched = now;
            }
            if (entry.Tokens >= 1000)
            {
                entry.Tokens -= 1000;
                entry.Limited = 0;
                return RrlVerdict.Send;
            }
            entry.Limited++;
            return _options.Slip > 0 && entry.Limited % _options.Slip == 0 ? RrlVerdict.Slip : RrlVerdict.Drop;
        }
    }

    /// <summary>The question's name, lower-cased (only the last two labels for a domain), then its type when it counts; its length.</summary>
    private static int WriteName(ReadOnlySpan<byte> reply, Span<byte> destination, bool domainOnly, int answers)
    {
        if (BinaryPrimitives.ReadUInt16BigEndian(reply[4..]) != 1) return 0;
        int pos = 12, end = -1;
        Span<int> starts = stackalloc int[128];
        int labels = 0;
        while (pos < reply.Length)
        {
            int len = reply[pos];
            if (len == 0)
            {
                end = pos + 1;
                break;
            }
            if (len > 63 || labels == starts.Length) return 0;
            starts[labels++] = pos;
            pos += len + 1;
        }
        if (end < 0 || end + 4 > reply.Length) return 0;
        int from = domainOnly && labels > 2 ? starts[labels - 2] : 12;
        int n = end - from;
        for (int i = 0; i < n; i++) destination[i] = (byte)char.ToLowerInvariant((char)reply[from + i]);
        if (domainOnly) return n;
        // The type, and whether there were answers (NODATA and positive answers for one name are apart).
        destination[n] = reply[end];
        destination[n + 1] = reply[end + 1];
        destination[n + 2] = (byte)(answers > 0 ? 1 : 0);
        return n + 3;
    }
}

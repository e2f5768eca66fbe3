using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Wire;

namespace Ananas.Resolver.Cache;

/// <summary>
/// The answer fast path: whole responses kept in wire form, keyed by (lowercase QNAME, QTYPE, QCLASS, DO,
/// CD, EDNS present) read straight from the query bytes. A hit copies the stored bytes into the caller's
/// buffer and patches the ID, RD, AD, the question's letter case (0x20 echo) and every TTL (original
/// minus the time since the store) in place: no parse, no encode, no allocation, no lock.
/// </summary>
public sealed class AnswerCache
{
    private const int DnsHeaderSize = 12;
    private const ushort RdFlag = 0x0100;
    private const ushort AdFlag = 0x0020;
    private const ushort OptType = 41;
    private const ushort TsigType = 250;
    private const ushort SigType = 24;
    private const ushort RrsigType = 46;

    private readonly ArcCache<ulong, AnswerEntry> _cache;
    private readonly IClock _clock;
    private readonly AnswerCacheOptions _options;

    public AnswerCache(AnswerCacheOptions options, IClock clock)
    {
        _options = options;
        _clock = clock;
        _cache = new ArcCache<ulong, AnswerEntry>(options.Storage, clock, EntryCost.Instance);
    }

    /// <summary>Entries live nine tenths of their smallest TTL (the recursor's prefetch point, Unbound <c>prefetch</c>).</summary>
    public bool EndBeforePrefetch { get; set; }

    public CacheStatistics GetStatistics() => _cache.GetStatistics();

    /// <summary>
    /// Writes the cached response to <paramref name="query"/> into <paramref name="destination"/>. False on a
    /// miss, for queries this cache does not answer (see <see cref="AnswerKey.TryRead"/>), and when the
    /// response does not fit (size <paramref name="destination"/> to the client's limit; a miss then goes
    /// the slow way, which can truncate).
    /// </summary>
    public bool TryAnswer(ReadOnlySpan<byte> query, Span<byte> destination, out int written) =>
        TryAnswer(query, destination, TimeSpan.Zero, out written) == CacheLookup.Fresh;

    /// <summary>
    /// As <see cref="TryAnswer(ReadOnlySpan{byte}, Span{byte}, out int)"/>, but an answer expired no more than
    /// <paramref name="maxStale"/> ago (and still retained) is written with every TTL set to
    /// <see cref="AnswerCacheOptions.StaleTtl"/> and reported as <see cref="CacheLookup.Stale"/> (RFC 8767).
    /// </summary>
    [SkipLocalsInit] // the name buffer is written before it is read; zeroing it is wasted work on every hit
    public CacheLookup TryAnswer(ReadOnlySpan<byte> query, Span<byte> destination, TimeSpan maxStale, out int written)
    {
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        if (QueryReader.TryRead(query, name, out var view, out _)) return TryAnswer(view, query, destination, maxStale, out written);
        written = 0;
        return CacheLookup.Miss;
    }

    /// <summary>
    /// As <see cref="TryAnswer(ReadOnlySpan{byte}, Span{byte}, TimeSpan, out int)"/> for a query the caller has
    /// already read without error through <see cref="QueryReader"/> (<paramref name="view"/> over <paramref name="query"/>).
    /// </summary>
    [SkipLocalsInit] // the key buffer is written before it is read; zeroing it is wasted work on every hit
    public CacheLookup TryAnswer(in QueryView view, ReadOnlySpan<byte> query, Span<byte> destination, TimeSpan maxStale, out int written)
    {
        written = 0;
        Span<byte> key = stackalloc byte[AnswerKey.MaxLength];
        if (!AnswerKey.TryRead(view, query, key, out int keyLength, out int nameLength)) return CacheLookup.Miss;
        key = key[..keyLength];
        long now = _clock.UtcNow.UtcTicks;
        var lookup = _cache.Lookup(AnswerKey.Hash(key), now, maxStale.Ticks, out var entry, out _);
        // Two keys may share a hash; the stored key decides.
        if (lookup == CacheLookup.Miss || !entry.Key.SequenceEqual(key)) return CacheLookup.Miss;
        var response = entry.Response;
        if (destination.Length < response.Length) return CacheLookup.Miss;

        response.CopyTo(destination);
        // ID and RD come from the query; AD only for clients that asked for it (DO or AD set, RFC 6840 §5.8).
        destination[0] = query[0];
        destination[1] = query[1];
        ushort queryFlags = BinaryPrimitives.ReadUInt16BigEndian(query[2..]);
        ushort flags = (ushort)((BinaryPrimitives.ReadUInt16BigEndian(destination[2..]) & ~RdFlag) | (queryFlags & RdFlag));
        if ((queryFlags & AdFlag) == 0 && (key[^1] & AnswerKey.DnssecOk) == 0) flags &= unchecked((ushort)~AdFlag);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], flags);
        query.Slice(DnsHeaderSize, nameLength).CopyTo(destination[DnsHeaderSize..]);

        var offsets = entry.TtlOffsets;
        if (lookup == CacheLookup.Fresh)
        {
            long elapsedSeconds = (now - entry.StoredAtTicks) / TimeSpan.TicksPerSecond;
            uint elapsed = (uint)Math.Clamp(elapsedSeconds, 0, uint.MaxValue);
            for (int i = 0; i < offsets.Length; i++)
            {
                var field = destination.Slice(offsets[i], 4);
                uint ttl = BinaryPrimitives.ReadUInt32BigEndian(field);
                BinaryPrimitives.WriteUInt32BigEndian(field, ttl > elapsed ? ttl - elapsed : 0);
            }
        }
        else
        {
            for (int i = 0; i < offsets.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(offsets[i], 4), _options.StaleTtl);
        }
        written = response.Length;
        return lookup;
    }

    /// <summary>Stores a response for as long as its smallest TTL. False when it is not cacheable (see <see cref="Store(ReadOnlySpan{byte}, ReadOnlySpan{byte}, TimeSpan)"/>).</summary>
    public bool Store(ReadOnlySpan<byte> query, ReadOnlySpan<byte> response) => Store(query, response, null);

    /// <summary>
    /// Stores a response for <paramref name="lifetime"/> (negative answers: as RFC 2308 says, computed by
    /// the caller), but never longer than its smallest TTL, so that no TTL reaches zero while it is served,
    /// nor longer than <see cref="AnswerCacheOptions.MaxLifetime"/>. False, and nothing stored, when the
    /// query is not one this cache answers, the response is truncated, malformed, signed per message
    /// (TSIG, SIG(0)), does not answer the query's question, or its lifetime is zero.
    /// </summary>
    public bool Store(ReadOnlySpan<byte> query, ReadOnlySpan<byte> response, TimeSpan lifetime) => Store(query, response, (TimeSpan?)lifetime);

    // Purges match the question and every record's owner (see Matches), so that no answer built from purged data survives.

    /// <summary>Removes the answers for <paramref name="name"/>, every type, and those holding records of it. Returns how many.</summary>
    public int Purge(DnsName name) => PurgeMatching(name, subtree: false, type: null);

    /// <summary>Removes the answers for <paramref name="name"/> and <paramref name="type"/>, and those holding such records. Returns how many.</summary>
    public int Purge(DnsName name, RRType type) => PurgeMatching(name, subtree: false, type);

    /// <summary>Removes the answers for <paramref name="apex"/> and every name below it, and those holding records of them. Returns how many.</summary>
    public int PurgeSubtree(DnsName apex) => PurgeMatching(apex, subtree: true, type: null);

    /// <summary>Removes answers that expired beyond the stale retention. Returns how many.</summary>
    public int RemoveExpired() => _cache.RemoveExpired();

    private bool Store(ReadOnlySpan<byte> query, ReadOnlySpan<byte> response, TimeSpan? lifetime)
    {
        Span<byte> key = stackalloc byte[AnswerKey.MaxLength];
        if (!AnswerKey.TryRead(query, key, out int keyLength, out int nameLength)) return false;
        key = key[..keyLength];
        if (!TryIndexTtls(response, key, nameLength, out var ttlOffsets, out uint minTtl)) return false;

        // No record to take a TTL from (e.g. NODATA without an SOA, RFC 2308 §5): only the caller's lifetime counts.
        long seconds = ttlOffsets.Length > 0 ? minTtl : lifetime is null ? 0 : long.MaxValue;
        if (lifetime is { } given) seconds = Math.Min(seconds, (long)given.TotalSeconds);
        // With prefetch, an answer leaves this cache when a tenth of its TTL is left, so that the next query for it
        // reaches the recursor, which answers from its record cache and refreshes the name in the background.
        if (EndBeforePrefetch && ttlOffsets.Length > 0) seconds = seconds * 9 / 10;
        seconds = Math.Min(seconds, (long)_options.MaxLifetime.TotalSeconds);
        if (seconds <= 0)
        {
            // A TTL of 0 means "use once": never cached, and an older answer must not outlive it.
            _cache.Remove(AnswerKey.Hash(key));
            return false;
        }

        long now = _clock.UtcNow.UtcTicks;
        var entry = new AnswerEntry(response, key, nameLength, ttlOffsets, now);
        return _cache.Set(AnswerKey.Hash(key), entry, new DateTimeOffset(now + seconds * TimeSpan.TicksPerSecond, TimeSpan.Zero));
    }

    /// <summary>
    /// Checks that <paramref name="response"/> answers the question in <paramref name="key"/> and finds every
    /// TTL field (all sections; not the OPT record's). The smallest TTL bounds the entry's lifetime.
    /// </summary>
    private static bool TryIndexTtls(ReadOnlySpan<byte> response, ReadOnlySpan<byte> key, int nameLength, out ushort[] ttlOffsets, out uint minTtl)
    {
        ttlOffsets = [];
        minTtl = uint.MaxValue;
        if (response.Length < DnsHeaderSize || response.Length > ushort.MaxValue) return false;
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(response[2..]);
        // A response (QR), not truncated (TC): a truncated answer is incomplete.
        if ((flags & 0x8000) == 0 || (flags & 0x0200) != 0) return false;
        if (BinaryPrimitives.ReadUInt16BigEndian(response[4..]) != 1) return false;
        // The question must sit uncompressed at offset 12 with the query's name, type and class, so a hit can
        // overwrite it with the client's spelling.
        if (response.Length < DnsHeaderSize + nameLength + 4) return false;
        for (int i = 0; i < nameLength; i++)
        {
            if (AnswerKey.ToLower(response[DnsHeaderSize + i]) != key[i]) return false;
        }
        if (!response.Slice(DnsHeaderSize + nameLength, 4).SequenceEqual(key.Slice(nameLength, 4))) return false;

        int records = BinaryPrimitives.ReadUInt16BigEndian(response[6..]) + BinaryPrimitives.ReadUInt16BigEndian(response[8..]) + BinaryPrimitives.ReadUInt16BigEndian(response[10..]);
        var offsets = new List<ushort>(records);
        try
        {
            var reader = new WireReader(response) { Position = DnsHeaderSize + nameLength + 4 };
            for (int r = 0; r < records; r++)
            {
                reader.SkipName();
                ushort type = reader.ReadUInt16();
                reader.ReadUInt16();
                int ttlOffset = reader.Position;
                uint ttl = reader.ReadUInt32();
                reader.ReadBytes(reader.ReadUInt16());
                // Per-message signatures (TSIG, SIG(0) in the additional section) cannot be replayed to another client.
                if (type == TsigType || (type == SigType && r >= records - BinaryPrimitives.ReadUInt16BigEndian(response[10..]))) return false;
                if (type == OptType) continue;
                // RFC 2181 §8: a TTL with the top bit set is treated as zero.
                if (ttl > int.MaxValue) ttl = 0;
                offsets.Add((ushort)ttlOffset);
                minTtl = Math.Min(minTtl, ttl);
            }
        }
        catch (DnsFormatException)
        {
            // Store is off the hit path; a malformed response is simply not cached.
            return false;
        }
        ttlOffsets = offsets.ToArray();
        return true;
    }

    private int PurgeMatching(DnsName name, bool subtree, RRType? type)
    {
        var lowered = new byte[name.WireLength];
        name.CopyLowerCaseTo(lowered);
        return _cache.RemoveWhere((_, entry) => Matches(entry, lowered, subtree, type));
    }

    /// <summary>
    /// True when the entry answers a matching question, or holds a record (any section) owned by a matching name: an
    /// answer for <c>alias.example.com</c> that carries <c>www.example.com</c>'s data was built from it, and must go
    /// when it is purged. With a type, records of that type match (and signatures, which may cover it).
    /// </summary>
    private static bool Matches(AnswerEntry entry, byte[] name, bool subtree, RRType? type)
    {
        var entryName = entry.Key[..entry.NameLength];
        bool typeMatches = type is not { } t || BinaryPrimitives.ReadUInt16BigEndian(entry.Key[entry.NameLength..]) == (ushort)t;
        if (typeMatches && NameMatches(entryName, name, subtree)) return true;
        return HoldsOwner(entry.Response, entry.NameLength, name, subtree, type);
    }

    /// <summary>Scans the records of a stored response for an owner name (and type) that matches. Purges only: it decodes every owner.</summary>
    private static bool HoldsOwner(ReadOnlySpan<byte> response, int nameLength, byte[] name, bool subtree, RRType? type)
    {
        int records = BinaryPrimitives.ReadUInt16BigEndian(response[6..]) + BinaryPrimitives.ReadUInt16BigEndian(response[8..]) + BinaryPrimitives.ReadUInt16BigEndian(response[10..]);
        Span<byte> owner = stackalloc byte[255];
        try
        {
            var reader = new WireReader(response) { Position = DnsHeaderSize + nameLength + 4 };
            for (int r = 0; r < records; r++)
            {
                int length = reader.ReadName(owner, out _);
                ushort rrType = reader.ReadUInt16();
                reader.ReadUInt16();
                reader.ReadUInt32();
                reader.ReadBytes(reader.ReadUInt16());
                if (rrType == OptType) continue;
                if (type is { } t && rrType != (ushort)t && rrType != RrsigType) continue;
                // Length octets are below 64, so lowering the whole wire form leaves them alone.
                var lowered = owner[..length];
                for (int i = 0; i < lowered.Length; i++) lowered[i] = AnswerKey.ToLower(lowered[i]);
                if (NameMatches(lowered, name, subtree)) return true;
            }
        }
        catch (DnsFormatException)
        {
            // Stored responses were parsed when stored; should one not parse now, it goes rather than risk serving purged data.
            return true;
        }
        return false;
    }

    private static bool NameMatches(ReadOnlySpan<byte> entryName, byte[] name, bool subtree)
    {
        if (!subtree) return entryName.SequenceEqual(name);
        // Below or at the apex: the apex's wire form is a suffix of the name starting at a label boundary.
        for (int pos = 0; entryName.Length - pos >= name.Length; pos += entryName[pos] + 1)
        {
            if (entryName.Length - pos == name.Length) return entryName[pos..].SequenceEqual(name);
        }
        return false;
    }

    private sealed class EntryCost : ICacheCost<ulong, AnswerEntry>
    {
        public static readonly EntryCost Instance = new();

        public long CostOf(ulong key, AnswerEntry value) => value.HeapBytes;
    }
}

using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Security.Cryptography;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Wire;

namespace Ananas.Authoritative.Signing;

/// <summary>
/// Makes the RRSIGs of an answer at answer time (RFC 4035 §2.2, with the canonical form of RFC 4034 §6 that the
/// validator uses), one per zone key, and keeps them in a bounded <see cref="SignatureCache"/>. An RRset is handed
/// over as an <see cref="RRsetImage"/>: its signed owner (the wildcard's for a wildcard answer), type, TTL and RDATA,
/// which is also the cache key, so a hit costs a hash and a comparison and allocates nothing.
/// </summary>
public sealed class OnlineSigner
{
    /// <summary>Images longer than this are keyed by their SHA-256 digest instead of themselves.</summary>
    private const int MaxLiteralKey = 512;

    [ThreadStatic]
    private static byte[]? t_key;

    public OnlineSigner(SigningOptions options)
    {
        Options = options;
        Cache = new SignatureCache(Math.Max(options.CacheSize, 4));
    }

    public SigningOptions Options { get; }

    public SignatureCache Cache { get; }

    public long SignaturesMade;
    public long CacheHits;
    public long CacheMisses;
    public long Failures;
    public long CompactDenials;

    /// <summary>The <c>ananas_auth_signatures_*</c> and <c>ananas_auth_signature_cache_*</c> metrics.</summary>
    public void AppendPrometheus(StringBuilder sb)
    {
        void Counter(string name, string help, long value) => sb.Append(CultureInfo.InvariantCulture,
            $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");
        Counter("ananas_auth_signatures_total", "RRSIGs made by the online signer (one per key and RRset signed).", Volatile.Read(ref SignaturesMade));
        Counter("ananas_auth_signature_cache_hits_total", "Signed RRsets whose signatures came from the signature cache.", Volatile.Read(ref CacheHits));
        Counter("ananas_auth_signature_cache_misses_total", "Signed RRsets that had to be signed.", Volatile.Read(ref CacheMisses));
        Counter("ananas_auth_signing_failures_total", "RRsets left unsigned because their stored RDATA could not be read.", Volatile.Read(ref Failures));
        Counter("ananas_auth_compact_denials_total", "Names that do not exist answered with an RFC 9824 compact denial.", Volatile.Read(ref CompactDenials));
        sb.Append("# HELP ananas_auth_signature_cache_capacity Entries the signature cache holds at most.\n# TYPE ananas_auth_signature_cache_capacity gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_auth_signature_cache_capacity {Cache.Capacity}\n");
    }

    /// <summary>
    /// The RRSIGs over <paramref name="image"/> in the zone of <paramref name="keys"/>, from the cache or made now;
    /// null when the RDATA cannot be read back (a damaged value: the RRset goes out unsigned and validators see bogus).
    /// </summary>
    public SignatureEntry? Sign(uint zoneId, ZoneKeySet keys, ReadOnlySpan<byte> image)
    {
        var keyBuffer = t_key ??= new byte[8 + MaxLiteralKey + 1];
        BinaryPrimitives.WriteUInt32BigEndian(keyBuffer, zoneId);
        BinaryPrimitives.WriteUInt32BigEndian(keyBuffer.AsSpan(4), keys.Id);
        int keyLength;
        if (image.Length <= MaxLiteralKey)
        {
            image.CopyTo(keyBuffer.AsSpan(8));
            keyLength = 8 + image.Length;
        }
        else
        {
            // A marker octet keeps digests apart from literal images (an image never starts with 0xFF: a label length).
            keyBuffer[8] = 0xFF;
            SHA256.HashData(image, keyBuffer.AsSpan(9, 32));
            keyLength = 8 + 1 + 32;
        }
        var key = keyBuffer.AsSpan(0, keyLength);
        long now = Options.Time.GetUtcNow().ToUnixTimeSeconds();
        var cached = Cache.Find(key, now);
        if (cached is not null)
        {
            Interlocked.Increment(ref CacheHits);
            return cached;
        }
        Interlocked.Increment(ref CacheMisses);
        var made = Make(keys, image, now, key.ToArray());
        if (made is null)
        {
            Interlocked.Increment(ref Failures);
            return null;
        }
        Cache.Add(made);
        return made;
    }

    private SignatureEntry? Make(ZoneKeySet keys, ReadOnlySpan<byte> image, long now, byte[] cacheKey)
    {
        if (!RRsetImage.TryRead(image, out var owner, out var type, out uint ttl, out var records)) return null;
        // RFC 4034 §3.1.3: the labels of the original owner, a leading "*" not counted (a wildcard's answers say so).
        int labels = owner.IsWildcard ? owner.LabelCount - 1 : owner.LabelCount;
        uint inception = (uint)(now - (long)Options.InceptionOffset.TotalSeconds);
        long jitter = (long)Options.Jitter.TotalSeconds;
        uint expiration = (uint)(now + (long)Options.Validity.TotalSeconds - (jitter > 0 ? Random.Shared.NextInt64(jitter + 1) : 0));
        var signer = DnsName.FromWire(keys.ApexLower);
        var rrsigs = new byte[keys.Keys.Count][];
        for (int i = 0; i < rrsigs.Length; i++)
        {
            var k = keys.Keys[i];
            var unsigned = new RrsigData(type, k.Algorithm, (byte)labels, ttl, expiration, inception, k.KeyTag, signer, []);
            byte[] data;
            try
            {
                data = CanonicalForm.SignedData(unsigned, records);
            }
            catch (Exception e) when (e is ArgumentException or DnsFormatException)
            {
                return null;
            }
            var signature = new byte[k.SignatureLength];
            k.Sign(data, signature);
            Interlocked.Increment(ref SignaturesMade);
            rrsigs[i] = new RrsigData(type, k.Algorithm, (byte)labels, ttl, expiration, inception, k.KeyTag, signer, signature).ToWire();
        }
        return new SignatureEntry(cacheKey, rrsigs, now + (long)Options.Reuse.TotalSeconds);
    }
}

/// <summary>
/// An RRset as handed to the signer, written into a caller's buffer without allocating:
/// <c>owner (lowercase uncompressed wire) | type (2) | TTL (4) | each record: length (2) | RDATA</c>.
/// </summary>
public static class RRsetImage
{
    /// <summary>Starts an image; returns the offset where records go, or -1 when it does not fit.</summary>
    public static int Begin(Span<byte> buffer, ReadOnlySpan<byte> owner, RRType type, uint ttl)
    {
        if (owner.Length + 6 > buffer.Length) return -1;
        owner.CopyTo(buffer);
        // Label length octets (at most 63) are never in 'A'..'Z', so every octet can be lowercased alike.
        for (int i = 0; i < owner.Length; i++)
        {
            byte b = buffer[i];
            if (b is >= (byte)'A' and <= (byte)'Z') buffer[i] = (byte)(b | 0x20);
        }
        BinaryPrimitives.WriteUInt16BigEndian(buffer[owner.Length..], (ushort)type);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[(owner.Length + 2)..], ttl);
        return owner.Length + 6;
    }

    /// <summary>Appends one record at <paramref name="offset"/>; returns the new end, or -1 when it does not fit.</summary>
    public static int Add(Span<byte> buffer, int offset, ReadOnlySpan<byte> rdata)
    {
        if (offset < 0 || offset + 2 + rdata.Length > buffer.Length) return -1;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[offset..], (ushort)rdata.Length);
        rdata.CopyTo(buffer[(offset + 2)..]);
        return offset + 2 + rdata.Length;
    }

    /// <summary>Reads an image back into records (on a cache miss only: this allocates).</summary>
    public static bool TryRead(ReadOnlySpan<byte> image, out DnsName owner, out RRType type, out uint ttl, out List<ResourceRecord> records)
    {
        owner = DnsName.Root;
        type = default;
        ttl = 0;
        records = [];
        try
        {
            int p = 0;
            while (p < image.Length && image[p] != 0) p += image[p] + 1;
            if (p + 7 > image.Length) return false;
            owner = DnsName.FromWire(image[..(p + 1)]);
            p++;
            type = (RRType)BinaryPrimitives.ReadUInt16BigEndian(image[p..]);
            ttl = BinaryPrimitives.ReadUInt32BigEndian(image[(p + 2)..]);
            p += 6;
            while (p < image.Length)
            {
                int length = BinaryPrimitives.ReadUInt16BigEndian(image[p..]);
                var rdata = image.Slice(p + 2, length);
                var reader = new WireReader(rdata);
                records.Add(new ResourceRecord(owner, ttl, RData.Read(type, ref reader, length)));
                p += 2 + length;
            }
            return records.Count > 0;
        }
        catch (Exception e) when (e is DnsFormatException or ArgumentException)
        {
            return false;
        }
    }
}

using System.Collections.Concurrent;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Dnssec;

/// <summary>
/// Parsed public keys by (algorithm, key octets): building an RSA or ECDSA object costs far more than one
/// verification, and a zone's keys sign many RRsets. Thread-safe and bounded: two generations of at most
/// <c>capacity / 2</c> entries each; when the young one fills up the old one is dropped, and a hit in the old
/// one moves the entry to the young one (an approximate LRU without locks).
/// Malformed keys are cached too (as a marker), so a bad key is not re-parsed for every signature.
/// </summary>
public sealed class DnskeyCache
{
    private static readonly object Malformed = new();
    private readonly int _generationSize;
    private ConcurrentDictionary<KeyId, object> _young = new(KeyIdComparer.Instance);
    private ConcurrentDictionary<KeyId, object> _old = new(KeyIdComparer.Instance);
    private readonly object _rotateLock = new();
    private long _parses;

    public DnskeyCache(int capacity = 4096)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        _generationSize = capacity / 2;
    }

    /// <summary>Keys parsed so far (misses), for tests and statistics.</summary>
    public long Parses => Interlocked.Read(ref _parses);

    public int Count => _young.Count + _old.Count;

    /// <summary>The parsed key, or <c>null</c> when the key is malformed.</summary>
    public object? GetOrParse(IDnssecAlgorithm algorithm, ReadOnlyMemory<byte> publicKey)
    {
        var id = new KeyId(algorithm.Number, publicKey);
        if (_young.TryGetValue(id, out var parsed)) return parsed == Malformed ? null : parsed;
        if (!_old.TryGetValue(id, out parsed))
        {
            Interlocked.Increment(ref _parses);
            parsed = algorithm.ParseKey(publicKey.Span) ?? Malformed;
        }
        // Own the key octets: the caller's buffer may be reused.
        _young[new KeyId(id.Algorithm, publicKey.ToArray())] = parsed;
        if (_young.Count >= _generationSize) Rotate();
        return parsed == Malformed ? null : parsed;
    }

    private void Rotate()
    {
        lock (_rotateLock)
        {
            if (_young.Count < _generationSize) return;
            // Parsed keys that fall out are not disposed: another thread may be verifying with one right now.
            _old = _young;
            _young = new ConcurrentDictionary<KeyId, object>(KeyIdComparer.Instance);
        }
    }

    private readonly record struct KeyId(byte Algorithm, ReadOnlyMemory<byte> Key);

    private sealed class KeyIdComparer : IEqualityComparer<KeyId>
    {
        public static readonly KeyIdComparer Instance = new();

        public bool Equals(KeyId x, KeyId y) => x.Algorithm == y.Algorithm && x.Key.Span.SequenceEqual(y.Key.Span);

        public int GetHashCode(KeyId id)
        {
            // HashCode is seeded per process, so key octets chosen by an attacker cannot aim at one bucket.
            var h = new HashCode();
            h.Add(id.Algorithm);
            h.AddBytes(id.Key.Span);
            return h.ToHashCode();
        }
    }
}

/// <summary>Verifies one signature with one DNSKEY: algorithm lookup, cached key parsing, verification.</summary>
public sealed class SignatureVerifier
{
    public static readonly SignatureVerifier Default = new(DnssecAlgorithmRegistry.Default, new DnskeyCache());

    /// <summary>As <see cref="Default"/>, with DSA (<see cref="PeerCompatibility.ValidateDsa"/>); its own key cache.</summary>
    public static readonly SignatureVerifier WithDsa = new(DnssecAlgorithmRegistry.WithDsa, new DnskeyCache());

    public SignatureVerifier(DnssecAlgorithmRegistry algorithms, DnskeyCache cache)
    {
        Algorithms = algorithms;
        Cache = cache;
    }

    public DnssecAlgorithmRegistry Algorithms { get; }

    public DnskeyCache Cache { get; }

    public bool IsSupported(byte algorithm) => Algorithms.IsSupported(algorithm);

    /// <summary>Verifies <paramref name="signature"/> over <paramref name="signedData"/> with <paramref name="key"/>.</summary>
    public SignatureResult Verify(DnskeyData key, ReadOnlySpan<byte> signedData, ReadOnlySpan<byte> signature)
    {
        var algorithm = Algorithms.Get(key.Algorithm);
        if (algorithm is null) return SignatureResult.UnsupportedAlgorithm;
        if (key.Protocol != 3) return SignatureResult.MalformedKey;
        var parsed = Cache.GetOrParse(algorithm, key.PublicKey);
        if (parsed is null) return SignatureResult.MalformedKey;
        return algorithm.Verify(parsed, signedData, signature) ? SignatureResult.Valid : SignatureResult.Invalid;
    }

    /// <summary>Verifies an RRSIG over its RRset (the signed data is built here: RFC 4034 §3.1.8.1).</summary>
    public SignatureResult Verify(DnskeyData key, RrsigData rrsig, IReadOnlyList<ResourceRecord> rrset)
    {
        if (key.Algorithm != rrsig.Algorithm) return SignatureResult.Invalid;
        if (!Algorithms.IsSupported(key.Algorithm)) return SignatureResult.UnsupportedAlgorithm;
        byte[] data;
        try
        {
            data = CanonicalForm.SignedData(rrsig, rrset);
        }
        catch (Exception e) when (e is ArgumentException or Ananas.Dns.DnsFormatException)
        {
            return SignatureResult.Invalid;
        }
        return Verify(key, data, rrsig.Signature.Span);
    }
}

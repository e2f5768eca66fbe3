using System.Security.Cryptography;
using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Dnssec;

/// <summary>Whether a DS record names a DNSKEY (RFC 4034 §5.2, RFC 4509, RFC 6605 §2).</summary>
public enum DsMatchResult : byte
{
    Match,
    /// <summary>Key tag or algorithm differ: the DS is about another key.</summary>
    OtherKey,
    /// <summary>Tag and algorithm agree but the digest does not.</summary>
    DigestMismatch,
    /// <summary>The digest type is not implemented (EDE 2): such a DS is ignored (RFC 4035 §5.2).</summary>
    UnsupportedDigestType,
}

/// <summary>How a DS RRset authenticates a DNSKEY RRset: the keys it vouches for, or why none.</summary>
public enum DsSelectionStatus : byte
{
    /// <summary>At least one DNSKEY matches a usable DS (and may be tried on the DNSKEY RRSIG).</summary>
    KeysMatched,
    /// <summary>No DS has both a supported algorithm and a supported digest type: the child is insecure (RFC 4035 §5.2).</summary>
    NoSupportedDs,
    /// <summary>Usable DS records exist but no DNSKEY matches them: bogus, EDE 9 DNSKEY Missing.</summary>
    NoMatchingKey,
}

public sealed record DsSelection(DsSelectionStatus Status, IReadOnlyList<DnskeyData> Keys, Dns.EdeCode? Ede, string Reason);

/// <summary>DS digests over <c>owner (canonical) | DNSKEY RDATA</c>: types 1 SHA-1, 2 SHA-256, 4 SHA-384.</summary>
public static class DsMatcher
{
    public const byte Sha1 = 1, Sha256 = 2, Sha384 = 4;

    public static bool IsDigestTypeSupported(byte digestType) => digestType is Sha1 or Sha256 or Sha384;

    /// <summary>The digest a DS of <paramref name="digestType"/> carries for this key, or <c>null</c> if unsupported.</summary>
    public static byte[]? ComputeDigest(DnsName owner, DnskeyData key, byte digestType)
    {
        if (!IsDigestTypeSupported(digestType)) return null;
        var rdata = key.ToCanonicalWire();
        var input = new byte[owner.WireLength + rdata.Length];
        owner.CopyLowerCaseTo(input);
        rdata.CopyTo(input.AsSpan(owner.WireLength));
        return digestType switch
        {
            Sha1 => SHA1.HashData(input),
            Sha256 => SHA256.HashData(input),
            _ => SHA384.HashData(input),
        };
    }

    public static DsMatchResult Match(DnsName owner, DnskeyData key, DsData ds)
    {
        if (ds.KeyTag != key.KeyTag || ds.Algorithm != key.Algorithm) return DsMatchResult.OtherKey;
        var digest = ComputeDigest(owner, key, ds.DigestType);
        if (digest is null) return DsMatchResult.UnsupportedDigestType;
        return CryptographicOperations.FixedTimeEquals(digest, ds.Digest.Span) ? DsMatchResult.Match : DsMatchResult.DigestMismatch;
    }

    /// <summary>
    /// The DS records a validator should use: supported algorithm and digest type, and, per RFC 4509 §3, SHA-1
    /// digests dropped when the set has a SHA-256 (or SHA-384) digest for a supported algorithm.
    /// </summary>
    public static List<DsData> Usable(IEnumerable<DsData> dsSet, DnssecAlgorithmRegistry algorithms)
    {
        var usable = new List<DsData>();
        bool stronger = false;
        foreach (var ds in dsSet)
        {
            if (!algorithms.IsSupported(ds.Algorithm) || !IsDigestTypeSupported(ds.DigestType)) continue;
            usable.Add(ds);
            if (ds.DigestType != Sha1) stronger = true;
        }
        if (stronger) usable.RemoveAll(ds => ds.DigestType == Sha1);
        return usable;
    }

    /// <summary>
    /// The DNSKEYs of <paramref name="owner"/> that a DS in <paramref name="dsSet"/> vouches for (zone-key bit
    /// set, not revoked, protocol 3). The validator then needs one of them to have signed the DNSKEY RRset. Each
    /// digest that fails to match is charged to <paramref name="budget"/>: past
    /// <see cref="DnssecLimits.MaxDsDigestFailures"/> the selection stops with the keys matched so far, or bogus naming
    /// the bound when there are none.
    /// </summary>
    public static DsSelection SelectKeys(DnsName owner, IReadOnlyList<DnskeyData> keys, IEnumerable<DsData> dsSet, DnssecAlgorithmRegistry algorithms,
        ValidationBudget? budget = null)
    {
        budget ??= new ValidationBudget();
        var all = dsSet as IReadOnlyCollection<DsData> ?? [.. dsSet];
        var usable = Usable(all, algorithms);
        if (usable.Count == 0)
        {
            bool anyAlgorithm = all.Any(ds => algorithms.IsSupported(ds.Algorithm));
            return anyAlgorithm
                ? new DsSelection(DsSelectionStatus.NoSupportedDs, [], Dns.EdeCode.UnsupportedDsDigestType, "no DS with a supported digest type")
                : new DsSelection(DsSelectionStatus.NoSupportedDs, [], Dns.EdeCode.UnsupportedDnskeyAlgorithm, "no DS with a supported algorithm");
        }
        var matched = new List<DnskeyData>();
        int failures = 0;
        foreach (var key in keys)
        {
            if (key.Protocol != 3 || !key.IsZoneKey || key.IsRevoked) continue;
            foreach (var ds in usable)
            {
                var result = Match(owner, key, ds);
                if (result == DsMatchResult.Match)
                {
                    matched.Add(key);
                    break;
                }
                if (result != DsMatchResult.DigestMismatch || budget.TryRecordDigestFailure(++failures)) continue;
                // No more digests: the keys found so far are the selection, and none is bogus (Unbound's MAX_DS_MATCH_FAILURES).
                if (matched.Count > 0) return new DsSelection(DsSelectionStatus.KeysMatched, matched, null, "");
                string bound = Limits.Describe("DS digest failure", budget.Limits.MaxDsDigestFailures);
                budget.MarkExhausted(bound);
                return new DsSelection(DsSelectionStatus.NoMatchingKey, [], Dns.EdeCode.DnssecBogus, $"{owner} DNSKEY: {bound}");
            }
        }
        return matched.Count > 0
            ? new DsSelection(DsSelectionStatus.KeysMatched, matched, null, "")
            : new DsSelection(DsSelectionStatus.NoMatchingKey, [], Dns.EdeCode.DnskeyMissing, $"no DNSKEY of {owner} matches its DS");
    }
}

using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Dnssec;

/// <summary>The verdict on one RRset.</summary>
public enum RRsetStatus : byte
{
    /// <summary>A signature verified: the RRset is authentic (cache it with <see cref="RRsetVerification.Ttl"/>).</summary>
    Secure,
    /// <summary>No signature verified (details in <see cref="RRsetVerification.Ede"/> and the reason).</summary>
    Bogus,
    /// <summary>Every RRSIG uses an algorithm this resolver does not implement (EDE 1): the validator decides
    /// from the DS RRset whether that makes the zone insecure (RFC 4035 §5.2) or the answer bogus.</summary>
    UnsupportedAlgorithm,
    /// <summary>The work budget ran out before a signature verified (KeyTrap defence): SERVFAIL.</summary>
    BudgetExhausted,
}

public sealed record RRsetVerification(RRsetStatus Status, EdeCode? Ede, string Reason, RrsigData? Signature = null, DnskeyData? Key = null, uint Ttl = 0)
{
    public bool IsSecure => Status == RRsetStatus.Secure;

    /// <summary>Whether the signature that verified came from a wildcard (the validator must then prove the qname absent).</summary>
    public bool IsWildcardExpansion { get; init; }
}

/// <summary>
/// Verifies an RRset with its RRSIGs against a zone's DNSKEY RRset (RFC 4035 §5.3): any one valid signature
/// suffices. Every verification is charged to a <see cref="ValidationBudget"/>; keys sharing a key tag are
/// tried only up to <see cref="DnssecLimits.MaxKeyTagCollisions"/>.
/// </summary>
public sealed class RRsetVerifier
{
    private readonly SignatureVerifier _verifier;
    private readonly IClock _clock;

    public RRsetVerifier(SignatureVerifier verifier, IClock clock)
    {
        _verifier = verifier;
        _clock = clock;
    }

    public RRsetVerifier(IClock clock) : this(SignatureVerifier.Default, clock) { }

    /// <param name="rrset">The records of one RRset (same owner, type, class).</param>
    /// <param name="rrsigs">RRSIG RDATA found with it (those covering other types are skipped).</param>
    /// <param name="zone">The zone the RRset belongs to: the signer name every RRSIG must carry.</param>
    /// <param name="keys">The zone's DNSKEY RRset (already validated, or the DNSKEY RRset itself when it is being validated against DS-matched keys).</param>
    public RRsetVerification Verify(IReadOnlyList<ResourceRecord> rrset, IEnumerable<RrsigData> rrsigs, DnsName zone,
        IReadOnlyList<DnskeyData> keys, ValidationBudget budget)
    {
        if (rrset.Count == 0) return new(RRsetStatus.Bogus, EdeCode.DnssecBogus, "empty RRset");
        var owner = rrset[0].Name;
        var type = rrset[0].Type;
        uint now = SerialTime.Now(_clock);
        uint ttl = uint.MaxValue;
        foreach (var rr in rrset) ttl = Math.Min(ttl, rr.Ttl);

        var limits = budget.Limits;
        int verifications = 0, signatures = 0;
        // The most telling failure seen so far: a bad signature outranks timing, which outranks a missing key,
        // which outranks an unsupported algorithm.
        Failure failure = new(0, EdeCode.RrsigsMissing, $"no RRSIG covers {owner} {type}");
        bool anySupported = false, anyCovering = false;

        // KeyTrap shapes fail as a whole, whatever the order of the records (a validator that tried the first few
        // would pass or fail by the order the server chose): more RRSIGs over the RRset than an honest rollover uses,
        // or more keys sharing one signature's tag than the limit. Unbound and Knot Resolver fail these too.
        int covering = 0;
        foreach (var rrsig in rrsigs)
            if (rrsig.TypeCovered == type) covering++;
        if (covering > limits.MaxSignaturesPerRRset)
            return new(RRsetStatus.Bogus, EdeCode.DnssecBogus, $"{covering} RRSIGs over {owner} {type}, more than {limits.MaxSignaturesPerRRset}");

        foreach (var rrsig in rrsigs)
        {
            if (rrsig.TypeCovered != type) continue;
            anyCovering = true;
            if (++signatures > limits.MaxSignaturesPerRRset) break;
            if (!_verifier.IsSupported(rrsig.Algorithm))
            {
                failure = failure.Max(new(1, EdeCode.UnsupportedDnskeyAlgorithm, $"RRSIG algorithm {rrsig.Algorithm} is not supported"));
                continue;
            }
            anySupported = true;
            int colliding = 0;
            foreach (var key in keys)
                if (RrsigChecks.KeyMatches(key, rrsig)) colliding++;
            if (colliding > limits.MaxKeyTagCollisions)
            {
                failure = failure.Max(new(4, EdeCode.DnssecBogus, $"{colliding} DNSKEYs share key tag {rrsig.KeyTag}, more than {limits.MaxKeyTagCollisions}"));
                continue;
            }
            var check = RrsigChecks.Check(rrsig, owner, type, zone, now);
            if (check != RrsigCheck.Ok)
            {
                int rank = check is RrsigCheck.Expired or RrsigCheck.NotYetValid ? 3 : 4;
                failure = failure.Max(new(rank, RrsigChecks.ToEde(check), $"RRSIG {owner} {type} (key {rrsig.KeyTag}): {Describe(check, rrsig)}"));
                continue;
            }
            byte[]? signedData = null;
            int tried = 0;
            foreach (var key in keys)
            {
                if (!RrsigChecks.KeyMatches(key, rrsig)) continue;
                if (tried++ >= limits.MaxKeyTagCollisions) break;
                // Every verification so far failed (a success returns): past the bound of failures, stop.
                if (verifications > limits.MaxVerificationsPerRRset)
                {
                    budget.MarkExhausted(Limits.Describe("signature verifications per RRset", limits.MaxVerificationsPerRRset));
                    return Exhausted(owner, type, budget);
                }
                if (!budget.TryConsumeVerification()) return Exhausted(owner, type, budget);
                verifications++;
                try
                {
                    signedData ??= CanonicalForm.SignedData(rrsig, rrset);
                }
                catch (Exception e) when (e is ArgumentException or DnsFormatException)
                {
                    failure = failure.Max(new(5, EdeCode.DnssecBogus, $"RRSIG {owner} {type}: {e.Message}"));
                    break;
                }
                var result = _verifier.Verify(key, signedData, rrsig.Signature.Span);
                if (result == SignatureResult.Valid)
                {
                    return new RRsetVerification(RRsetStatus.Secure, null, "", rrsig, key, RrsigChecks.ClampTtl(ttl, rrsig, now))
                    {
                        IsWildcardExpansion = RrsigChecks.IsWildcardExpansion(rrsig, owner),
                    };
                }
                failure = failure.Max(result == SignatureResult.MalformedKey
                    ? new(5, EdeCode.DnssecBogus, $"DNSKEY {zone} {key.KeyTag} is malformed")
                    : new(5, EdeCode.DnssecBogus, $"RRSIG {owner} {type} does not verify with DNSKEY {key.KeyTag}"));
            }
            if (tried == 0)
                failure = failure.Max(new(2, EdeCode.DnskeyMissing, $"no DNSKEY {zone} {rrsig.KeyTag} (algorithm {rrsig.Algorithm}) for RRSIG {owner} {type}"));
        }
        if (anyCovering && !anySupported)
            return new RRsetVerification(RRsetStatus.UnsupportedAlgorithm, EdeCode.UnsupportedDnskeyAlgorithm, failure.Reason);
        return new RRsetVerification(RRsetStatus.Bogus, failure.Ede, failure.Reason);
    }

    /// <summary>Convenience for callers holding RRSIG records rather than RDATA.</summary>
    public RRsetVerification Verify(IReadOnlyList<ResourceRecord> rrset, IEnumerable<ResourceRecord> rrsigs, DnsName zone,
        IReadOnlyList<DnskeyData> keys, ValidationBudget budget) =>
        Verify(rrset, rrsigs.Select(r => r.Data).OfType<RrsigData>(), zone, keys, budget);

    private static RRsetVerification Exhausted(DnsName owner, RRType type, ValidationBudget budget) =>
        new(RRsetStatus.BudgetExhausted, EdeCode.DnssecBogus, $"{owner} {type}: {budget.Exhausted}");

    private static string Describe(RrsigCheck check, RrsigData rrsig) => check switch
    {
        RrsigCheck.Expired => $"expired {RrsigData.FormatTime(rrsig.Expiration)}",
        RrsigCheck.NotYetValid => $"not valid before {RrsigData.FormatTime(rrsig.Inception)}",
        RrsigCheck.WrongSigner => $"signer {rrsig.SignerName} is not the zone",
        RrsigCheck.OwnerOutsideSigner => $"owner is outside signer {rrsig.SignerName}",
        RrsigCheck.TooManyLabels => $"labels field {rrsig.Labels} exceeds the owner's",
        _ => check.ToString(),
    };

    private readonly record struct Failure(int Rank, EdeCode Ede, string Reason)
    {
        public Failure Max(Failure other) => other.Rank > Rank ? other : this;
    }
}

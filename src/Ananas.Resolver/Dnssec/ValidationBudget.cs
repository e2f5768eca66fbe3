namespace Ananas.Resolver.Dnssec;

/// <summary>
/// Bounds on DNSSEC work (KeyTrap, CVE-2023-50387, and its NSEC3 variant CVE-2023-50868): a response may carry
/// many keys sharing one key tag, many signatures and NSEC3 records with costly hashing, so every expensive
/// step is counted against a <see cref="ValidationBudget"/> and stops when it runs out.
/// </summary>
public sealed record DnssecLimits
{
    public static readonly DnssecLimits Default = new();

    /// <summary>
    /// Signature verifications that may fail for one RRset: one more is tried, and when it fails too the RRset is
    /// bogus. Unbound's MAX_VALIDATE_RRSIGS (8, checked after each failed verification), so that a zone with a few
    /// keys sharing a tag and a few stale signatures validates here when the peers validate it.
    /// </summary>
    public int MaxVerificationsPerRRset { get; init; } = 8;

    /// <summary>Signature verifications for one client query, all RRsets together.</summary>
    public int MaxVerificationsPerQuery { get; init; } = 32;

    /// <summary>
    /// DNSKEYs tried for one RRSIG when several share its key tag and algorithm. 8: a zone with four keys colliding
    /// with its real one still validates, as in Unbound and Knot Resolver (bench/lab/dnssec-mutations, keytrap).
    /// </summary>
    public int MaxKeyTagCollisions { get; init; } = 8;

    /// <summary>RRSIGs looked at for one RRset (the rest are ignored).</summary>
    public int MaxSignaturesPerRRset { get; init; } = 16;

    /// <summary>
    /// NSEC3 iterations above this make the answer insecure (RFC 9276 §3.2, EDE 27) without any hashing.
    /// 50, as Knot Resolver: a validator never says secure where one of the peers says insecure (Unbound's 150 is
    /// the looser of the two; the scenario runner uses it for the Unbound corpus).
    /// </summary>
    public int MaxNsec3Iterations { get; init; } = 50;

    /// <summary>
    /// NSEC3 iterations above this make the answer bogus (SERVFAIL, EDE 27), which RFC 9276 §3.2 allows for a second,
    /// higher limit; nothing is hashed either way. Between <see cref="MaxNsec3Iterations"/> and this the answer is
    /// insecure. 500: no honest zone comes near it (RFC 9276 §3.1 asks signers for 0 extra iterations), so a zone
    /// made to cost (the 2,500-iteration KeyTrap variant) fails closed instead of being passed on unchecked. 65535, the most the field holds, turns it
    /// off: the peer resolvers answer insecure at any count (deckard val_iter_high, 65535 iterations), and the
    /// scenario runner sets that.
    /// </summary>
    public int MaxNsec3IterationsBeforeBogus { get; init; } = 500;

    /// <summary>NSEC3 owner-name hash computations for one query (each costs iterations + 1 SHA-1 runs).</summary>
    public int MaxNsec3HashesPerQuery { get; init; } = 64;

    /// <summary>
    /// DS digests computed for a DNSKEY with the DS's key tag and algorithm that may fail to match, for one query;
    /// the next failure stops the digests: many keys sharing a tag times many DS would otherwise cost keys × DS
    /// digests. Unbound's MAX_DS_MATCH_FAILURES (4, it gives up when a fifth digest fails), so four keys colliding
    /// with the real one still let it be found whatever their order.
    /// </summary>
    public int MaxDsDigestFailures { get; init; } = 4;
}

/// <summary>
/// The DNSSEC work one query may still do. Not thread-safe: one per query, like the query itself.
/// </summary>
public sealed class ValidationBudget
{
    public ValidationBudget(DnssecLimits? limits = null)
    {
        Limits = limits ?? DnssecLimits.Default;
    }

    public DnssecLimits Limits { get; }

    public int VerificationsUsed { get; private set; }

    public int Nsec3HashesUsed { get; private set; }

    /// <summary>DS digests computed that did not match their key (<see cref="DnssecLimits.MaxDsDigestFailures"/>).</summary>
    public int DsDigestFailures { get; private set; }

    /// <summary>Set when a bound was hit: the validator answers SERVFAIL and names the bound.</summary>
    public string? Exhausted { get; private set; }

    public bool TryConsumeVerification()
    {
        if (VerificationsUsed >= Limits.MaxVerificationsPerQuery)
        {
            Exhausted ??= Resolver.Limits.Describe("signature verification", Limits.MaxVerificationsPerQuery);
            return false;
        }
        VerificationsUsed++;
        return true;
    }

    public bool TryConsumeNsec3Hash()
    {
        if (Nsec3HashesUsed >= Limits.MaxNsec3HashesPerQuery)
        {
            Exhausted ??= Resolver.Limits.Describe("NSEC3 hash", Limits.MaxNsec3HashesPerQuery);
            return false;
        }
        Nsec3HashesUsed++;
        return true;
    }

    /// <summary>True when the DS digest bound was reached by the failures of one key set alone (a verdict on that zone's data).</summary>
    public bool DigestBoundReachedByOneKeySet { get; private set; }

    /// <summary>
    /// Counts a DS digest that did not match, the <paramref name="inThisKeySet"/>th of its key set; false when it
    /// goes past the bound (no more digests: the keys matched so far are all there will be).
    /// </summary>
    public bool TryRecordDigestFailure(int inThisKeySet)
    {
        if (++DsDigestFailures <= Limits.MaxDsDigestFailures) return true;
        DigestBoundReachedByOneKeySet = inThisKeySet > Limits.MaxDsDigestFailures;
        return false;
    }

    internal void MarkExhausted(string what) => Exhausted ??= what;
}

namespace Ananas.Resolver;

/// <summary>
/// Every bound on the work one client query may cause, in one place (DESIGN.md, "one limits record").
/// When a bound stops the work the client gets SERVFAIL with an Extended DNS Error naming the bound,
/// built by <see cref="Describe"/> so that the wording is the same everywhere.
/// </summary>
public sealed record Limits
{
    public static readonly Limits Default = new();

    /// <summary>Referrals followed while resolving one name (including re-walks from a parent cut).</summary>
    public int MaxReferralDepth { get; init; } = 30;

    /// <summary>CNAME and DNAME links followed for one client question.</summary>
    public int MaxAliasChain { get; init; } = 12;

    /// <summary>Glueless NS names whose addresses are looked up per delegation (NXNS defence).</summary>
    public int MaxGluelessNameServers { get; init; } = 4;

    /// <summary>Upstream exchanges per client query, sub-resolutions included.</summary>
    public int MaxUpstreamQueries { get; init; } = 100;

    /// <summary>Nesting of sub-resolutions (NS address lookups inside NS address lookups).</summary>
    public int MaxSubResolutionDepth { get; init; } = 4;

    /// <summary>QNAME minimisation probes before the full name is sent (RFC 9156 MAX_MINIMISE_COUNT).</summary>
    public int MaxMinimisationProbes { get; init; } = 10;

    /// <summary>Wall time (on the injected clock) one client query may take.</summary>
    public TimeSpan MaxResolutionTime { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Times a bogus answer is fetched again, with the servers that sent the bogus data held off, before the client
    /// gets SERVFAIL (Unbound restarts validation up to 5 times, VAL_MAX_RESTART_COUNT).
    /// </summary>
    public int MaxValidationRetries { get; init; } = 3;

    /// <summary>DNSSEC validation work (signature verifications, NSEC3 hashing: the KeyTrap bounds).</summary>
    public Dnssec.DnssecLimits Dnssec { get; init; } = Resolver.Dnssec.DnssecLimits.Default;

    /// <summary>The EDE EXTRA-TEXT for a bound that stopped the work, e.g. "referral depth limit (30) reached".</summary>
    public static string Describe(string bound, object value) => $"{bound} limit ({value}) reached";
}

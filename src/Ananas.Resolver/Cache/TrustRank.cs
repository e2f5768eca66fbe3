namespace Ananas.Resolver.Cache;

/// <summary>
/// Credibility of cached data, after RFC 2181 §5.4.1 (higher is more trustworthy). Data of a lower rank never
/// replaces unexpired data of a higher rank.
/// </summary>
public enum TrustRank : byte
{
    /// <summary>Glue and other additional-section data.</summary>
    Additional = 1,

    /// <summary>Authority section of a non-authoritative answer (referral NS records).</summary>
    NonAuthoritativeAuthority = 2,

    /// <summary>Answer section of a non-authoritative answer (forwarders, recursion-lame servers).</summary>
    NonAuthoritativeAnswer = 3,

    /// <summary>Authority section of an authoritative answer (the SOA of a negative answer).</summary>
    AuthoritativeAuthority = 4,

    /// <summary>Answer section of an authoritative answer.</summary>
    AuthoritativeAnswer = 5,
}

using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Dnssec;

/// <summary>Why an RRSIG cannot be used before any cryptography (RFC 4035 §5.3.1).</summary>
public enum RrsigCheck : byte
{
    Ok,
    /// <summary>The signer is not the zone whose keys are offered.</summary>
    WrongSigner,
    /// <summary>The owner is not at or below the signer.</summary>
    OwnerOutsideSigner,
    TypeMismatch,
    /// <summary>The labels field exceeds the owner's labels.</summary>
    TooManyLabels,
    Expired,
    NotYetValid,
}

/// <summary>Serial number arithmetic on 32-bit signature times (RFC 1982, RFC 4034 §3.1.5).</summary>
public static class SerialTime
{
    /// <summary>The current time as a 32-bit signature time (seconds since 1970, modulo 2^32).</summary>
    public static uint Now(IClock clock) => FromDateTime(clock.UtcNow);

    public static uint FromDateTime(DateTimeOffset time) => unchecked((uint)time.ToUnixTimeSeconds());

    /// <summary>
    /// Negative if <paramref name="a"/> precedes <paramref name="b"/>, 0 if equal, positive if it follows
    /// (the difference taken modulo 2^32 as a signed 32-bit number; exactly 2^31 apart counts as "precedes").
    /// </summary>
    public static int Compare(uint a, uint b) => unchecked((int)(a - b));

    public static bool IsBefore(uint a, uint b) => Compare(a, b) < 0;

    /// <summary>Seconds from <paramref name="from"/> until <paramref name="to"/>, 0 if already past.</summary>
    public static uint Until(uint from, uint to)
    {
        int d = Compare(to, from);
        return d > 0 ? (uint)d : 0;
    }
}

/// <summary>The per-RRSIG checks of RFC 4035 §5.3.1 and the TTL rules of §5.3.3.</summary>
public static class RrsigChecks
{
    /// <summary>
    /// Checks an RRSIG over the RRset <paramref name="owner"/>/<paramref name="type"/> against the zone
    /// <paramref name="zone"/> whose DNSKEYs will be tried, at <paramref name="now"/> (serial arithmetic).
    /// </summary>
    public static RrsigCheck Check(RrsigData rrsig, DnsName owner, RRType type, DnsName zone, uint now)
    {
        if (rrsig.TypeCovered != type) return RrsigCheck.TypeMismatch;
        if (!rrsig.SignerName.Equals(zone)) return RrsigCheck.WrongSigner;
        if (!owner.IsSubdomainOf(zone)) return RrsigCheck.OwnerOutsideSigner;
        // A wildcard owner (*.example.) counts its labels without the '*' (RFC 4034 §3.1.3).
        int ownerLabels = owner.IsWildcard ? owner.LabelCount - 1 : owner.LabelCount;
        if (rrsig.Labels > ownerLabels) return RrsigCheck.TooManyLabels;
        if (SerialTime.IsBefore(now, rrsig.Inception)) return RrsigCheck.NotYetValid;
        if (SerialTime.IsBefore(rrsig.Expiration, now)) return RrsigCheck.Expired;
        return RrsigCheck.Ok;
    }

    /// <summary>Whether the labels field says the RRset was synthesised from a wildcard (RFC 4035 §5.3.4).</summary>
    public static bool IsWildcardExpansion(RrsigData rrsig, DnsName owner)
    {
        int ownerLabels = owner.IsWildcard ? owner.LabelCount - 1 : owner.LabelCount;
        return rrsig.Labels < ownerLabels;
    }

    /// <summary>
    /// The TTL to cache a validated RRset with (RFC 4035 §5.3.3): no more than the received TTL, the RRSIG's
    /// original TTL, or the time left until the signature expires.
    /// </summary>
    public static uint ClampTtl(uint rrsetTtl, RrsigData rrsig, uint now) =>
        Math.Min(Math.Min(rrsetTtl, rrsig.OriginalTtl), SerialTime.Until(now, rrsig.Expiration));

    /// <summary>
    /// Whether a DNSKEY may verify an RRSIG (tag, algorithm, protocol 3, zone-key bit). A revoked key (RFC 5011 §2.1)
    /// is never a trust anchor nor a DS entry point (<see cref="DsMatcher"/>), but once its zone's DNSKEY RRset is
    /// validated through another key its signatures count, as Unbound and Knot Resolver judge them.
    /// </summary>
    public static bool KeyMatches(DnskeyData key, RrsigData rrsig) =>
        key.KeyTag == rrsig.KeyTag && key.Algorithm == rrsig.Algorithm && key.Protocol == 3 && key.IsZoneKey;

    /// <summary>The Extended DNS Error for a failed check.</summary>
    public static EdeCode ToEde(RrsigCheck check) => check switch
    {
        RrsigCheck.Expired => EdeCode.SignatureExpired,
        RrsigCheck.NotYetValid => EdeCode.SignatureNotYetValid,
        _ => EdeCode.DnssecBogus,
    };
}

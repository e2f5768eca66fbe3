using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Dnssec;

public enum DenialStatus : byte
{
    /// <summary>The records prove the claim.</summary>
    Proven,
    /// <summary>They do not: the response is bogus (<see cref="DenialResult.Reason"/> says why).</summary>
    NotProven,
    /// <summary>The claim cannot be proven securely but the zone says so legitimately: an opt-out span covers
    /// the name (RFC 5155 §6, §9.2), or NSEC3 iterations exceed the limit (RFC 9276, EDE 27).</summary>
    Insecure,
    /// <summary>The NSEC3 hashing budget ran out (CVE-2023-50868 defence): SERVFAIL.</summary>
    BudgetExhausted,
}

public sealed record DenialResult(DenialStatus Status, string Reason = "", EdeCode? Ede = null, DnsName? ClosestEncloser = null)
{
    public bool IsProven => Status == DenialStatus.Proven;

    /// <summary>
    /// The records are there but prove nothing (a wrong span, a wildcard not denied): DNSSEC Bogus (EDE 6), as
    /// Unbound answers. EDE 12 (NSEC Missing, RFC 8914 §4.13) is for a denial with no usable NSEC/NSEC3 at all.
    /// </summary>
    internal static DenialResult Fail(string reason) => new(DenialStatus.NotProven, reason, EdeCode.DnssecBogus);

    internal static DenialResult Missing(string reason) => new(DenialStatus.NotProven, reason, EdeCode.NsecMissing);
}

/// <summary>
/// Authenticated denial with NSEC (RFC 4035 §5.4, RFC 4592 for wildcards), as pure functions over NSEC records
/// the caller has already validated (all from one zone, <c>zone</c>). Canonical order wraps at the last NSEC,
/// whose next name is the apex.
/// </summary>
public static class NsecProofs
{
    /// <summary>
    /// Whether the NSEC at <paramref name="owner"/> (next name <paramref name="next"/>) covers
    /// <paramref name="name"/>: owner &lt; name &lt; next in canonical order, or, for the last NSEC of the zone
    /// (next ≤ owner), name after owner or before next.
    /// </summary>
    public static bool Covers(DnsName owner, DnsName next, DnsName name)
    {
        int afterOwner = name.CompareTo(owner);
        if (afterOwner <= 0) return false;
        int beforeNext = name.CompareTo(next);
        if (next.CompareTo(owner) <= 0) return true; // the last NSEC: everything after its owner, in the zone
        return beforeNext < 0;
    }

    public static bool Covers(ResourceRecord nsec, DnsName name) =>
        nsec.Data is NsecData data && Covers(nsec.Name, data.NextDomainName, name) && !IsDelegationAbove(nsec, data, name);

    /// <summary>
    /// An NSEC at a delegation point (NS without SOA) or at a DNAME says nothing about names below it: those
    /// are in another zone, or never exist here (RFC 4035 §5.4, RFC 6672 §5.3.4.1.1).
    /// </summary>
    private static bool IsDelegationAbove(ResourceRecord nsec, NsecData data, DnsName name) =>
        name.IsStrictSubdomainOf(nsec.Name) &&
        ((data.Contains(RRType.NS) && !data.Contains(RRType.SOA)) || data.Contains(RRType.DNAME));

    private static IEnumerable<(ResourceRecord Record, NsecData Data)> Usable(IEnumerable<ResourceRecord> nsecs, DnsName zone)
    {
        foreach (var rr in nsecs)
            if (rr.Data is NsecData data && rr.Name.IsSubdomainOf(zone)) yield return (rr, data);
    }

    private static (ResourceRecord Record, NsecData Data)? FindMatch(IEnumerable<ResourceRecord> nsecs, DnsName zone, DnsName name)
    {
        foreach (var n in Usable(nsecs, zone)) if (n.Record.Name.Equals(name)) return n;
        return null;
    }

    private static (ResourceRecord Record, NsecData Data)? FindCover(IEnumerable<ResourceRecord> nsecs, DnsName zone, DnsName name)
    {
        if (!name.IsSubdomainOf(zone)) return null;
        foreach (var n in Usable(nsecs, zone))
            if (Covers(n.Record.Name, n.Data.NextDomainName, name) && !IsDelegationAbove(n.Record, n.Data, name)) return n;
        return null;
    }

    /// <summary>
    /// The closest encloser a covering NSEC implies for <paramref name="name"/>: the longest of the names it
    /// shares with the NSEC's owner and with its next name (both exist).
    /// </summary>
    public static DnsName ClosestEncloser(DnsName name, ResourceRecord coveringNsec)
    {
        var next = ((NsecData)coveringNsec.Data).NextDomainName;
        int labels = Math.Max(name.CommonSuffixLabels(coveringNsec.Name), name.CommonSuffixLabels(next));
        return name.GetAncestor(labels);
    }

    /// <summary>NXDOMAIN: an NSEC covers the qname and one covers the wildcard at its closest encloser.</summary>
    public static DenialResult ProveNameError(DnsName qname, IReadOnlyList<ResourceRecord> nsecs, DnsName zone)
    {
        if (FindMatch(nsecs, zone, qname) is not null) return DenialResult.Fail($"an NSEC shows {qname} exists");
        var cover = FindCover(nsecs, zone, qname);
        if (cover is null) return DenialResult.Fail($"no NSEC covers {qname}");
        // The next name below the qname makes it an empty non-terminal: it exists (RFC 4035 §3.1.3.2).
        if (cover.Value.Data.NextDomainName.IsStrictSubdomainOf(qname)) return DenialResult.Fail($"{qname} is an empty non-terminal");
        var ce = ClosestEncloser(qname, cover.Value.Record);
        if (!ce.IsSubdomainOf(zone)) return DenialResult.Fail($"closest encloser {ce} is outside {zone}");
        var wildcard = ce.Prepend("*");
        if (FindMatch(nsecs, zone, wildcard) is not null) return DenialResult.Fail($"wildcard {wildcard} exists: the answer should have been synthesised");
        if (FindCover(nsecs, zone, wildcard) is null) return DenialResult.Fail($"no NSEC covers the wildcard {wildcard}");
        return new DenialResult(DenialStatus.Proven, ClosestEncloser: ce);
    }

    /// <summary>
    /// NODATA: an NSEC at the qname without the type and without CNAME; at an empty non-terminal, an NSEC
    /// whose next name is below the qname; from a wildcard, the qname covered and an NSEC at the wildcard of its
    /// closest encloser without the type. For DS the NSEC must come from the parent side (no SOA); for any other
    /// type a delegation's NSEC (NS without SOA) proves nothing, and without DS leaves the answer insecure.
    /// </summary>
    public static DenialResult ProveNoData(DnsName qname, RRType qtype, IReadOnlyList<ResourceRecord> nsecs, DnsName zone)
    {
        var match = FindMatch(nsecs, zone, qname);
        if (match is { } m)
        {
            var types = m.Data;
            if (types.Contains(qtype)) return DenialResult.Fail($"the NSEC at {qname} lists {qtype}");
            if (types.Contains(RRType.CNAME)) return DenialResult.Fail($"the NSEC at {qname} lists CNAME");
            if (qtype == RRType.DS)
            {
                if (types.Contains(RRType.SOA) && !qname.IsRoot) return DenialResult.Fail($"the NSEC for DS at {qname} comes from the child zone");
            }
            else if (types.Contains(RRType.NS) && !types.Contains(RRType.SOA))
            {
                // The parent's NSEC at a delegation says nothing about the child's data; without DS the child is
                // unsigned, so the answer is insecure (RFC 4035 §5.2; Unbound's insecure-delegation NODATA).
                if (types.Contains(RRType.DS)) return DenialResult.Fail($"the NSEC at {qname} is a signed delegation's: it proves nothing but DS absence");
                return new DenialResult(DenialStatus.Insecure, $"the NSEC at {qname} shows an unsigned delegation", ClosestEncloser: qname);
            }
            return new DenialResult(DenialStatus.Proven, ClosestEncloser: qname);
        }
        // Empty non-terminal: the NSEC before it points at a name below it (RFC 4035 §3.1.3.2 and unbound's check).
        foreach (var n in Usable(nsecs, zone))
        {
            if (n.Record.Name.CompareTo(qname) < 0 && n.Data.NextDomainName.IsStrictSubdomainOf(qname) && !IsDelegationAbove(n.Record, n.Data, qname))
                return new DenialResult(DenialStatus.Proven, ClosestEncloser: qname);
        }
        return ProveWildcardNoData(qname, qtype, nsecs, zone);
    }

    /// <summary>Wildcard NODATA (RFC 4035 §3.1.3.4): the qname is covered and the wildcard at its closest encloser lacks the type.</summary>
    public static DenialResult ProveWildcardNoData(DnsName qname, RRType qtype, IReadOnlyList<ResourceRecord> nsecs, DnsName zone)
    {
        var cover = FindCover(nsecs, zone, qname);
        if (cover is null) return DenialResult.Fail($"no NSEC matches or covers {qname}");
        var ce = ClosestEncloser(qname, cover.Value.Record);
        var wildcard = ce.Prepend("*");
        var wm = FindMatch(nsecs, zone, wildcard);
        if (wm is not { } w) return DenialResult.Fail($"no NSEC at the wildcard {wildcard}");
        if (w.Data.Contains(qtype) || w.Data.Contains(RRType.CNAME)) return DenialResult.Fail($"the wildcard {wildcard} has {qtype} or CNAME");
        return new DenialResult(DenialStatus.Proven, ClosestEncloser: ce);
    }

    /// <summary>
    /// A wildcard answer (RFC 4035 §5.3.4): the RRSIG labels field <paramref name="rrsigLabels"/> says the
    /// answer came from <c>*.</c> + the rightmost labels; the next closer name (one label more) must not exist.
    /// </summary>
    public static DenialResult ProveWildcardAnswer(DnsName qname, int rrsigLabels, IReadOnlyList<ResourceRecord> nsecs, DnsName zone)
    {
        if (rrsigLabels >= qname.LabelCount) return DenialResult.Fail($"{qname} is not a wildcard expansion");
        var nextCloser = qname.GetAncestor(rrsigLabels + 1);
        var cover = FindCover(nsecs, zone, nextCloser);
        if (cover is null) return DenialResult.Fail($"no NSEC proves {nextCloser} absent for the wildcard answer {qname}");
        return new DenialResult(DenialStatus.Proven, ClosestEncloser: qname.GetAncestor(rrsigLabels));
    }

    /// <summary>An insecure delegation (RFC 4035 §5.2): the NSEC at the delegation has NS, and neither DS nor SOA.</summary>
    public static DenialResult ProveInsecureDelegation(DnsName delegation, IReadOnlyList<ResourceRecord> nsecs, DnsName zone)
    {
        var match = FindMatch(nsecs, zone, delegation);
        if (match is not { } m) return DenialResult.Fail($"no NSEC at the delegation {delegation}");
        if (!m.Data.Contains(RRType.NS)) return DenialResult.Fail($"the NSEC at {delegation} has no NS");
        if (m.Data.Contains(RRType.DS)) return DenialResult.Fail($"the NSEC at {delegation} lists DS: the delegation is signed");
        if (m.Data.Contains(RRType.SOA)) return DenialResult.Fail($"the NSEC at {delegation} comes from the child zone");
        return new DenialResult(DenialStatus.Proven, ClosestEncloser: delegation);
    }
}

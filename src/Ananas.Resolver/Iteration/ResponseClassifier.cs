using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Infrastructure;

namespace Ananas.Resolver.Iteration;

/// <summary>
/// Decides what a response to (name, type) from a server of <c>zoneCut</c> means. Only in-bailiwick data counts.
/// Non-authoritative answers with data are accepted (as kresd and the deckard corpus expect) unless RA says they come
/// from a recursive server, but non-authoritative
/// empty answers without SOA, sideways or upward referrals and foreign SOAs mark the server lame. Forwarders are
/// recursive: no AA needed, and a referral from them is lame.
/// </summary>
public static class ResponseClassifier
{
    public static ClassifiedResponse Classify(DnsMessage response, DnsName zoneCut, DnsName name, RRType type, bool forwarding)
    {
        var bailiwick = forwarding ? DnsName.Root : zoneCut;
        switch (response.Rcode)
        {
            case Rcode.NoError:
            case Rcode.NXDomain:
                break;
            case Rcode.YXDomain:
                // Only meaningful with a DNAME whose substitution overflows (RFC 6672 §2.2); YXDOMAIN with plain data
                // is a broken or spoofed response (Unbound iter_scrub_promiscuous "pollute4").
                if (HasDnameAbove(response, bailiwick, name)) return new ClassifiedResponse(ResponseKind.Answer, response);
                return new ClassifiedResponse(ResponseKind.ServerFailure, response) { Reason = "YXDOMAIN" };
            case Rcode.Refused:
                return new ClassifiedResponse(ResponseKind.Lame, response) { Lameness = Infrastructure.Lameness.Refused, Reason = "REFUSED" };
            default:
                return new ClassifiedResponse(ResponseKind.ServerFailure, response) { Reason = RcodeText.ToText(response.Rcode) };
        }

        bool aa = response.Has(HeaderFlags.AA);
        if (HasAnswerFor(response, bailiwick, name, type))
        {
            // An answer with RA and without AA from a server asked as an authority comes from a recursive resolver
            // (perhaps a stale or poisoned cache), not from the zone: recursion-lame (Unbound iter_utils.c
            // response_type_from_server, RESPONSE_TYPE_REC_LAME). Non-AA answers without RA are still taken, and when
            // every server is recursion-lame the answer is used after all (Unbound then asks them with RD).
            if (!forwarding && !aa && response.Has(HeaderFlags.RA))
                return new ClassifiedResponse(ResponseKind.Lame, response) { Lameness = Infrastructure.Lameness.RecursionLame, Reason = "recursion-lame answer (RA without AA)", LastResort = ResponseKind.Answer };
            return new ClassifiedResponse(ResponseKind.Answer, response);
        }

        var soa = Bailiwick.FindSoa(response, bailiwick, name, out bool foreignSoa);
        if (response.Rcode == Rcode.NXDomain)
        {
            if (soa is not null || aa || forwarding) return new ClassifiedResponse(ResponseKind.NameError, response) { Soa = soa };
            // No SOA and no AA, but the zone's signed NSEC/NSEC3 denial: the validator proves or rejects it, as for
            // NODATA below (Unbound val_cnametonx).
            if (!foreignSoa && !response.Has(HeaderFlags.RA) && HasDenialIn(response, bailiwick))
                return new ClassifiedResponse(ResponseKind.NameError, response);
            return new ClassifiedResponse(ResponseKind.Lame, response) { Reason = "non-authoritative NXDOMAIN without SOA" };
        }

        if (soa is not null) return new ClassifiedResponse(ResponseKind.NoData, response) { Soa = soa };

        // A completely empty authoritative NOERROR (no answer, no authority) proves little: another server is asked, and the empty
        // answer is taken as NODATA only if none answers better (Unbound iter_ignore_empty).
        if (aa && !forwarding && response.Rcode == Rcode.NoError && response.Answers.Count == 0 && response.Authority.Count == 0)
            return new ClassifiedResponse(ResponseKind.Lame, response) { Reason = "empty response", LastResort = ResponseKind.NoData };

        // A parent that answers a DS query with its referral to the name, the DS RRset in the authority section: the
        // resolution takes that RRset as the answer (Unbound iter_ds_referral).
        if (type == RRType.DS && !forwarding && name.IsStrictSubdomainOf(zoneCut) && HasAt(response.Authority, name, RRType.NS) && HasAt(response.Authority, name, RRType.DS))
            return new ClassifiedResponse(ResponseKind.Referral, response) { ReferralCut = name };
        var cut = FindReferralCut(response, zoneCut, name, type, out bool badReferral, out bool upward);
        if (cut is not null && !forwarding) return new ClassifiedResponse(ResponseKind.Referral, response) { ReferralCut = cut };
        // An empty answer that points up or sideways (e.g. to the root servers) is lame even with AA: the server does
        // not serve the zone it was asked about (Unbound and kresd treat an upward referral as lameness).
        if (upward && !forwarding)
            return new ClassifiedResponse(ResponseKind.Lame, response) { Lameness = Infrastructure.Lameness.Lame, Reason = "upward referral" };
        if (aa || forwarding) return new ClassifiedResponse(ResponseKind.NoData, response);
        // Data at the name, but not of the type asked: the server knows the name and has no such type (deckard
        // iter_unexpectedrrtype). The records themselves are ignored.
        if (HasRecordsAt(response, bailiwick, name)) return new ClassifiedResponse(ResponseKind.NoData, response);
        // No SOA, but the zone's signed NSEC/NSEC3 denial: NODATA, which the validator proves or rejects (Unbound takes
        // it as an answer too; val_nodata). Without validation the proof is not checked, as no NODATA's is.
        if (!badReferral && !foreignSoa && !response.Has(HeaderFlags.RA) && HasDenialIn(response, bailiwick)) return new ClassifiedResponse(ResponseKind.NoData, response);
        if (badReferral || foreignSoa || cut is not null)
            return new ClassifiedResponse(ResponseKind.Lame, response) { Lameness = Infrastructure.Lameness.Lame, Reason = foreignSoa ? "SOA of another zone" : "referral not below the zone cut" };
        if (response.Has(HeaderFlags.RA))
            return new ClassifiedResponse(ResponseKind.Lame, response) { Lameness = Infrastructure.Lameness.RecursionLame, Reason = "recursion-lame (RA without AA)" };
        return new ClassifiedResponse(ResponseKind.Lame, response) { Reason = "non-authoritative empty answer" };
    }

    /// <summary>Answer-section data for the name in bailiwick: the type asked, a CNAME at the name, or a DNAME above it.</summary>
    private static bool HasAnswerFor(DnsMessage response, DnsName bailiwick, DnsName name, RRType type)
    {
        foreach (var rr in response.Answers)
        {
            if (rr.Class != RRClass.IN || !Bailiwick.Contains(bailiwick, rr.Name)) continue;
            if (rr.Name.Equals(name))
            {
                if (rr.Type == type || type == RRType.ANY || rr.Type == RRType.CNAME) return true;
            }
            else if (rr.Type == RRType.DNAME && name.IsStrictSubdomainOf(rr.Name))
            {
                return true;
            }
        }
        return false;
    }

    private static bool HasDnameAbove(DnsMessage response, DnsName bailiwick, DnsName name)
    {
        foreach (var rr in response.Answers)
            if (rr.Type == RRType.DNAME && rr.Class == RRClass.IN && name.IsStrictSubdomainOf(rr.Name) && Bailiwick.Contains(bailiwick, rr.Name)) return true;
        return false;
    }

    private static bool HasDenialIn(DnsMessage response, DnsName bailiwick)
    {
        foreach (var rr in response.Authority)
            if (rr.Type is RRType.NSEC or RRType.NSEC3 && Bailiwick.Contains(bailiwick, rr.Name)) return true;
        return false;
    }

    private static bool HasAt(List<ResourceRecord> section, DnsName owner, RRType type)
    {
        foreach (var rr in section)
            if (rr.Type == type && rr.Name.Equals(owner)) return true;
        return false;
    }

    private static bool HasRecordsAt(DnsMessage response, DnsName bailiwick, DnsName name)
    {
        foreach (var rr in response.Answers)
            if (rr.Name.Equals(name) && Bailiwick.Contains(bailiwick, rr.Name)) return true;
        return false;
    }

    /// <summary>
    /// The child zone cut of a referral: NS records in the authority section whose owner is strictly below the cut
    /// asked and at or above the name (strictly above it for DS, which the parent answers).
    /// </summary>
    private static DnsName? FindReferralCut(DnsMessage response, DnsName zoneCut, DnsName name, RRType type, out bool badReferral, out bool upward)
    {
        badReferral = false;
        upward = false;
        foreach (var rr in response.Authority)
        {
            if (rr.Type != RRType.NS) continue;
            bool towardsName = type == RRType.DS ? name.IsStrictSubdomainOf(rr.Name) : name.IsSubdomainOf(rr.Name);
            if (rr.Name.IsStrictSubdomainOf(zoneCut) && towardsName) return rr.Name;
            badReferral = true;
            // NS of the zone itself (owner at the cut) is normal in authoritative answers; above or beside it is not.
            if (!rr.Name.IsSubdomainOf(zoneCut)) upward = true;
        }
        return null;
    }
}

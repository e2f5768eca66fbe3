using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Iteration;

namespace Ananas.Resolver.Validation;

/// <summary>
/// Validation verdicts kept with the data in the record cache: RRsets (and the wildcards answers expanded) cached as
/// secure with the very RRSIGs that verified them, so later queries need not verify them again.
/// </summary>
internal sealed class VerdictCache(IRecordCache cache, bool aggressive, bool validatedCacheOnly)
{
    private readonly IRecordCache _cache = cache;

    /// <summary>The record cache itself.</summary>
    public IRecordCache Records => _cache;

    /// <summary>Cached DS and DNSKEY RRsets are used only when validated before (a retry after a bogus verdict).</summary>
    public bool ValidatedOnly { get; } = validatedCacheOnly;

    /// <summary>Whether the cache holds exactly these records, with these signatures, as secure.</summary>
    public bool IsCachedSecure(List<ResourceRecord> records, List<RrsigData> sigs) =>
        HoldsSecure(_cache.Get(records[0].Name, records[0].Type, RRClass.IN), records, sigs);

    /// <summary>Whether <paramref name="cached"/> is secure and holds exactly the data of these records and these signatures.</summary>
    public static bool HoldsSecure(CachedRRset? cached, List<ResourceRecord> records, List<RrsigData> sigs)
    {
        if (cached is not { Validation: ValidationState.Secure } || cached.RRset.Data.Count != records.Count || cached.Signatures.Count != sigs.Count) return false;
        foreach (var rr in records)
            if (!cached.RRset.Data.Contains(rr.Data)) return false;
        foreach (var sig in sigs)
            if (!cached.Signatures.Contains(sig)) return false;
        return true;
    }

    /// <summary>
    /// The RRSIG labels when the records are an expansion of a wildcard the cache holds as secure with the same data
    /// and these very signatures; null otherwise.
    /// </summary>
    public int? IsCachedSecureWildcard(List<ResourceRecord> records, List<RrsigData> sigs)
    {
        if (!aggressive) return null;
        int labels = sigs[0].Labels;
        var owner = records[0].Name;
        if (labels >= owner.LabelCount) return null;
        foreach (var sig in sigs)
            if (sig.Labels != labels) return null;
        var cached = _cache.Get(owner.GetAncestor(labels).Prepend("*"), records[0].Type, RRClass.IN);
        return HoldsSecure(cached, records, sigs) ? labels : null;
    }

    /// <summary>Caches the wildcard RRset an expansion came from (owner <c>*.</c><paramref name="encloser"/>) as secure, with its RRSIGs.</summary>
    public void RememberWildcard(List<ResourceRecord> records, IReadOnlyList<RrsigData> sigs, DnsName encloser, uint ttl)
    {
        var rrset = RRset.Collect(records, records[0].Name, records[0].Type);
        if (rrset is null || ttl == 0) return;
        _cache.Store(new RRset(encloser.Prepend("*"), rrset.Type, rrset.Class, Math.Min(ttl, rrset.Ttl), rrset.Data), TrustRank.AuthoritativeAnswer,
            ValidationState.Secure, sigs);
    }

    /// <summary>Caches a verified RRset as secure, with its RRSIGs, for no longer than its signatures allow.</summary>
    public void Remember(List<ResourceRecord> records, IReadOnlyList<RrsigData> sigs, uint ttl)
    {
        var rrset = RRset.Collect(records, records[0].Name, records[0].Type);
        if (rrset is null || ttl == 0) return;
        _cache.Store(new RRset(rrset.Name, rrset.Type, rrset.Class, Math.Min(ttl, rrset.Ttl), rrset.Data), TrustRank.AuthoritativeAnswer, ValidationState.Secure, sigs);
    }

    /// <summary>A cached RRset with its RRSIGs, as an answer to (owner, type); null when not cached or cached unsigned.</summary>
    public ResolutionOutcome? CachedWithSignatures(DnsName owner, RRType type)
    {
        var cached = _cache.Get(owner, type, RRClass.IN);
        if (cached is null || cached.Signatures.Count == 0) return null;
        if (ValidatedOnly && cached.Validation != ValidationState.Secure) return null;
        var records = new List<ResourceRecord>(cached.RRset.Data.Count + cached.Signatures.Count);
        cached.AppendRecords(records);
        foreach (var sig in cached.Signatures) records.Add(new ResourceRecord(owner, RRClass.IN, cached.RemainingTtl, sig));
        return new ResolutionOutcome(Rcode.NoError, records);
    }
}

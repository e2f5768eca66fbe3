using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;

namespace Ananas.Resolver.Iteration;

/// <summary>
/// Turns the response to the full question into a name step: the answer RRset with its alias chain inside the
/// response (CNAMEs followed, DNAMEs applied, RFC 6672), or a negative answer, caching what it proves. With
/// validation on, the RRSIGs and NSEC/NSEC3 proofs travel with the records to the validator.
/// </summary>
internal sealed class AnswerSteps(RecursorOptions options, IRecordCache cache)
{
    private readonly RecursorOptions _options = options;
    private readonly Limits _limits = options.Limits;
    private readonly IRecordCache _cache = cache;

    /// here: before caching, the validator checks the RRsets (fetching DS/DNSKEY through this resolution's exchanges,
    /// so they share its budget) and the cache stores the resulting <see cref="ValidationState"/>.
    /// </summary>
    public Step Finish(ClassifiedResponse response, Delegation delegation, DnsName name, RRType type)
    {
        var message = response.Message;
        var bailiwick = delegation.Bailiwick;
        var answerRank = response.Authoritative ? TrustRank.AuthoritativeAnswer : TrustRank.NonAuthoritativeAnswer;
        var authorityRank = response.Authoritative ? TrustRank.AuthoritativeAuthority : TrustRank.NonAuthoritativeAuthority;
        switch (response.Kind)
        {
            case ResponseKind.NoData:
            {
                var negative = new NegativeAnswer(NegativeKind.NoData, name, type, RRClass.IN, response.Soa) { Authority = NegativeAuthority(message, bailiwick, _options.Validation) };
                _cache.StoreNegative(negative, authorityRank);
                return NegativeStep(Rcode.NoError, negative, []);
            }
            case ResponseKind.NameError:
            {
                var negative = new NegativeAnswer(NegativeKind.NameError, name, type, RRClass.IN, response.Soa) { Authority = NegativeAuthority(message, bailiwick, _options.Validation) };
                _cache.StoreNegative(negative, authorityRank);
                return NegativeStep(Rcode.NXDomain, negative, []);
            }
        }

        // The zone's own NS set in an authoritative answer's authority section outranks the parent's referral copy
        // (RFC 2181 §5.4.1): cache it, so later queries see every server the zone names (Unbound does; when the
        // glued servers fail, the others are then looked up: Unbound iter_pcnamech). Not with promiscuous scrubbing,
        // where that RRset is dropped from positive answers as a poisoning vector (Unbound iter_scrub_promiscuous).
        // Its RRSIGs are kept with it, as with any RRset, so that it can be validated when read back.
        if (!_options.ScrubPromiscuous && response.Authoritative && !delegation.IsForwarding && RRset.Collect(message.Authority, delegation.ZoneCut, RRType.NS) is { } zoneNs)
            _cache.Store(zoneNs, TrustRank.AuthoritativeAuthority, ValidationState.Unchecked, AnswerSignatures(message, zoneNs.Name, RRType.NS));

        // Answer: follow the alias chain inside the response, as far as it stays in bailiwick.
        var records = new List<ResourceRecord>();
        var owner = name;
        int links = 0;
        HashSet<DnsName>? owners = null; // created when an alias is followed
        while (true)
        {
            if (type == RRType.ANY && Bailiwick.Contains(bailiwick, owner))
            {
                // QTYPE ANY is passed through: whatever the authority chose to send (RFC 8482), not cached.
                int before = records.Count;
                foreach (var rr in message.Answers)
                    if (rr.Name.Equals(owner) && rr.Class == RRClass.IN) records.Add(rr);
                if (records.Count > before) return new Step(StepKind.Answer, records) { Links = links, Authority = _options.Validation ? WildcardProofs(message) : [] };
            }
            // QTYPE CNAME under a DNAME: the CNAME at the name is the one synthesised from the DNAME (RFC 6672 §3.4),
            // unsigned; the answer is the DNAME and that CNAME.
            var dnameAbove = type == RRType.CNAME ? FindDname(message, bailiwick, owner) : null;
            var data = type == RRType.ANY || dnameAbove is not null ? null : RRset.Collect(message.Answers, owner, type);
            if (data is not null && Bailiwick.Contains(bailiwick, owner))
            {
                StoreAnswer(message, data, answerRank, records);
                // Validating: NSEC/NSEC3 proofs of a wildcard expansion, for the validator (and DO clients).
                return new Step(StepKind.Answer, records) { Links = links, Authority = _options.Validation ? WildcardProofs(message) : [] };
            }
            if (links > _limits.MaxAliasChain) break;
            // A DNAME above the owner wins over the CNAME the server synthesised from it (RFC 6672 §3.4).
            var dname = dnameAbove ?? FindDname(message, bailiwick, owner);
            if (dname is not null && dname.Data[0] is NameData dnameTarget)
            {
                StoreAnswer(message, dname, answerRank, records);
                var synthesized = Synthesize(owner, dname.Name, dnameTarget.Target, dname.Ttl, records);
                if (synthesized.Kind == StepKind.YXDomain) return synthesized;
                if (type == RRType.CNAME)
                    return new Step(StepKind.Answer, records) { Links = links + 1, Authority = _options.Validation ? WildcardProofs(message) : [] };
                owner = synthesized.Target!;
                links++;
                if (!(owners ??= [name]).Add(owner)) break; // a loop: the caller sees the target again and stops
                continue;
            }
            var cname = type == RRType.CNAME ? null : RRset.Collect(message.Answers, owner, RRType.CNAME);
            if (cname is not null && Bailiwick.Contains(bailiwick, owner) && cname.Data[0] is NameData cnameTarget)
            {
                StoreAnswer(message, cname, answerRank, records);
                owner = cnameTarget.Target;
                links++;
                if (!(owners ??= [name]).Add(owner)) break;
                continue;
            }
            break;
        }

        if (links == 0) return Step.Fail(new ResolutionFailure(EdeCode.InvalidData, $"no usable answer for {name} {type}"));

        // The chain ends at a name the response has no data for. If the same zone proves it empty, that is the
        // answer; otherwise resolution restarts at the target.
        bool contradicted = false;
        if (Bailiwick.Contains(bailiwick, owner))
        {
            var soa = Bailiwick.FindSoa(message, bailiwick, owner, out _);
            contradicted = ListsTypeAt(message, owner, type);
            if ((soa is not null || (message.Rcode == Rcode.NXDomain && response.Authoritative)) && !contradicted)
            {
                var kind = message.Rcode == Rcode.NXDomain ? NegativeKind.NameError : NegativeKind.NoData;
                var negative = new NegativeAnswer(kind, owner, type, RRClass.IN, soa) { Authority = NegativeAuthority(message, bailiwick, _options.Validation) };
                _cache.StoreNegative(negative, authorityRank);
                return NegativeStep(message.Rcode == Rcode.NXDomain ? Rcode.NXDomain : Rcode.NoError, negative, records, links);
            }
        }
        // Validating: the proofs of a wildcard-expanded alias travel with the chain to the validator (and DO clients).
        return new Step(StepKind.Alias, records) { Target = owner, Links = links, Authority = _options.Validation ? WildcardProofs(message, contradicted ? owner : null) : [] };
    }

    /// <summary>The DS RRset of <paramref name="name"/> that a referral to it carries, as the answer to a DS query; null without one.</summary>
    public Step? DelegationSignerInReferral(ClassifiedResponse response, DnsName name)
    {
        var ds = RRset.Collect(response.Message.Authority, name, RRType.DS);
        if (ds is null) return null;
        var records = new List<ResourceRecord>();
        StoreAnswer(response.Message, ds, TrustRank.NonAuthoritativeAnswer, records);
        return new Step(StepKind.Answer, records);
    }

    /// <summary>
    /// Whether the response's own NSEC at <paramref name="owner"/> lists the type (or a CNAME): then the response
    /// does not prove the chain's end empty, whatever its SOA says (a server's canned answer to another question,
    /// deckard val_dname), and the target is asked for itself.
    /// </summary>
    private static bool ListsTypeAt(DnsMessage message, DnsName owner, RRType type)
    {
        foreach (var rr in message.Authority)
            if (rr.Data is NsecData nsec && rr.Name.Equals(owner) && (nsec.Contains(type) || nsec.Contains(RRType.CNAME))) return true;
        return false;
    }

    public Step NegativeStep(Rcode rcode, NegativeAnswer negative, List<ResourceRecord> records, int links = 0)
    {
        uint ttl = Math.Min(negative.Ttl, (uint)_options.MaxNegativeTtl.TotalSeconds);
        return new Step(StepKind.Negative, records)
        {
            NegativeRcode = rcode, Soa = negative.Soa?.WithTtl(ttl), Authority = CapTtl(negative.Authority, ttl), Links = links,
        };
    }

    /// <summary>
    /// The authority records a negative answer passes on besides its SOA: the in-bailiwick, non-DNSSEC records the
    /// zone's server sent (typically its NS RRset). kresd copies a final negative response's in-bailiwick authority
    /// section to the client (iterate.c pick_authority), and the deckard corpus expects that shape. DNSSEC proofs are
    /// left to the validator.
    /// </summary>
    public static IReadOnlyList<ResourceRecord> NegativeAuthority(DnsMessage message, DnsName bailiwick, bool keepProofs = false)
    {
        List<ResourceRecord>? list = null;
        foreach (var rr in message.Authority)
        {
            // Validating: the NSEC/NSEC3 proofs and the RRSIGs (the SOA's too) go to the validator.
            if (rr.Type == RRType.SOA || rr.Class != RRClass.IN) continue;
            if (!keepProofs && rr.Type is RRType.RRSIG or RRType.NSEC or RRType.NSEC3) continue;
            if (!Bailiwick.Contains(bailiwick, rr.Name)) continue;
            list ??= [];
            AddIfNew(list, rr);
        }
        return list ?? (IReadOnlyList<ResourceRecord>)[];
    }

    /// <summary>The RRSIGs covering (owner, type) in a section, to cache with the RRset; null when none.</summary>
    public static List<RrsigData>? SignaturesFor(IReadOnlyList<ResourceRecord> section, DnsName owner, RRType type)
    {
        List<RrsigData>? sigs = null;
        for (int i = 0; i < section.Count; i++) // indexed: no boxed enumerator
        {
            var rr = section[i];
            if (rr.Data is RrsigData sig && sig.TypeCovered == type && rr.Name.Equals(owner)) (sigs ??= []).Add(sig);
        }
        return sigs;
    }

    /// <summary>
    /// Validation on: the RRSIGs covering an answer RRset, wherever the server put them (some misplace one of several
    /// in another section; Unbound's parser attaches every RRSIG to its RRset, val_ta_algo_dnskey).
    /// </summary>
    private List<RrsigData>? AnswerSignatures(DnsMessage message, DnsName owner, RRType type)
    {
        if (!_options.Validation) return null;
        var sigs = SignaturesFor(message.Answers, owner, type);
        foreach (var section in (ReadOnlySpan<MessageSection>)[MessageSection.Authority, MessageSection.Additional])
        {
            if (message.Count(section) == 0 || SignaturesFor(message.Section(section), owner, type) is not { } more) continue;
            sigs ??= [];
            foreach (var sig in more)
                if (!sigs.Contains(sig)) sigs.Add(sig);
        }
        return sigs;
    }

    /// <summary>Caches an answer RRset with its RRSIGs and appends both to the step's records.</summary>
    private void StoreAnswer(DnsMessage message, RRset rrset, TrustRank rank, List<ResourceRecord> records)
    {
        var sigs = AnswerSignatures(message, rrset.Name, rrset.Type);
        _cache.Store(rrset, rank, ValidationState.Unchecked, sigs);
        rrset.AppendRecords(records, rrset.Ttl);
        if (sigs is null) return;
        foreach (var sig in sigs)
        {
            var rr = new ResourceRecord(rrset.Name, rrset.Class, rrset.Ttl, sig);
            AddIfNew(records, rr);
        }
    }

    public static IReadOnlyList<ResourceRecord> WithAliasProofs(List<ResourceRecord>? aliasProofs, IReadOnlyList<ResourceRecord> final)
    {
        if (aliasProofs is null) return final;
        foreach (var rr in final)
            AddIfNew(aliasProofs, rr);
        return aliasProofs;
    }

    /// <summary>Removes, in place, each record whose data an earlier one of the list already has (RFC 2181 §5): the first stays.</summary>
    public static void RemoveRepeats(List<ResourceRecord> records)
    {
        int kept = 0;
        for (int i = 0; i < records.Count; i++)
        {
            var rr = records[i];
            bool repeat = false;
            for (int j = 0; j < kept && !repeat; j++) repeat = records[j].SameData(rr);
            if (!repeat) records[kept++] = rr;
        }
        if (kept < records.Count) records.RemoveRange(kept, records.Count - kept);
    }

    /// <summary>Adds <paramref name="rr"/> unless a record with the same data is there (RFC 2181 §5); a loop, not a delegate per call.</summary>
    public static void AddIfNew(List<ResourceRecord> records, ResourceRecord rr)
    {
        foreach (var held in records)
            if (held.SameData(rr)) return;
        records.Add(rr);
    }

    /// <summary>
    /// The response's NSEC/NSEC3 records and their RRSIGs, which prove a wildcard expansion (or a delegation the chain
    /// enters); not those owned by <paramref name="target"/>, when they contradict the response (see <see cref="ListsTypeAt"/>).
    /// </summary>
    private static IReadOnlyList<ResourceRecord> WildcardProofs(DnsMessage message, DnsName? target = null)
    {
        List<ResourceRecord>? list = null;
        foreach (var rr in message.Authority)
        {
            bool proof = (rr.Type is RRType.NSEC or RRType.NSEC3 || rr.Data is RrsigData { TypeCovered: RRType.NSEC or RRType.NSEC3 })
                && (target is null || !rr.Name.Equals(target));
            if (proof) (list ??= []).Add(rr);
        }
        return list ?? (IReadOnlyList<ResourceRecord>)[];
    }

    public static IReadOnlyList<ResourceRecord> CapTtl(IReadOnlyList<ResourceRecord> records, uint ttl)
    {
        if (records.Count == 0) return records;
        var capped = new List<ResourceRecord>(records.Count);
        foreach (var rr in records) capped.Add(rr.Ttl > ttl ? rr.WithTtl(ttl) : rr);
        return capped;
    }

    private static RRset? FindDname(DnsMessage message, DnsName bailiwick, DnsName owner)
    {
        foreach (var rr in message.Answers)
            if (rr.Type == RRType.DNAME && owner.IsStrictSubdomainOf(rr.Name) && Bailiwick.Contains(bailiwick, rr.Name))
                return RRset.Collect(message.Answers, rr.Name, RRType.DNAME);
        return null;
    }

    /// <summary>DNAME substitution (RFC 6672 §2.2): a CNAME from the name to the name with the DNAME owner replaced.</summary>
    public static Step Synthesize(DnsName name, DnsName dnameOwner, DnsName dnameTarget, uint ttl, List<ResourceRecord> records)
    {
        var target = name.ReplaceSuffix(dnameOwner, dnameTarget);
        if (target is null) return new Step(StepKind.YXDomain, records);
        records.Add(new ResourceRecord(name, RRClass.IN, ttl, NameData.Cname(target)));
        return new Step(StepKind.Alias, records) { Target = target, Links = 1 };
    }

}

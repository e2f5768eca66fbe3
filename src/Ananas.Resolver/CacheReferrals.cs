using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Iteration;
using Ananas.Resolver.Validation;

namespace Ananas.Resolver;

/// <summary>
/// The answer of a name server that does not recurse to a query its data does not answer (RFC 1034 §4.3.2 step 3b),
/// built from the cache: the alias chain read so far in the answer section, the closest enclosing cached NS RRset in
/// the authority section and the cached addresses of those servers in the additional section. Only for clients
/// allowed it (<see cref="Request.CacheReferrals"/>): the referral tells which zones others have been asking about.
/// </summary>
internal sealed class CacheReferrals(RecursorContext context, ValidationStage validation)
{
    private static readonly RRType[] AddressTypes = [RRType.A, RRType.AAAA];

    private readonly IRecordCache _cache = context.Cache;
    private long _sent;

    /// <summary>Referrals from the cache sent.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>
    /// The referral for a query without RD that <paramref name="resolution"/> could not answer from the cache; null when
    /// no NS RRset enclosing the name is cached (the caller then refuses). AD only when every RRset sent is secure
    /// (RFC 4035 §3.2.3): unsigned or unvalidated data never earns it.
    /// </summary>
    public async Task<Response?> AnswerAsync(Request request, IExchanger exchanger, Resolution resolution, CancellationToken cancellationToken)
    {
        var query = request.Query;
        var uncached = resolution.UncachedName;
        if (uncached is null) return null;
        var chain = resolution.UncachedChain ?? [];
        // The DS RRset of a zone cut is the parent's (RFC 4035 §3.1.4.1): a DS query is referred to the parent's servers.
        bool dsAtCut = query.Questions[0].Type == RRType.DS && chain.Count == 0 && !uncached.IsRoot;
        var ns = _cache.FindClosestNameServers(dsAtCut ? uncached.Parent : uncached, RRClass.IN);
        if (ns is null) return null;

        // RRsets in the order they are sent: the alias chain, the NS RRset, then the addresses of each server.
        var rrsets = new List<List<ResourceRecord>>();
        foreach (var rr in chain)
        {
            if (rr.Type == RRType.RRSIG) continue;
            if (rrsets.Exists(set => set[0].Name.Equals(rr.Name) && set[0].Type == rr.Type)) continue;
            rrsets.Add(chain.FindAll(r => r.Name.Equals(rr.Name) && (r.Type == rr.Type || r.Data is RrsigData sig && sig.TypeCovered == rr.Type)));
        }
        int chainSets = rrsets.Count;
        rrsets.Add(WithSignatures(ns));
        foreach (var data in ns.RRset.Data)
        {
            if (data is not NameData { Target: var server }) continue;
            foreach (var type in AddressTypes)
                if ((_cache.Get(server, type, RRClass.IN) ?? _cache.GetParentSideGlue(server, type, RRClass.IN)) is { } addresses)
                    rrsets.Add(WithSignatures(addresses));
        }

        // AD covers the answer and authority sections (RFC 4035 §3.2.3): for a client that wants it (DO or AD, RFC 6840
        // §5.8), alias or NS data cached without RRSIGs is fetched again with them, as the validator does for a cached
        // answer. Addresses are judged on what the cache holds.
        bool wantsAd = query.Edns?.DnssecOk == true || query.Has(HeaderFlags.AD);
        var (verdicts, queries) = await validation.JudgeRRsetsAsync(request, exchanger, rrsets, wantsAd ? chainSets + 1 : 0, resolution, cancellationToken);
        // Bogus alias or NS data is not passed on (RFC 4035 §5.5); bogus addresses are merely left out.
        for (int i = 0; i <= chainSets; i++)
        {
            if (verdicts[i].State != ValidationState.Bogus) continue;
            var failed = query.CreateResponse(Rcode.ServFail);
            failed.Set(HeaderFlags.RA);
            failed.Edns?.Options.Add(new ExtendedErrorOption(verdicts[i].Ede ?? EdeCode.DnssecBogus, verdicts[i].Reason));
            return new Response(failed) { UpstreamQueries = resolution.UpstreamQueries + queries };
        }
        bool secure = true;
        for (int i = 0; i <= chainSets; i++) secure &= verdicts[i].State == ValidationState.Secure;
        // Addresses that are not secure go rather than the AD of a secure referral (Unbound's val-clean-additional).
        bool dnssecOk = query.Edns?.DnssecOk == true;

        var response = query.CreateResponse(Rcode.NoError);
        response.Set(HeaderFlags.RA);
        for (int i = 0; i < rrsets.Count; i++)
        {
            bool glue = i > chainSets;
            if (glue && (verdicts[i].State == ValidationState.Bogus || secure && wantsAd && verdicts[i].State != ValidationState.Secure)) continue;
            // The NS RRset fetched again may name other servers than the cached one.
            if (glue && !rrsets[chainSets].Exists(ns => ns.Data is NameData { Target: var server } && server.Equals(rrsets[i][0].Name))) continue;
            var section = i < chainSets ? response.Answers : i == chainSets ? response.Authority : response.Additional;
            foreach (var rr in rrsets[i])
                if (dnssecOk || rr.Type != RRType.RRSIG) section.Add(Capped(rr));
        }
        validation.ApplyDnssecFlags(query, response, secure);
        Interlocked.Increment(ref _sent);
        return new Response(response) { Referral = true, UpstreamQueries = resolution.UpstreamQueries + queries };
    }

    /// <summary>The RRset's records and the RRSIGs cached with it.</summary>
    private static List<ResourceRecord> WithSignatures(CachedRRset cached)
    {
        var records = new List<ResourceRecord>(cached.RRset.Data.Count + cached.Signatures.Count);
        cached.AppendRecords(records);
        foreach (var sig in cached.Signatures) records.Add(new ResourceRecord(cached.RRset.Name, cached.RRset.Class, cached.RemainingTtl, sig));
        return records;
    }

    private ResourceRecord Capped(ResourceRecord rr)
    {
        uint maxTtl = (uint)context.Options.MaxCacheTtl.TotalSeconds;
        return rr.Ttl > maxTtl ? rr.WithTtl(maxTtl) : rr;
    }
}

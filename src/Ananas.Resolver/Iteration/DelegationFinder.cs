using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;

namespace Ananas.Resolver.Iteration;

/// <summary>
/// Where iteration for a name starts and how referrals become delegations: forward and stub zones, the closest
/// cached NS set, the root hints (primed, RFC 8109), and the NS set and glue a referral brings (cached, with the
/// child's DS or its denial for the validator).
/// </summary>
internal sealed class DelegationFinder(RecursorOptions options, IRecordCache cache, ServerQueries queries)
{
    private readonly RecursorOptions _options = options;
    private readonly IRecordCache _cache = cache;

    /// <summary>
    /// RFC 8109 priming: asks the hint servers for the root NS set; on success the NS set and its glue are cached
    /// (so later iterations start from them) and returned as the delegation. On failure the hints are used as they are.
    /// </summary>
    public async ValueTask<Delegation> PrimeRootAsync(Delegation hints, int depth)
    {
        var reply = await queries.QueryDelegationAsync(hints, DnsName.Root, RRType.NS, depth);
        if (reply.Response is not { Kind: ResponseKind.Answer } response) return hints;
        var ns = RRset.Collect(response.Message.Answers, DnsName.Root, RRType.NS);
        if (ns is null) return hints;
        _cache.Store(ns, response.Authoritative ? TrustRank.AuthoritativeAnswer : TrustRank.NonAuthoritativeAnswer);
        var primed = BuildDelegation(DnsName.Root, ns, response.Message, DnsName.Root, DelegationSource.Referral);
        // Servers without usable addresses would need glueless lookups from the root itself: keep the hints then.
        foreach (var server in primed.NameServers)
            if (server.Addresses.Count > 0) return primed;
        return hints;
    }

    /// <summary>
    /// The closest forward zone for <paramref name="name"/>, unless a stub zone below it is closer: the most specific
    /// configured zone wins (Unbound punches a hole in the forward tree for every stub zone, iter_fwdstub).
    /// </summary>
    public ForwardZone? FindForwardZone(DnsName name)
    {
        ForwardZone? best = null;
        foreach (var zone in _options.ForwardZones)
            if (name.IsSubdomainOf(zone.Name) && (best is null || zone.Name.LabelCount > best.Name.LabelCount)) best = zone;
        if (best is null) return null;
        foreach (var stub in _options.StubZones)
            if (name.IsSubdomainOf(stub.Name) && stub.Name.LabelCount > best.Name.LabelCount) return null;
        return best;
    }

    /// <summary>The deepest of: the closest cached NS set, a configured stub zone, the root hints.</summary>
    /// <param name="withStubs">False: as if no stub zone were configured (a <c>first</c> stub zone's servers failed).</param>
    public Delegation StartingDelegation(DnsName name, bool withStubs = true)
    {
        StubZone? stub = null;
        if (withStubs)
            foreach (var zone in _options.StubZones)
                if (name.IsSubdomainOf(zone.Name) && (stub is null || zone.Name.LabelCount > stub.Name.LabelCount)) stub = zone;

        var cached = _cache.FindClosestNameServers(name, RRClass.IN);
        if (cached is not null && (stub is null || cached.RRset.Name.LabelCount > stub.Name.LabelCount))
            return BuildDelegation(cached.RRset.Name, cached.RRset, null, cached.RRset.Name, DelegationSource.Cache);
        if (stub is not null)
            return Delegation.FromAddresses(stub.Name, DelegationSource.StubZone, stub.Servers);
        return HintsDelegation();
    }

    /// <summary>Whether <paramref name="zoneCut"/> is a stub zone with <c>first</c>: iterate when its servers fail (Unbound stub-first).</summary>
    public bool IsStubFirst(DnsName zoneCut)
    {
        foreach (var zone in _options.StubZones)
            if (zone.First && zone.Name == zoneCut) return true;
        return false;
    }

    public Delegation HintsDelegation()
    {
        var servers = new List<NameServer>(_options.RootHints.Servers.Count);
        foreach (var hint in _options.RootHints.Servers)
        {
            var addresses = new List<IPEndPoint>(hint.Addresses.Count);
            foreach (var a in hint.Addresses) addresses.Add(new IPEndPoint(a, 53));
            servers.Add(new NameServer(hint.Name, addresses) { AddressesResolved = true });
        }
        return new Delegation(DnsName.Root, DelegationSource.RootHints, servers);
    }

    /// <summary>
    /// Caches a referral's NS set (and the parent's copy of it, whose TTL bounds how long the delegation is used) and
    /// acceptable glue, and returns the child delegation.
    /// </summary>
    public Delegation AcceptReferral(ClassifiedResponse response, Delegation parent)
    {
        var cut = response.ReferralCut!;
        var ns = RRset.Collect(response.Message.Authority, cut, RRType.NS)!;
        _cache.Store(ns, TrustRank.NonAuthoritativeAuthority);
        _cache.StoreParentSideNameServers(ns);
        if (_options.Validation) StoreDelegationSigner(response.Message, cut, parent.ZoneCut);
        return BuildDelegation(cut, ns, response.Message, parent.ZoneCut, DelegationSource.Referral);
    }

    /// <summary>
    /// Validation on: a referral carries the child's signed DS RRset, or the signed NSEC/NSEC3 records proving it has
    /// none (RFC 4035 §3.1.4). Both are cached (unchecked) for the validator, which would otherwise ask the parent
    /// for the DS again, as Unbound and kresd do not.
    /// </summary>
    private void StoreDelegationSigner(DnsMessage message, DnsName cut, DnsName parentZone)
    {
        var ds = RRset.Collect(message.Authority, cut, RRType.DS);
        if (ds is not null)
        {
            var sigs = AnswerSteps.SignaturesFor(message.Authority, cut, RRType.DS);
            if (sigs is not null) _cache.Store(ds, TrustRank.NonAuthoritativeAnswer, ValidationState.Unchecked, sigs);
            return;
        }
        List<ResourceRecord>? proofs = null;
        uint ttl = uint.MaxValue;
        foreach (var rr in message.Authority)
        {
            bool proof = rr.Type is RRType.NSEC or RRType.NSEC3 || rr.Data is RrsigData { TypeCovered: RRType.NSEC or RRType.NSEC3 };
            if (!proof || !Bailiwick.Contains(parentZone, rr.Name)) continue;
            (proofs ??= []).Add(rr);
            ttl = Math.Min(ttl, rr.Ttl);
        }
        if (proofs is null) return;
        var denial = new NegativeAnswer(NegativeKind.NoData, cut, RRType.DS, RRClass.IN, null) { Authority = proofs, ProofTtl = ttl };
        _cache.StoreNegative(denial, TrustRank.NonAuthoritativeAuthority);
    }

    /// <summary>
    /// Builds a delegation from an NS set. A server's addresses are, in order of preference: those an authoritative
    /// answer gave (the zone that owns the name outranks the parent's copy, RFC 2181 §5.4.1), the message's glue (only
    /// for the NS targets, and with harden-glue only in the bailiwick of the zone that sent it), other cached
    /// addresses. Glue is still cached and kept as parent-side glue, the last resort when the preferred addresses fail.
    /// </summary>
    private Delegation BuildDelegation(DnsName cut, RRset ns, DnsMessage? message, DnsName senderZone, DelegationSource source)
    {
        var servers = new List<NameServer>(ns.Data.Count);
        for (int i = 0; i < ns.Data.Count; i++)
        {
            var data = ns.Data[i];
            if (data is not NameData { Target: var target }) continue;
            // Each family is looked up once: glue stored below is for names whose cached addresses are not used.
            var cachedA = _cache.Get(target, RRType.A, RRClass.IN);
            var cachedAaaa = _cache.Get(target, RRType.AAAA, RRClass.IN);
            var addresses = new List<IPEndPoint>(Count(cachedA) + Count(cachedAaaa));
            AddCachedAddresses(cachedA, addresses, TrustRank.AuthoritativeAnswer);
            AddCachedAddresses(cachedAaaa, addresses, TrustRank.AuthoritativeAnswer);
            bool authoritative = addresses.Count > 0;
            if (message is not null && (!_options.HardenGlue || target.IsSubdomainOf(senderZone)))
            {
                foreach (var family in (ReadOnlySpan<RRType>)[RRType.A, RRType.AAAA])
                {
                    var glue = RRset.Collect(message.Additional, target, family);
                    if (glue is null) continue;
                    _cache.Store(glue, TrustRank.Additional);
                    _cache.StoreParentSideGlue(glue);
                    queries.RememberParentSideGlue(target, glue);
                    if (authoritative) continue;
                    for (int j = 0; j < glue.Data.Count; j++) addresses.Add(new IPEndPoint(((AddressData)glue.Data[j]).Address, 53));
                }
            }
            if (addresses.Count == 0)
            {
                AddCachedAddresses(cachedA, addresses, TrustRank.Additional);
                AddCachedAddresses(cachedAaaa, addresses, TrustRank.Additional);
            }
            servers.Add(new NameServer(target, addresses));
        }
        return new Delegation(cut, source, servers);
    }

    private static int Count(CachedRRset? cached) => cached?.RRset.Data.Count ?? 0;

    private static void AddCachedAddresses(CachedRRset? cached, List<IPEndPoint> addresses, TrustRank minimum)
    {
        if (cached is null || cached.Rank < minimum) return;
        for (int j = 0; j < cached.RRset.Data.Count; j++) addresses.Add(new IPEndPoint(((AddressData)cached.RRset.Data[j]).Address, 53));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Final responses

}

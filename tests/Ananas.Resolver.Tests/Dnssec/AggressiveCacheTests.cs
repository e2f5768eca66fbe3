using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>
/// Aggressive use of the DNSSEC-validated cache (RFC 8198): NXDOMAIN, NODATA and wildcard answers synthesised from
/// cached secure NSEC and NSEC3 records without asking upstream, and the names and settings that must still ask.
/// </summary>
public sealed class AggressiveCacheTests : SignedHierarchyTests
{
    [Fact]
    public async Task Nxdomain_is_answered_from_cached_secure_NSEC_without_asking_upstream()
    {
        var recursor = Recursor();
        // Proven by alias.example. NSEC ns.example. (covers "nothing") and example. NSEC alias.example. (covers "*").
        Assert.Equal(Rcode.NXDomain, (await Ask(recursor, "nothing.example.")).Rcode);
        int before = _authority.Queries.Count;
        // "b.example." sorts between alias and ns: the same two NSECs deny it.
        var m = await Ask(recursor, "b.example.", RRType.AAAA);
        Assert.True(before == _authority.Queries.Count, string.Join("; ", _authority.Log.Skip(before)));
        Assert.Equal(Rcode.NXDomain, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        var soa = Assert.Single(m.Authority, r => r.Type == RRType.SOA);
        Assert.True(soa.Ttl <= 300, $"negative TTL {soa.Ttl} above the SOA minimum"); // RFC 8198 §5.4
        Assert.Contains(m.Authority, r => r.Type == RRType.NSEC && r.Name.Equals(N("alias.example.")));
        Assert.Contains(m.Authority, r => r.Data is RrsigData { TypeCovered: RRType.NSEC });
        // Without DO the proofs stay out, AD still set for an AD query.
        var plain = await Ask(recursor, "c.example.", dnssecOk: false, ad: true);
        Assert.Equal(before, _authority.Queries.Count);
        Assert.Equal(Rcode.NXDomain, plain.Rcode);
        Assert.True(plain.Has(HeaderFlags.AD));
        Assert.DoesNotContain(plain.Authority, r => r.Type is RRType.NSEC or RRType.RRSIG);
    }

    [Fact]
    public async Task Nodata_is_answered_from_the_cached_NSEC_bitmap_without_asking_upstream()
    {
        var recursor = Recursor();
        Assert.Equal(Rcode.NoError, (await Ask(recursor, "www.example.", RRType.TXT)).Rcode);
        int before = _authority.Queries.Count;
        var m = await Ask(recursor, "www.example.", RRType.MX);
        Assert.True(before == _authority.Queries.Count, string.Join("; ", _authority.Log.Skip(before)));
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.Empty(m.Answers);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Authority, r => r.Type == RRType.NSEC && r.Name.Equals(N("www.example.")));
        // The bitmap lists A: that is asked for (and answered), not denied.
        var a = await Ask(recursor, "www.example.");
        Assert.Single(a.Answers, r => r.Type == RRType.A);
    }

    [Fact]
    public async Task Names_no_cached_NSEC_covers_are_asked_upstream()
    {
        var recursor = Recursor();
        await Ask(recursor, "nothing.example.");
        int before = _authority.Queries.Count;
        // "other.example." sorts between ns and www, whose NSEC has not been seen.
        var m = await Ask(recursor, "other.example.");
        Assert.Equal(Rcode.NXDomain, m.Rcode);
        Assert.True(_authority.Queries.Count > before);
    }

    [Fact]
    public async Task Aggressive_NSEC_switched_off_asks_upstream()
    {
        var recursor = Recursor(aggressiveNsec: false);
        await Ask(recursor, "nothing.example.");
        int before = _authority.Queries.Count;
        var m = await Ask(recursor, "b.example.");
        Assert.Equal(Rcode.NXDomain, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.True(_authority.Queries.Count > before);
    }

    /// <summary>Scripts x.example. A as the expansion of a signed *.example. A (RRSIG labels 1) with the given proof of x.example.'s absence.</summary>
    private void ScriptWildcardAnswer(List<ResourceRecord> proof) =>
        Script("x.example.", [Kit.Rr("x.example. 300 IN A 192.0.2.99")], proof, answerLabels: 1);

    [Fact]
    public async Task A_wildcard_answer_is_synthesised_from_the_cached_wildcard_and_NSEC_without_asking_upstream()
    {
        // RFC 8198 §5.3: www.example. NSEC example. covers every name after www (x, y, zz...); the wildcard's A RRset
        // validated for x.example. answers y.example. from the cache.
        ScriptWildcardAnswer([.. _example.Records.Where(r => r.Type == RRType.NSEC && r.Name.Equals(N("www.example.")))]);
        var recursor = Recursor();
        var first = await Ask(recursor, "x.example.");
        Assert.True(first.Has(HeaderFlags.AD));
        int before = _authority.Queries.Count;

        var m = await Ask(recursor, "y.example.");

        Assert.True(before == _authority.Queries.Count, string.Join("; ", _authority.Log.Skip(before)));
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        var a = Assert.Single(m.Answers, r => r.Type == RRType.A);
        Assert.Equal(N("y.example."), a.Name);
        Assert.Equal("192.0.2.99", a.Data.ToString());
        Assert.Contains(m.Answers, r => r.Data is RrsigData { TypeCovered: RRType.A, Labels: 1 } && r.Name.Equals(N("y.example.")));
        Assert.Contains(m.Authority, r => r.Type == RRType.NSEC && r.Name.Equals(N("www.example.")));
        // A deeper name under the same wildcard, without DO: the answer alone.
        var deep = await Ask(recursor, "a.zz.example.", dnssecOk: false, ad: true);
        Assert.Equal(before, _authority.Queries.Count);
        Assert.Equal("192.0.2.99", Assert.Single(deep.Answers).Data.ToString());
        Assert.True(deep.Has(HeaderFlags.AD));
        Assert.Empty(deep.Authority);
    }

    [Fact]
    public async Task A_name_the_cached_NSEC_does_not_cover_or_a_type_the_wildcard_lacks_is_asked_upstream()
    {
        ScriptWildcardAnswer([.. _example.Records.Where(r => r.Type == RRType.NSEC && r.Name.Equals(N("www.example.")))]);
        var recursor = Recursor();
        await Ask(recursor, "x.example.");
        int before = _authority.Queries.Count;
        // y.example. TXT: no TXT wildcard is cached. b.example. sorts between alias and ns (that NSEC was not seen).
        // (This scripted zone's own NSECs deny the wildcard, so the order matters: b.example.'s proof says so.)
        await Ask(recursor, "y.example.", RRType.TXT);
        Assert.True(_authority.Queries.Count > before);
        before = _authority.Queries.Count;
        Assert.Equal(Rcode.NXDomain, (await Ask(recursor, "b.example.")).Rcode);
        Assert.True(_authority.Queries.Count > before);
    }

    [Fact]
    public async Task Wildcard_synthesis_switched_off_asks_upstream()
    {
        ScriptWildcardAnswer([.. _example.Records.Where(r => r.Type == RRType.NSEC && r.Name.Equals(N("www.example.")))]);
        var recursor = Recursor(aggressiveNsec: false);
        await Ask(recursor, "x.example.");
        int before = _authority.Queries.Count;
        var m = await Ask(recursor, "y.example.");
        Assert.True(_authority.Queries.Count > before);
        Assert.NotEqual(Rcode.ServFail, m.Rcode);
    }

    [Fact]
    public async Task A_wildcard_answer_is_synthesised_from_the_cached_NSEC3_covering_the_next_closer_name()
    {
        UseNsec3();
        var nsec3s = _example.Records.Where(r => r.Type == RRType.NSEC3).ToList();
        bool Covers(ResourceRecord nsec3, string name)
        {
            var hash = Nsec3Hash.Compute(N(name), [], 0);
            var owner = new byte[Nsec3Hash.Length];
            Base32Hex.TryDecode(nsec3.Name.GetLabel(0), owner, out _);
            return Nsec3Proofs.Covers(owner, ((Nsec3Data)nsec3.Data).NextHashedOwnerName.Span, hash);
        }
        var span = nsec3s.First(r => Covers(r, "x.example."));
        // Another name whose hash falls in the same span, and one whose hash does not.
        var inside = Enumerable.Range(0, 1000).Select(i => $"n{i}.example.").First(n => Covers(span, n));
        var outside = Enumerable.Range(0, 1000).Select(i => $"n{i}.example.").First(n => !Covers(span, n));
        ScriptWildcardAnswer([span]);
        var recursor = Recursor();
        Assert.True((await Ask(recursor, "x.example.")).Has(HeaderFlags.AD));
        int before = _authority.Queries.Count;

        var m = await Ask(recursor, inside);

        Assert.True(before == _authority.Queries.Count, string.Join("; ", _authority.Log.Skip(before)));
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Equal(N(inside), Assert.Single(m.Answers, r => r.Type == RRType.A).Name);
        Assert.Contains(m.Authority, r => r.Type == RRType.NSEC3 && r.Name.Equals(span.Name));
        await Ask(recursor, outside);
        Assert.True(_authority.Queries.Count > before);
    }

    [Fact]
    public async Task Nsec3_denials_are_answered_from_the_cached_chain_without_asking_upstream()
    {
        UseNsec3();
        var recursor = Recursor();
        var first = await Ask(recursor, "nothing.example.");
        Assert.Equal(Rcode.NXDomain, first.Rcode);
        Assert.True(first.Has(HeaderFlags.AD));
        int before = _authority.Queries.Count;
        var nx = await Ask(recursor, "b.example.", RRType.AAAA);
        Assert.True(before == _authority.Queries.Count, string.Join("; ", _authority.Log.Skip(before)));
        Assert.Equal(Rcode.NXDomain, nx.Rcode);
        Assert.True(nx.Has(HeaderFlags.AD));
        Assert.Contains(nx.Authority, r => r.Type == RRType.NSEC3);
        Assert.Contains(nx.Authority, r => r.Type == RRType.SOA);
        // NODATA from the bitmap of the NSEC3 matching www.example.
        var nodata = await Ask(recursor, "www.example.", RRType.MX);
        Assert.Equal(before, _authority.Queries.Count);
        Assert.Equal(Rcode.NoError, nodata.Rcode);
        Assert.Empty(nodata.Answers);
        Assert.True(nodata.Has(HeaderFlags.AD));
        // A type the bitmap lists is asked for.
        var a = await Ask(recursor, "www.example.");
        Assert.Single(a.Answers, r => r.Type == RRType.A);
        Assert.True(_authority.Queries.Count > before);
    }
}

using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>The validator end to end over the small signed hierarchy of <see cref="SignedHierarchyTests"/>.</summary>
public sealed class ValidatorTests : SignedHierarchyTests
{
    [Fact]
    public async Task Secure_answer_has_AD_and_RRSIGs_with_DO()
    {
        var m = await Ask(Recursor(), "www.example.");
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Type == RRType.A);
        Assert.Contains(m.Answers, r => r.Type == RRType.RRSIG);
    }

    [Fact]
    public async Task Secure_answer_without_DO_has_no_AD_and_no_RRSIGs_but_AD_query_gets_AD()
    {
        var recursor = Recursor();
        var plain = await Ask(recursor, "www.example.", dnssecOk: false);
        Assert.Equal(Rcode.NoError, plain.Rcode);
        Assert.False(plain.Has(HeaderFlags.AD));
        Assert.DoesNotContain(plain.Answers, r => r.Type == RRType.RRSIG);
        var withAd = await Ask(recursor, "www.example.", dnssecOk: false, ad: true);
        Assert.True(withAd.Has(HeaderFlags.AD));
    }

    [Fact]
    public async Task Secure_cname_chain_validates()
    {
        var m = await Ask(Recursor(), "alias.example.");
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Type == RRType.CNAME);
    }

    [Fact]
    public async Task Tampered_signature_is_servfail_with_EDE_6()
    {
        Tamper(_example, "www.example.", RRType.A);
        var m = await Ask(Recursor(), "www.example.");
        Assert.Equal(Rcode.ServFail, m.Rcode);
        Assert.Equal(EdeCode.DnssecBogus, Ede(m));
    }

    [Fact]
    public async Task Checking_disabled_returns_bogus_data_without_AD()
    {
        Tamper(_example, "www.example.", RRType.A);
        var m = await Ask(Recursor(), "www.example.", cd: true);
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.False(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Type == RRType.A);
    }

    [Fact]
    public async Task Expired_signature_is_servfail_with_EDE_7()
    {
        _example.Records.RemoveAll(r => r.Data is RrsigData s && s.TypeCovered == RRType.A && r.Name.Equals(N("www.example.")));
        var www = _example.Records.FindAll(r => r.Type == RRType.A && r.Name.Equals(N("www.example.")));
        var sig = _exampleKey.SignRRset(www, _example.Origin, _now - 86400 * 10, _now - 86400, originalTtl: www[0].Ttl);
        _example.Records.Add(new ResourceRecord(N("www.example."), RRClass.IN, www[0].Ttl, sig));
        var m = await Ask(Recursor(), "www.example.");
        Assert.Equal(Rcode.ServFail, m.Rcode);
        Assert.Equal(EdeCode.SignatureExpired, Ede(m));
    }

    [Fact]
    public async Task Insecure_delegation_proven_by_NSEC_answers_without_AD()
    {
        var m = await Ask(Recursor(), "www.insecure.");
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.False(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Type == RRType.A);
    }

    [Fact]
    public async Task Secure_nodata_is_proven_by_NSEC()
    {
        var m = await Ask(Recursor(), "www.example.", RRType.TXT);
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.Empty(m.Answers);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Authority, r => r.Type == RRType.NSEC);
    }

    [Fact]
    public async Task Secure_nxdomain_is_proven_by_NSEC()
    {
        var m = await Ask(Recursor(), "nothing.example.");
        Assert.Equal(Rcode.NXDomain, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
    }

    [Fact]
    public async Task A_deep_nxdomain_found_by_a_minimisation_probe_is_proven_secure()
    {
        // QNAME minimisation asks nothing.example. NS first and gets NXDOMAIN (RFC 8020: the deeper name cannot
        // exist). The probe's NSEC records and signatures must go with that denial: without them it was SERVFAIL,
        // EDE 10 ("no RRSIG for example. SOA"), seen on the bench lab for a.b.c.zN.net TXT.
        var m = await Ask(Recursor(qmin: true), "a.b.nothing.example.", RRType.TXT);
        Assert.Equal(Rcode.NXDomain, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Authority, r => r.Type == RRType.NSEC);
    }

    [Fact]
    public async Task Nodata_with_tampered_NSEC_is_servfail()
    {
        Tamper(_example, "www.example.", RRType.NSEC);
        var m = await Ask(Recursor(), "www.example.", RRType.TXT);
        Assert.Equal(Rcode.ServFail, m.Rcode);
        Assert.Equal(EdeCode.DnssecBogus, Ede(m));
    }

    [Fact]
    public async Task Nodata_without_proof_is_servfail_in_a_secure_zone()
    {
        _example.Records.RemoveAll(r => r.Type == RRType.NSEC || r.Data is RrsigData { TypeCovered: RRType.NSEC });
        var m = await Ask(Recursor(), "www.example.", RRType.TXT);
        Assert.Equal(Rcode.ServFail, m.Rcode);
    }

    [Fact]
    public async Task Validation_off_leaves_AD_clear_and_sends_no_DO()
    {
        var m = await Ask(Recursor(validation: false), "www.example.");
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.False(m.Has(HeaderFlags.AD));
        Assert.All(_authority.Queries, q => Assert.NotEqual(true, q.Query.Edns?.DnssecOk));
    }

    [Fact]
    public async Task Cached_secure_answer_keeps_its_RRSIGs_and_AD_without_asking_upstream()
    {
        var recursor = Recursor();
        await Ask(recursor, "www.example.");
        int before = _authority.Queries.Count;
        var again = await Ask(recursor, "www.example.");
        Assert.Equal(before, _authority.Queries.Count);
        Assert.True(again.Has(HeaderFlags.AD));
        Assert.Contains(again.Answers, r => r.Data is RrsigData { TypeCovered: RRType.A });
        // A client without DO gets the cached data validated, without the signatures.
        var plain = await Ask(recursor, "www.example.", dnssecOk: false, ad: true);
        Assert.Equal(before, _authority.Queries.Count);
        Assert.True(plain.Has(HeaderFlags.AD));
        Assert.DoesNotContain(plain.Answers, r => r.Type == RRType.RRSIG);
    }

    [Fact]
    public async Task Bogus_answer_is_remembered_briefly_and_not_validated_again()
    {
        Tamper(_example, "www.example.", RRType.A);
        var recursor = Recursor();
        var first = await Ask(recursor, "www.example.");
        Assert.Equal(Rcode.ServFail, first.Rcode);
        int before = _authority.Queries.Count;
        var again = await Ask(recursor, "www.example.");
        Assert.Equal(Rcode.ServFail, again.Rcode);
        Assert.Equal(before, _authority.Queries.Count);
        var codes = again.Edns!.Options.OfType<ExtendedErrorOption>().Select(o => o.InfoCode).ToList();
        Assert.Contains(EdeCode.DnssecBogus, codes);
        Assert.Contains(EdeCode.CachedError, codes);
        // CD clients still get the data.
        Assert.Equal(Rcode.NoError, (await Ask(recursor, "www.example.", cd: true)).Rcode);
        // Past the bogus TTL (60 s) it is validated again (from the cached data): bogus still, but not a cached error.
        _clock.Advance(TimeSpan.FromSeconds(61));
        var later = await Ask(recursor, "www.example.");
        Assert.Equal(Rcode.ServFail, later.Rcode);
        Assert.DoesNotContain(later.Edns!.Options.OfType<ExtendedErrorOption>(), o => o.InfoCode == EdeCode.CachedError);
    }

    [Fact]
    public async Task Negative_trust_anchor_in_the_options_turns_validation_off_below_it()
    {
        Tamper(_example, "www.example.", RRType.A);
        var m = await Ask(Recursor(negativeAnchors: [N("example.")]), "www.example.");
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.False(m.Has(HeaderFlags.AD));
        // Outside it validation goes on.
        Tamper(_root, "example.", RRType.DS);
        var other = Recursor(negativeAnchors: [N("other.")]);
        Assert.Equal(Rcode.ServFail, (await Ask(other, "www.example.")).Rcode);
    }

    [Fact]
    public async Task Cached_insecure_answer_is_not_asked_for_again_by_DO_clients()
    {
        var recursor = Recursor();
        Assert.False((await Ask(recursor, "www.insecure.")).Has(HeaderFlags.AD));
        int before = _authority.Queries.Count;
        var again = await Ask(recursor, "www.insecure.");
        Assert.Equal(Rcode.NoError, again.Rcode);
        Assert.False(again.Has(HeaderFlags.AD));
        Assert.True(before == _authority.Queries.Count, string.Join("; ", _authority.Log.Skip(before)));
    }

    [Fact]
    public async Task Once_the_chain_is_validated_a_new_answer_in_the_zone_costs_one_signature_verification()
    {
        // The DS and DNSKEY RRsets validated for www.example. are cached as secure with their RRSIGs: the next
        // answer (ns.example. A) verifies its own signature only, so a budget of one verification is enough.
        var cache = new RecordCache(_clock);
        Assert.True((await Ask(Recursor(cache: cache), "www.example.")).Has(HeaderFlags.AD));
        var m = await Ask(Recursor(cache: cache, maxVerifications: 1), "ns.example.");
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD), $"EDE {Ede(m)}");
        // The bound itself holds: with the cache empty the same budget cannot validate the chain.
        Assert.Equal(Rcode.ServFail, (await Ask(Recursor(maxVerifications: 1), "ns.example.")).Rcode);
    }

    [Fact]
    public async Task Wildcard_expanded_NSEC_is_no_proof_of_nxdomain()
    {
        // The zone signs a wildcard NSEC (*.example.); an attacker expands it at "!.example.", just below the apex,
        // so that it seems to cover every name and the wildcard. Its signature verifies, but only as an expansion.
        var expanded = new List<ResourceRecord> { Kit.Rr("!.example. 300 IN NSEC zzz.example. TXT RRSIG NSEC") };
        var sig = _exampleKey.SignRRset(expanded, _example.Origin, _now - 3600, _now + 86400, labels: 1, originalTtl: 300);
        var server = _authority.Server(ExampleAddress);
        var honest = server.Respond!;
        server.Respond = request =>
        {
            if (!request.Query.Question.Name.Equals(N("nothing.example."))) return honest(request);
            var response = honest(request)!;
            response.Authority.RemoveAll(r => r.Type == RRType.NSEC || r.Data is RrsigData { TypeCovered: RRType.NSEC });
            response.Authority.AddRange(expanded);
            response.Authority.Add(new ResourceRecord(N("!.example."), RRClass.IN, 300, sig));
            return response;
        };
        var m = await Ask(Recursor(), "nothing.example.");
        Assert.Equal(Rcode.ServFail, m.Rcode);
        Assert.Equal(EdeCode.DnssecBogus, Ede(m));
    }

    [Fact]
    public async Task A_wildcard_CNAME_is_proven_by_the_NSEC_of_its_own_response_when_the_target_is_asked_separately()
    {
        // Unbound val_cnamewctonodata: x.example. CNAME is expanded from *.example.; its response proves x.example.
        // absent (www.example. NSEC example. covers it), and the target's NODATA comes in a second response, with
        // only the NSEC at ns.example., which proves nothing about x.example.
        Script("x.example.", [Kit.Rr("x.example. 300 IN CNAME ns.example.")], [.. _example.Records.Where(r => r.Type == RRType.NSEC && r.Name.Equals(N("www.example.")))], answerLabels: 1);

        var m = await Ask(Recursor(), "x.example.", RRType.AAAA);

        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Type == RRType.CNAME);
        // The wildcard proof is passed on with the chain (as Unbound prepends it), ahead of the NODATA's SOA.
        Assert.Contains(m.Authority, r => r.Type == RRType.NSEC && r.Name.Equals(N("www.example.")));
        Assert.Contains(m.Authority, r => r.Type == RRType.SOA);
    }

    [Fact]
    public async Task A_DNAME_expanded_from_a_wildcard_is_bogus()
    {
        // Unbound val_dnamewc: sub.example. DNAME signed as the expansion of *.example. (RRSIG labels 1), with a
        // valid NSEC proving sub.example. absent: RFC 4592 §4.4 rejects wildcard DNAMEs, and so does the validator.
        Script("a.sub.example.",
            [Kit.Rr("sub.example. 300 IN DNAME insecure."), Kit.Rr("a.sub.example. 300 IN CNAME a.insecure.")],
            [.. _example.Records.Where(r => r.Type == RRType.NSEC && r.Name.Equals(N("ns.example.")))], answerLabels: 1);

        var m = await Ask(Recursor(), "a.sub.example.");

        Assert.Equal(Rcode.ServFail, m.Rcode);
        var ede = m.Edns!.Options.OfType<ExtendedErrorOption>().First();
        Assert.Equal(EdeCode.DnssecBogus, ede.InfoCode);
        Assert.Contains("wildcard DNAME", ede.ExtraText);
    }

    [Fact]
    public async Task A_CNAME_into_an_unsigned_child_is_insecure_from_the_NSEC_in_its_own_response_without_asking_the_DS()
    {
        // Unbound val_cnametonsec: link.example. CNAME www.sub.example., and the same response carries example.'s
        // signed NSEC at sub.example. (NS, no DS): the unsigned delegation is proven there. The example. server
        // also serves the child, unsigned.
        var nsec = new List<ResourceRecord> { Kit.Rr("sub.example. 3600 IN NSEC www.example. NS RRSIG NSEC") };
        var nsecSig = _exampleKey.SignRRset(nsec, _example.Origin, _now - 3600, _now + 86400, originalTtl: 3600);
        Script("link.example.", [Kit.Rr("link.example. 300 IN CNAME www.sub.example.")], [.. nsec, new ResourceRecord(N("sub.example."), RRClass.IN, 3600, nsecSig)]);
        Script("www.sub.example.", [Kit.Rr("www.sub.example. 300 IN A 192.0.2.7")], [], sign: false);

        var m = await Ask(Recursor(), "link.example.");

        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.False(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Type == RRType.A && r.Name.Equals(N("www.sub.example.")));
        Assert.DoesNotContain(_authority.Queries, q => q.Query.Question.Type == RRType.DS && q.Query.Question.Name.Equals(N("sub.example.")));
    }

    [Fact]
    public async Task An_answer_stripped_of_its_RRSIGs_in_an_NSEC3_zone_is_bogus_not_insecure()
    {
        // bench/lab/dnssec-mutations rrsig-missing: the DS probe for www.example. gets a NODATA whose NSEC3 matches
        // www without NS; that is no delegation, so the name is in the signed zone and its data must be signed.
        UseNsec3();
        _example.Records.RemoveAll(r => r.Data is RrsigData { TypeCovered: RRType.A } && r.Name.Equals(N("www.example.")));

        var m = await Ask(Recursor(), "www.example.");

        Assert.Equal(Rcode.ServFail, m.Rcode);
        Assert.Equal(EdeCode.RrsigsMissing, Ede(m));
    }

    [Fact]
    public async Task A_CNAME_query_under_a_DNAME_is_answered_with_the_DNAME_and_the_synthesised_CNAME_as_secure()
    {
        // RFC 6672 §3.4: the CNAME at a name under a DNAME is the synthesised one (unsigned); the DNAME proves it.
        Script("a.sub.example.", [Kit.Rr("sub.example. 300 IN DNAME insecure."), Kit.Rr("a.sub.example. 300 IN CNAME a.insecure.")], []);

        var m = await Ask(Recursor(), "a.sub.example.", RRType.CNAME);

        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Type == RRType.DNAME);
        Assert.Contains(m.Answers, r => r.Type == RRType.CNAME && r.Name.Equals(N("a.sub.example.")));
    }

    [Fact]
    public async Task An_NXDOMAIN_without_SOA_or_AA_is_proven_by_its_signed_NSEC_records()
    {
        // Unbound val_cnametonx: the server sends the NSEC proofs (the span over the name, the one over the
        // wildcard) but neither the SOA nor AA; the proofs decide, as for a NODATA without SOA.
        var server = _authority.Server(ExampleAddress);
        var honest = server.Respond!;
        server.Respond = request =>
        {
            if (!request.Query.Question.Name.Equals(N("nothing.example."))) return honest(request);
            var response = request.Query.CreateResponse(Rcode.NXDomain);
            response.Authority.AddRange(_example.Records.Where(r => r.Type == RRType.NSEC && (r.Name.Equals(N("alias.example.")) || r.Name.Equals(N("example.")))));
            SignedZones.AddSignatures(_example, response.Authority);
            return response;
        };

        var m = await Ask(Recursor(), "nothing.example.");

        Assert.Equal(Rcode.NXDomain, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
    }
}

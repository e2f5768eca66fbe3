using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Dnssec;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>Validation of alias chains (CNAME and DNAME, RFC 6672) over the signed hierarchy, fresh and from the cache.</summary>
public sealed class AliasValidationTests : SignedHierarchyTests
{
    [Fact]
    public async Task A_cached_signed_DNAME_answers_another_name_below_it_as_secure_without_asking_for_that_name()
    {
        // RFC 6672 §5.3.1: the CNAME synthesised from a DNAME is never signed; the cached DNAME (validated, with its
        // RRSIGs) proves it, so the unsigned CNAME is no reason to fetch the client's name again.
        Script("www.sub.example.", [Kit.Rr("sub.example. 300 IN DNAME example."), Kit.Rr("www.sub.example. 300 IN CNAME www.example."),
            Kit.Rr("www.example. 300 IN A 192.0.2.80")], []);
        var recursor = Recursor();
        var first = await Ask(recursor, "www.sub.example.");
        Assert.True(first.Has(HeaderFlags.AD));

        var second = await Ask(recursor, "ns.sub.example.");

        Assert.Equal(Rcode.NoError, second.Rcode);
        Assert.True(second.Has(HeaderFlags.AD));
        Assert.Contains(second.Answers, r => r.Type == RRType.DNAME);
        Assert.Contains(second.Answers, r => r.Type == RRType.CNAME && r.Name.Equals(N("ns.sub.example.")));
        Assert.Contains(second.Answers, r => r is { Type: RRType.A } && r.Name.Equals(N("ns.example.")));
        Assert.DoesNotContain(_authority.Log, l => l.Contains("ns.sub.example."));
    }

    [Fact]
    public async Task A_CNAME_into_an_unsigned_child_is_insecure_by_the_parents_NSEC3_that_came_with_it_when_the_DS_query_fails()
    {
        // RFC 5155 §8.9: the parent's NSEC3 matching child.example. with NS and neither DS nor SOA proves the
        // delegation insecure; the CNAME's response brought it (Unbound val_cnametooptin), so the DS query is not needed.
        var child = N("child.example.");
        var hash = Nsec3Hash.Compute(child, [], 0);
        var next = (byte[])hash.Clone();
        next[^1]++;
        var nsec3 = new List<ResourceRecord>
        {
            Kit.Rr($"{Nsec3Hash.ToLabel(hash)}.example. 300 IN NSEC3 1 0 0 - {Nsec3Hash.ToLabel(next)} NS"),
        };
        nsec3.Add(new ResourceRecord(nsec3[0].Name, RRClass.IN, 300, _exampleKey.SignRRset(nsec3, _example.Origin, _now - 3600, _now + 86400, originalTtl: 300)));
        var cname = new List<ResourceRecord> { Kit.Rr("www.example. 300 IN CNAME www.child.example.") };
        cname.Add(new ResourceRecord(cname[0].Name, RRClass.IN, 300, _exampleKey.SignRRset(cname, _example.Origin, _now - 3600, _now + 86400, originalTtl: 300)));
        var server = _authority.Server(ExampleAddress);
        var honest = server.Respond!;
        server.Respond = request =>
        {
            var q = request.Query.Question;
            if (q.Name.Equals(child) && q.Type == RRType.DS) return request.Query.CreateResponse(Rcode.ServFail);
            if (q.Name.Equals(N("www.child.example.")))
            {
                var data = request.Query.CreateResponse();
                data.Set(HeaderFlags.AA);
                data.Answers.Add(Kit.Rr("www.child.example. 300 IN A 192.0.2.99"));
                return data;
            }
            if (!q.Name.Equals(N("www.example."))) return honest(request);
            var response = request.Query.CreateResponse();
            response.Set(HeaderFlags.AA);
            response.Answers.AddRange(cname);
            response.Authority.AddRange(nsec3);
            return response;
        };

        var m = await Ask(Recursor(), "www.example.");

        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.False(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Type == RRType.A && r.Name.Equals(N("www.child.example.")));
    }

    [Fact]
    public async Task A_NODATA_at_the_end_of_a_chain_that_the_responses_own_NSEC_contradicts_is_not_the_answer_the_target_is_asked()
    {
        // deckard val_dname: a server's canned response follows the CNAME to www.example. and claims NODATA (SOA), but
        // its NSEC at www.example. lists A. That proves nothing empty: the target is asked for itself.
        var nsec = _example.Records.Where(r => r.Name.Equals(N("www.example.")) && (r.Type == RRType.NSEC || r.Data is RrsigData { TypeCovered: RRType.NSEC })).ToList();
        Script("a.example.", [Kit.Rr("a.example. 300 IN CNAME www.example.")], [_example.Soa!, .. nsec]);

        var m = await Ask(Recursor(), "a.example.");

        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Type == RRType.A && r.Name.Equals(N("www.example.")));
    }

    [Fact]
    public async Task QNAME_minimisation_stops_probing_below_a_DNAME_and_asks_the_full_name()
    {
        // RFC 6672 §2.3: every name below sub.example. is redirected by its DNAME; probing b.sub.example. is pointless.
        var dname = new List<ResourceRecord> { Kit.Rr("sub.example. 300 IN DNAME example.") };
        dname.Add(new ResourceRecord(dname[0].Name, RRClass.IN, 300, _exampleKey.SignRRset(dname, _example.Origin, _now - 3600, _now + 86400, originalTtl: 300)));
        var nsec = new List<ResourceRecord> { Kit.Rr("sub.example. 300 IN NSEC www.example. DNAME RRSIG NSEC") };
        nsec.Add(new ResourceRecord(nsec[0].Name, RRClass.IN, 300, _exampleKey.SignRRset(nsec, _example.Origin, _now - 3600, _now + 86400, originalTtl: 300)));
        var server = _authority.Server(ExampleAddress);
        var honest = server.Respond!;
        server.Respond = request =>
        {
            var q = request.Query.Question;
            if (!q.Name.IsSubdomainOf(N("sub.example."))) return honest(request);
            var response = request.Query.CreateResponse();
            response.Set(HeaderFlags.AA);
            if (q.Name.Equals(N("sub.example.")) && q.Type != RRType.DNAME)
            {
                // The probe's NODATA: the NSEC at sub.example. shows the DNAME there (deckard val_dname's shape).
                response.Authority.Add(_example.Soa!);
                response.Authority.AddRange(nsec);
                SignedZones.AddSignatures(_example, response.Authority);
                return response;
            }
            response.Answers.AddRange(dname);
            var target = q.Name.ReplaceSuffix(N("sub.example."), N("example."))!;
            if (!q.Name.Equals(N("sub.example."))) response.Answers.Add(new ResourceRecord(q.Name, RRClass.IN, 300, NameData.Cname(target)));
            return response;
        };

        var m = await Ask(Recursor(qmin: true), "www.b.sub.example.");

        Assert.DoesNotContain(_authority.Log, l => l.Contains(" b.sub.example "));
        Assert.Contains(_authority.Log, l => l.Contains(" www.b.sub.example A"));
        Assert.Contains(m.Answers, r => r.Type == RRType.DNAME);
    }
}

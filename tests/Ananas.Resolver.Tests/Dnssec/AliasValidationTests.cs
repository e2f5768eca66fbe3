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
}

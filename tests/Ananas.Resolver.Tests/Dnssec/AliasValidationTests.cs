using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

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
}

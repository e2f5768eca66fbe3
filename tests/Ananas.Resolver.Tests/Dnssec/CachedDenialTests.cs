using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>
/// Negative answers read from the cache keep what a validating client needs to check them: the SOA, the NSEC/NSEC3
/// records and the RRSIGs of both (RFC 4035 §3.1.3, RFC 2308 §5), with AD when they were validated as secure.
/// </summary>
public sealed class CachedDenialTests : SignedHierarchyTests
{
    private static void AssertSignedDenial(DnsMessage m, string nsecOwner)
    {
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.Empty(m.Answers);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Authority, r => r.Type == RRType.SOA && r.Name.Equals(DnsName.Root));
        Assert.Contains(m.Authority, r => r.Data is RrsigData s && s.TypeCovered == RRType.SOA);
        Assert.Contains(m.Authority, r => r.Type == RRType.NSEC && r.Name.Equals(N(nsecOwner)));
        Assert.Contains(m.Authority, r => r.Data is RrsigData s && s.TypeCovered == RRType.NSEC && r.Name.Equals(N(nsecOwner)));
    }

    [Fact]
    public async Task A_DS_denial_asked_twice_is_answered_from_the_cache_with_its_SOA_NSEC_and_their_signatures()
    {
        var recursor = Recursor();
        AssertSignedDenial(await Ask(recursor, "insecure.", RRType.DS), "insecure.");
        int queries = _authority.Queries.Count;
        AssertSignedDenial(await Ask(recursor, "insecure.", RRType.DS), "insecure.");
        Assert.Equal(queries, _authority.Queries.Count);
    }

    [Fact]
    public async Task A_DS_denial_learnt_from_a_referral_is_answered_with_the_zones_SOA_and_signatures()
    {
        var recursor = Recursor();
        var first = await Ask(recursor, "www.insecure.");
        Assert.Equal(Rcode.NoError, first.Rcode);
        Assert.False(first.Has(HeaderFlags.AD));
        AssertSignedDenial(await Ask(recursor, "insecure.", RRType.DS), "insecure.");
    }
}

using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>
/// Negative trust anchors (RFC 7646 §2) over negative answers, cached ones included: a name under one is answered
/// as if its zone were unsigned (no AD, never SERVFAIL for a failed validation), and an anchor added at run time
/// applies to what the cache already holds.
/// </summary>
public sealed class NegativeAnchorCacheTests : SignedHierarchyTests
{
    [Fact]
    public async Task A_cached_NXDOMAIN_under_a_negative_anchor_is_answered_without_AD()
    {
        var recursor = Recursor(negativeAnchors: [N("example.")]);
        for (int i = 0; i < 2; i++)
        {
            var m = await Ask(recursor, "nx.example.");
            Assert.Equal(Rcode.NXDomain, m.Rcode);
            Assert.False(m.Has(HeaderFlags.AD));
        }
    }

    [Fact]
    public async Task A_negative_anchor_added_at_run_time_takes_AD_off_cached_negative_and_positive_answers()
    {
        var recursor = Recursor();
        Assert.True((await Ask(recursor, "nx.example.")).Has(HeaderFlags.AD));
        Assert.True((await Ask(recursor, "www.example.", RRType.AAAA)).Has(HeaderFlags.AD));
        Assert.True((await Ask(recursor, "www.example.")).Has(HeaderFlags.AD));
        Anchors.AddNegative(N("example."));
        int queries = _authority.Queries.Count;
        var nx = await Ask(recursor, "nx.example.");
        Assert.Equal(Rcode.NXDomain, nx.Rcode);
        Assert.False(nx.Has(HeaderFlags.AD));
        var nodata = await Ask(recursor, "www.example.", RRType.AAAA);
        Assert.Equal(Rcode.NoError, nodata.Rcode);
        Assert.False(nodata.Has(HeaderFlags.AD));
        var www = await Ask(recursor, "www.example.");
        Assert.NotEmpty(www.Answers);
        Assert.False(www.Has(HeaderFlags.AD));
        Assert.Equal(queries, _authority.Queries.Count);
        Anchors.RemoveNegative(N("example."));
        Assert.True((await Ask(recursor, "nx.example.")).Has(HeaderFlags.AD));
    }

    [Fact]
    public async Task A_bogus_denial_remembered_as_a_failure_is_answered_once_a_negative_anchor_covers_it()
    {
        Tamper(_example, "www.example.", RRType.NSEC);
        var recursor = Recursor();
        var bogus = await Ask(recursor, "www.example.", RRType.AAAA);
        Assert.Equal(Rcode.ServFail, bogus.Rcode);
        Anchors.AddNegative(N("example."));
        var m = await Ask(recursor, "www.example.", RRType.AAAA);
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.Empty(m.Answers);
        Assert.False(m.Has(HeaderFlags.AD));
    }
}

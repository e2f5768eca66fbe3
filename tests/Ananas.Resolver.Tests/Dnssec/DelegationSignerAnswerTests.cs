using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>Answers to DS queries, which the parent side serves (RFC 4035 §3.1.4.1), in the shapes servers send them.</summary>
public sealed class DelegationSignerAnswerTests : SignedHierarchyTests
{
    [Fact]
    public async Task A_DS_query_answered_with_a_referral_carrying_the_signed_DS_RRset_is_answered_with_that_RRset_as_secure()
    {
        // Unbound iter_ds_referral: the parent replies to "example. DS" with its referral to example., the signed DS
        // RRset in the authority section.
        var server = _authority.Server(RootAddress);
        var honest = server.Respond!;
        server.Respond = request =>
        {
            var q = request.Query.Question;
            if (!q.Name.Equals(N("example.")) || q.Type != RRType.DS) return honest(request);
            var response = request.Query.CreateResponse();
            response.Authority.AddRange(_root.Records.Where(r => r.Name.Equals(N("example.")) && r.Type is RRType.NS or RRType.DS
                || r.Data is RrsigData { TypeCovered: RRType.DS } && r.Name.Equals(N("example."))));
            response.Additional.AddRange(_root.Records.Where(r => r.Name.Equals(N("ns.example.")) && r.Type == RRType.A));
            return response;
        };

        var m = await Ask(Recursor(), "example.", RRType.DS);

        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Type == RRType.DS && r.Name.Equals(N("example.")));
    }
}

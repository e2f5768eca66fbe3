using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>
/// A zone's DNSKEY RRset that cannot be used gives SERVFAIL with the Extended DNS Error for why (RFC 8914 §4): 9 when
/// there is no DNSKEY, none matches the DS or the servers answer the query with an error, 6 when its signature is bad, 22 when no server of the zone answers
/// the DNSKEY query and 23 when none can be reached at all (the key set was never seen, so it is not a DNSSEC failure),
/// whether asked cold or again.
/// </summary>
public sealed class DnskeyFetchFailureTests : SignedHierarchyTests
{
    private readonly Kit.TestKey _otherKey = new Kit.Ed25519Key();

    /// <summary>The example. server answers DNSKEY queries with <paramref name="answer"/> (null: silence).</summary>
    private void AnswerDnskey(Func<DnsMessage, DnsMessage?> answer)
    {
        var server = _authority.Server(ExampleAddress);
        var honest = server.Respond!;
        server.Respond = request => request.Query.Question.Type == RRType.DNSKEY ? answer(request.Query) : honest(request);
    }

    /// <summary>An authoritative response with no records and <paramref name="rcode"/>.</summary>
    private static DnsMessage Empty(DnsMessage query, Rcode rcode)
    {
        var r = query.CreateResponse();
        r.Set(HeaderFlags.AA);
        r.Rcode = rcode;
        return r;
    }

    private async Task AssertServFail(EdeCode expected)
    {
        var recursor = Recursor();
        for (int i = 0; i < 2; i++)
        {
            var m = await Ask(recursor, "www.example.");
            Assert.Equal(Rcode.ServFail, m.Rcode);
            Assert.Equal(expected, Ede(m));
        }
    }

    [Fact]
    public async Task A_zone_whose_servers_never_answer_the_DNSKEY_query_is_SERVFAIL_with_EDE_22_no_reachable_authority()
    {
        AnswerDnskey(_ => null);
        await AssertServFail(EdeCode.NoReachableAuthority);
    }

    [Fact]
    public async Task A_zone_whose_servers_cannot_be_reached_for_the_DNSKEY_query_is_SERVFAIL_with_EDE_23_network_error()
    {
        _authority.Server(ExampleAddress).Unreachable = request => request.Query.Question.Type == RRType.DNSKEY;
        await AssertServFail(EdeCode.NetworkError);
    }

    [Fact]
    public async Task A_zone_whose_servers_answer_the_DNSKEY_query_SERVFAIL_is_SERVFAIL_with_EDE_9_as_they_were_reached()
    {
        AnswerDnskey(q => Empty(q, Rcode.ServFail));
        await AssertServFail(EdeCode.DnskeyMissing);
    }

    [Fact]
    public async Task A_zone_whose_DNSKEY_query_is_answered_NODATA_is_SERVFAIL_with_EDE_9_DNSKEY_missing()
    {
        AnswerDnskey(q => Empty(q, Rcode.NoError));
        await AssertServFail(EdeCode.DnskeyMissing);
    }

    [Fact]
    public async Task A_zone_whose_DNSKEY_RRset_matches_no_DS_is_SERVFAIL_with_EDE_9_DNSKEY_missing()
    {
        AnswerDnskey(q =>
        {
            var r = q.CreateResponse();
            r.Set(HeaderFlags.AA);
            var key = new ResourceRecord(N("example."), RRClass.IN, 3600, _otherKey.Dnskey());
            r.Answers.Add(key);
            r.Answers.Add(new ResourceRecord(N("example."), RRClass.IN, 3600, _otherKey.SignRRset([key], N("example."), _now - 3600, _now + 86400)));
            return r;
        });
        await AssertServFail(EdeCode.DnskeyMissing);
    }

    [Fact]
    public async Task A_zone_whose_DNSKEY_signature_is_bad_is_SERVFAIL_with_EDE_6_DNSSEC_bogus()
    {
        Tamper(_example, "example.", RRType.DNSKEY);
        await AssertServFail(EdeCode.DnssecBogus);
    }
}

using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>
/// A query without RD that the cache cannot answer (RFC 1034 §4.3.2 step 3b): a client allowed cache snooping
/// (<see cref="Request.CacheReferrals"/>) gets a referral built from the cache, AD only when every RRset in it is
/// secure (RFC 4035 §3.2.3); any other client gets REFUSED with EDE 20.
/// </summary>
public sealed class CacheReferralTests : SignedHierarchyTests
{
    private async Task<DnsMessage> AskWithoutRecursion(Recursor recursor, string name, RRType type = RRType.A, bool snoop = true, bool dnssecOk = false)
    {
        var query = DnsMessage.CreateQuery(77, N(name), type, RRClass.IN, recursionDesired: false, dnssecOk: dnssecOk);
        return (await recursor.ResolveAsync(new Request(query) { CacheReferrals = snoop }, _authority)).Message;
    }

    private static List<string> Records(List<ResourceRecord> section) =>
        section.ConvertAll(r => r.Data is RrsigData sig ? $"{r.Name} RRSIG {sig.TypeCovered}" : $"{r.Name} {r.Type} {r.Data}");

    [Fact]
    public async Task A_snooping_client_gets_a_referral_from_the_cache_where_any_other_client_is_refused_with_EDE_20()
    {
        var recursor = Recursor();
        Assert.Equal(Rcode.NoError, (await Ask(recursor, "www.insecure.")).Rcode);
        int asked = _authority.Queries.Count;

        var referral = await AskWithoutRecursion(recursor, "mail.insecure.");
        Assert.Equal(Rcode.NoError, referral.Rcode);
        Assert.False(referral.Has(HeaderFlags.AA));
        Assert.False(referral.Has(HeaderFlags.AD));
        Assert.Empty(referral.Answers);
        Assert.Equal(["insecure. NS ns.insecure."], Records(referral.Authority));
        Assert.Equal(["ns.insecure. A 192.0.2.2"], Records(referral.Additional));

        var refused = await AskWithoutRecursion(recursor, "mail.insecure.", snoop: false);
        Assert.Equal(Rcode.Refused, refused.Rcode);
        Assert.Equal(EdeCode.NotAuthoritative, Ede(refused));
        // Nothing is asked upstream for either: the cache answers or nothing does.
        Assert.Equal(asked, _authority.Queries.Count);
    }

    [Fact]
    public async Task A_snooping_client_gets_the_cached_answer_when_there_is_one_and_a_referral_only_for_the_rest()
    {
        var recursor = Recursor();
        await Ask(recursor, "www.insecure.");

        var answer = await AskWithoutRecursion(recursor, "www.insecure.");
        Assert.Equal(["www.insecure. A 192.0.2.90"], Records(answer.Answers));
        Assert.Empty(answer.Authority);

        var referral = await AskWithoutRecursion(recursor, "www.insecure.", RRType.TXT);
        Assert.Empty(referral.Answers);
        Assert.Equal(["insecure. NS ns.insecure."], Records(referral.Authority));
    }

    [Fact]
    public async Task A_referral_of_validated_NS_and_address_RRsets_carries_their_RRSIGs_and_AD_for_a_DO_client()
    {
        var recursor = Recursor(aggressiveNsec: false);
        Assert.True((await Ask(recursor, "example.", RRType.NS)).Has(HeaderFlags.AD));
        Assert.True((await Ask(recursor, "ns.example.")).Has(HeaderFlags.AD));
        int asked = _authority.Queries.Count;

        var referral = await AskWithoutRecursion(recursor, "mail.example.", dnssecOk: true);
        Assert.Equal(Rcode.NoError, referral.Rcode);
        Assert.True(referral.Has(HeaderFlags.AD));
        Assert.False(referral.Has(HeaderFlags.AA));
        Assert.Equal(["example. NS ns.example.", "example. RRSIG NS"], Records(referral.Authority));
        Assert.Equal(["ns.example. A 192.0.2.1", "ns.example. RRSIG A"], Records(referral.Additional));

        // Without DO: no DNSSEC records and no AD (RFC 4035 §3.2.1, RFC 6840 §5.8).
        var plain = await AskWithoutRecursion(recursor, "mail.example.");
        Assert.False(plain.Has(HeaderFlags.AD));
        Assert.Equal(["example. NS ns.example."], Records(plain.Authority));
        Assert.Equal(["ns.example. A 192.0.2.1"], Records(plain.Additional));
        Assert.Equal(asked, _authority.Queries.Count);
    }

    [Fact]
    public async Task NS_data_cached_unvalidated_under_CD_never_earns_AD_until_it_is_fetched_again_and_validated()
    {
        var recursor = Recursor(aggressiveNsec: false);
        // CD: nothing is validated; the cache holds the root's unsigned referral copy of example.'s NS RRset and glue.
        Assert.Equal(Rcode.NoError, (await Ask(recursor, "www.example.", cd: true)).Rcode);
        int asked = _authority.Queries.Count;

        var plain = await AskWithoutRecursion(recursor, "mail.example.");
        Assert.False(plain.Has(HeaderFlags.AD));
        Assert.Equal(["example. NS ns.example."], Records(plain.Authority));
        Assert.Equal(["ns.example. A 192.0.2.1"], Records(plain.Additional));
        Assert.Equal(asked, _authority.Queries.Count);

        // A client that wants AD: the NS RRset is fetched again with its RRSIGs and validated; the glue, unsigned, is
        // left out rather than the AD.
        var secure = await AskWithoutRecursion(recursor, "mail.example.", dnssecOk: true);
        Assert.True(secure.Has(HeaderFlags.AD));
        Assert.Equal(["example. NS ns.example.", "example. RRSIG NS"], Records(secure.Authority));
        Assert.Empty(secure.Additional);
        Assert.Contains(_authority.Queries.Skip(asked), q => q.Query.Question.Name.Equals(N("example.")) && q.Query.Question.Type == RRType.NS);
    }

    [Fact]
    public async Task A_referral_whose_NS_RRset_fails_validation_is_SERVFAIL_and_not_passed_on()
    {
        Tamper(_example, "example.", RRType.NS);
        var recursor = Recursor(aggressiveNsec: false);
        await Ask(recursor, "www.example.", cd: true);

        var failed = await AskWithoutRecursion(recursor, "mail.example.", dnssecOk: true);
        Assert.Equal(Rcode.ServFail, failed.Rcode);
        Assert.Equal(EdeCode.DnssecBogus, Ede(failed));
        Assert.Empty(failed.Authority);
    }

    [Fact]
    public async Task A_cached_alias_is_followed_and_the_referral_is_for_its_uncached_target()
    {
        var recursor = Recursor(aggressiveNsec: false);
        // alias.example. CNAME www.example.: the CNAME is cached, www.example. TXT is not.
        await Ask(recursor, "alias.example.");

        var referral = await AskWithoutRecursion(recursor, "alias.example.", RRType.TXT, dnssecOk: true);
        Assert.Equal(Rcode.NoError, referral.Rcode);
        Assert.Equal(["alias.example. CNAME www.example.", "alias.example. RRSIG CNAME"], Records(referral.Answers));
        Assert.Contains("example. NS ns.example.", Records(referral.Authority));
    }

    [Fact]
    public async Task A_DS_query_at_a_zone_cut_is_referred_to_the_parent_zone_servers()
    {
        var recursor = Recursor(validation: false);
        await Ask(recursor, "www.insecure.");
        await Ask(recursor, ".", RRType.NS);

        // DS belongs to the parent side of the cut (RFC 4035 §3.1.4.1): the root's servers hold it, not insecure.'s.
        var referral = await AskWithoutRecursion(recursor, "insecure.", RRType.DS);
        Assert.Equal(Rcode.NoError, referral.Rcode);
        Assert.Equal([". NS a.root-servers.net."], Records(referral.Authority));
    }

    [Fact]
    public async Task A_snooping_client_is_refused_until_an_NS_RRset_enclosing_the_name_is_cached()
    {
        var recursor = Recursor();
        var refused = await AskWithoutRecursion(recursor, "mail.insecure.");
        Assert.Equal(Rcode.Refused, refused.Rcode);
        Assert.Equal(EdeCode.NotAuthoritative, Ede(refused));
        Assert.Empty(_authority.Queries);

        await Ask(recursor, "www.insecure.");
        Assert.Equal(["insecure. NS ns.insecure."], Records((await AskWithoutRecursion(recursor, "mail.insecure.")).Authority));
    }
}

using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Validation;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>
/// RFC 2181 §5.4.1: in an answer to a name that is an alias, only the alias record is necessarily authoritative; the
/// data after it may come from the server's cache. When that tail fails validation, the canonical name is asked
/// for itself before the answer is called bogus.
/// </summary>
public sealed class AliasTailTests : SignedHierarchyTests
{
    /// <summary>Answers <paramref name="qname"/> with the signed <paramref name="links"/> followed by <paramref name="tail"/> as given (unsigned).</summary>
    private void AnswerWithTail(string qname, List<ResourceRecord> links, List<ResourceRecord> tail) => Script(qname, links, [], unsignedAnswer: tail);

    [Fact]
    public async Task An_unsigned_record_after_a_signed_CNAME_in_the_same_response_makes_the_resolver_ask_the_canonical_name_and_answer_it_secure()
    {
        AnswerWithTail("link.example.", [Kit.Rr("link.example. 300 IN CNAME www.example.")], [Kit.Rr("www.example. 300 IN A 203.0.113.66")]);

        var m = await Ask(Recursor(), "link.example.");

        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Type == RRType.CNAME && r.Name.Equals(N("link.example.")));
        Assert.Contains(m.Answers, r => r.Data is AddressData { Address: var a } && a.ToString() == "192.0.2.80");
        Assert.DoesNotContain(m.Answers, r => r.Data is AddressData { Address: var a } && a.ToString() == "203.0.113.66");
        Assert.Contains(_authority.Log, l => l.EndsWith(" www.example A", StringComparison.Ordinal));
        // Asked again before anything else: no probe for a zone cut that would have made the unsigned copy insecure.
        Assert.DoesNotContain(_authority.Log, l => l.EndsWith(" www.example DS", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unsigned_record_after_a_signed_DNAME_is_replaced_by_the_canonical_names_own_signed_answer()
    {
        AnswerWithTail("www.sub.example.",
            [Kit.Rr("sub.example. 300 IN DNAME example."), Kit.Rr("www.sub.example. 300 IN CNAME www.example.")],
            [Kit.Rr("www.example. 300 IN A 203.0.113.66")]);

        var m = await Ask(Recursor(), "www.sub.example.");

        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Type == RRType.DNAME);
        Assert.Contains(m.Answers, r => r.Data is AddressData { Address: var a } && a.ToString() == "192.0.2.80");
        Assert.DoesNotContain(m.Answers, r => r.Data is AddressData { Address: var a } && a.ToString() == "203.0.113.66");
    }

    [Fact]
    public async Task A_tail_that_is_still_bogus_when_the_canonical_name_is_asked_again_is_SERVFAIL()
    {
        // The zone itself serves a bad signature at www.example.: asking again cannot help, and nothing gets AD.
        Tamper(_example, "www.example.", RRType.A);
        AnswerWithTail("link.example.", [Kit.Rr("link.example. 300 IN CNAME www.example.")], [Kit.Rr("www.example. 300 IN A 203.0.113.66")]);

        var m = await Ask(Recursor(), "link.example.");

        Assert.Equal(Rcode.ServFail, m.Rcode);
        Assert.False(m.Has(HeaderFlags.AD));
        Assert.Empty(m.Answers);
    }

    [Fact]
    public async Task An_unsigned_target_that_its_own_servers_answered_is_judged_insecure_without_being_asked_twice()
    {
        // The tail came from the canonical name's own servers, not with the alias: authoritative, nothing to ask again.
        Script("link.example.", [Kit.Rr("link.example. 300 IN CNAME www.insecure.")], []);

        var m = await Ask(Recursor(), "link.example.");

        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.False(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Data is AddressData { Address: var a } && a.ToString() == "192.0.2.90");
        Assert.Single(_authority.Log, l => l == $"{InsecureAddress} www.insecure A");
    }

    [Fact]
    public void The_chain_prefix_keeps_the_links_up_to_the_target_with_their_signatures_and_the_DNAME()
    {
        var sig = Kit.Rr("link.example. 300 IN RRSIG CNAME 15 2 300 20300101000000 20200101000000 1 example. AAAA");
        List<ResourceRecord> answer =
        [
            Kit.Rr("link.example. 300 IN CNAME x.sub.example."), sig,
            Kit.Rr("sub.example. 300 IN DNAME example."),
            Kit.Rr("x.sub.example. 300 IN CNAME x.example."),
            Kit.Rr("x.example. 300 IN A 192.0.2.1"),
        ];

        var prefix = Validator.ChainPrefix(answer, N("link.example."), N("x.example."));

        Assert.NotNull(prefix);
        Assert.Equal(4, prefix.Count);
        Assert.DoesNotContain(prefix, r => r.Type == RRType.A);
        Assert.Null(Validator.ChainPrefix(answer, N("link.example."), N("elsewhere.example.")));
    }
}

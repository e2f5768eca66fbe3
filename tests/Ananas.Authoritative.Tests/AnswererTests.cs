using Ananas.Authoritative.Answering;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Authoritative.Tests;

public sealed class AnswererTests : IDisposable
{
    private const string Example = """
        $ORIGIN example.com.
        $TTL 3600
        @            IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
        @            IN NS  ns1
        @            IN MX  10 mail
        ns1          IN A   192.0.2.1
        www          IN A   192.0.2.80
        www          IN AAAA 2001:db8::80
        alias        IN CNAME www
        chain1       IN CNAME chain2
        chain2       IN CNAME www
        out          IN CNAME www.elsewhere.net.
        *.wild       IN TXT "wild"
        *.wild       IN A   192.0.2.99
        a.b.c.ent    IN A   192.0.2.7
        *.ent        IN A   192.0.2.8
        child        IN NS  ns1.child
        child        IN NS  ns.other.org.
        child        IN DS  12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE77C4F8A9B0B0F2F9A3B5C1D2
        ns1.child    IN A   192.0.2.53
        red          IN DNAME example.net.
        big          IN TXT "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
        big          IN TXT "1123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
        big          IN TXT "2123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
        big          IN TXT "3123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
        big          IN TXT "4123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
        big          IN TXT "5123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
        """;

    private const string ExampleNet = """
        $ORIGIN example.net.
        $TTL 600
        @            IN SOA ns1.example.com. hostmaster.example.com. 7 7200 3600 1209600 60
        @            IN NS  ns1.example.com.
        x            IN A   198.51.100.10
        """;

    private readonly StoreFixture _store = StoreFixture.With(Example, ExampleNet);

    public void Dispose() => _store.Dispose();

    [Fact]
    public void An_existing_name_is_answered_authoritatively_with_one_store_read()
    {
        var reply = _store.Ask("www.example.com.", RRType.A, out int reads);
        Assert.Equal(Rcode.NoError, reply.Rcode);
        Assert.True(reply.Has(HeaderFlags.AA));
        Assert.Equal("192.0.2.80", Assert.Single(reply.Answers).Data.ToString());
        Assert.Equal(1, reads);
    }

    [Fact]
    public void Names_are_matched_without_regard_to_case_and_the_question_keeps_the_clients_case()
    {
        var reply = _store.Ask("WwW.ExAmple.COM.", RRType.AAAA, out int reads);
        Assert.Equal("WwW.ExAmple.COM.", reply.Questions[0].Name.ToString());
        Assert.Equal("2001:db8::80", Assert.Single(reply.Answers).Data.ToString());
        Assert.Equal(1, reads);
    }

    [Fact]
    public void A_missing_name_is_NXDOMAIN_with_the_SOA_at_its_negative_TTL_in_one_read()
    {
        var reply = _store.Ask("nothere.example.com.", RRType.A, out int reads);
        Assert.Equal(Rcode.NXDomain, reply.Rcode);
        Assert.True(reply.Has(HeaderFlags.AA));
        Assert.Empty(reply.Answers);
        var soa = Assert.Single(reply.Authority);
        Assert.Equal(RRType.SOA, soa.Type);
        Assert.Equal(300u, soa.Ttl);
        Assert.True(reads <= 2, $"{reads} reads");
    }

    [Fact]
    public void A_name_without_the_asked_type_is_NODATA_with_the_SOA()
    {
        var reply = _store.Ask("www.example.com.", RRType.MX, out int reads);
        Assert.Equal(Rcode.NoError, reply.Rcode);
        Assert.Empty(reply.Answers);
        Assert.Equal(RRType.SOA, Assert.Single(reply.Authority).Type);
        Assert.Equal(1, reads);
    }

    [Fact]
    public void A_wildcard_synthesizes_the_answer_owned_by_the_query_name_in_two_reads()
    {
        var reply = _store.Ask("anything.wild.example.com.", RRType.TXT, out int reads);
        Assert.Equal(Rcode.NoError, reply.Rcode);
        var txt = Assert.Single(reply.Answers);
        Assert.Equal("anything.wild.example.com.", txt.Name.ToString());
        Assert.Equal(2, reads);
        var deeper = _store.Ask("a.b.wild.example.com.", RRType.A, out reads);
        Assert.Equal("192.0.2.99", Assert.Single(deeper.Answers).Data.ToString());
        Assert.True(reads <= 2);
    }

    [Fact]
    public void An_empty_non_terminal_is_NODATA_and_blocks_the_wildcard_above_it()
    {
        // b.c.ent exists only because a.b.c.ent does (RFC 4592 §2.2.2): NODATA, not the *.ent data.
        var ent = _store.Ask("c.ent.example.com.", RRType.A);
        Assert.Equal(Rcode.NoError, ent.Rcode);
        Assert.Empty(ent.Answers);
        // Below the empty non-terminal c.ent, the closest encloser is c.ent, which has no wildcard child.
        var below = _store.Ask("x.c.ent.example.com.", RRType.A, out int reads);
        Assert.Equal(Rcode.NXDomain, below.Rcode);
        Assert.True(reads <= 2);
        // Beside it, *.ent applies.
        Assert.Equal("192.0.2.8", Assert.Single(_store.Ask("y.ent.example.com.", RRType.A).Answers).Data.ToString());
    }

    [Fact]
    public void A_CNAME_chain_inside_the_zone_is_followed_to_the_data()
    {
        var reply = _store.Ask("chain1.example.com.", RRType.A);
        Assert.Equal(3, reply.Answers.Count);
        Assert.Equal(RRType.CNAME, reply.Answers[0].Type);
        Assert.Equal(RRType.CNAME, reply.Answers[1].Type);
        Assert.Equal("192.0.2.80", reply.Answers[2].Data.ToString());
        Assert.True(reply.Has(HeaderFlags.AA));
    }

    [Fact]
    public void A_CNAME_out_of_our_zones_ends_the_answer_at_the_CNAME()
    {
        var reply = _store.Ask("out.example.com.", RRType.A);
        Assert.Equal(Rcode.NoError, reply.Rcode);
        Assert.Equal(RRType.CNAME, Assert.Single(reply.Answers).Type);
    }

    [Fact]
    public void A_DNAME_redirects_names_below_it_with_a_synthesized_CNAME_into_another_served_zone()
    {
        var reply = _store.Ask("x.red.example.com.", RRType.A);
        Assert.Equal(Rcode.NoError, reply.Rcode);
        Assert.Equal(RRType.DNAME, reply.Answers[0].Type);
        Assert.Equal(RRType.CNAME, reply.Answers[1].Type);
        Assert.Equal("x.example.net.", reply.Answers[1].Data.ToString());
        Assert.Equal("198.51.100.10", reply.Answers[2].Data.ToString());
    }

    [Fact]
    public void A_name_below_a_delegation_gets_a_referral_with_parent_side_NS_and_glue_and_no_AA()
    {
        var reply = _store.Ask("www.child.example.com.", RRType.A, out int reads);
        Assert.Equal(Rcode.NoError, reply.Rcode);
        Assert.False(reply.Has(HeaderFlags.AA));
        Assert.Empty(reply.Answers);
        Assert.Equal(2, reply.Authority.Count(r => r.Type == RRType.NS));
        Assert.DoesNotContain(reply.Authority, r => r.Type == RRType.DS);
        var glue = Assert.Single(reply.Additional, r => r.Type == RRType.A);
        Assert.Equal("ns1.child.example.com.", glue.Name.ToString());
        Assert.True(reads <= 3);
    }

    [Fact]
    public void Glue_itself_is_not_answered_authoritatively()
    {
        var reply = _store.Ask("ns1.child.example.com.", RRType.A);
        Assert.False(reply.Has(HeaderFlags.AA));
        Assert.Empty(reply.Answers);
        Assert.Contains(reply.Authority, r => r.Type == RRType.NS);
    }

    [Fact]
    public void DS_at_a_cut_is_answered_from_the_parent_side_and_added_to_referrals_for_DNSSEC_clients()
    {
        var ds = _store.Ask("child.example.com.", RRType.DS);
        Assert.True(ds.Has(HeaderFlags.AA));
        Assert.Equal(RRType.DS, Assert.Single(ds.Answers).Type);
        var referral = _store.Ask("www.child.example.com.", RRType.A, out _, dnssecOk: true);
        Assert.Contains(referral.Authority, r => r.Type == RRType.DS);
    }

    [Fact]
    public void DS_at_the_apex_of_a_served_child_zone_is_answered_by_its_parent_zone()
    {
        using var store = StoreFixture.With(Example, """
            $ORIGIN child.example.com.
            @   3600 IN SOA ns1 h 1 2 3 4 5
            @   3600 IN NS  ns1
            ns1 3600 IN A   192.0.2.53
            """);
        var ds = store.Ask("child.example.com.", RRType.DS);
        Assert.Equal(RRType.DS, Assert.Single(ds.Answers).Type);
        var soa = store.Ask("child.example.com.", RRType.SOA);
        Assert.Equal("child.example.com.", Assert.Single(soa.Answers).Name.ToString());
    }

    [Fact]
    public void A_question_for_CNAME_below_a_DNAME_is_answered_by_the_synthesized_CNAME_without_following_it()
    {
        var reply = _store.Ask("nothere.red.example.com.", RRType.CNAME);
        Assert.Equal(Rcode.NoError, reply.Rcode);
        Assert.Equal([RRType.DNAME, RRType.CNAME], reply.Answers.Select(a => a.Type));
        Assert.Empty(reply.Authority);
    }

    [Fact]
    public void NSEC3_is_never_answered_as_data_an_existing_name_is_NODATA_and_a_missing_one_NXDOMAIN()
    {
        var alias = _store.Ask("alias.example.com.", RRType.NSEC3);
        Assert.Equal(Rcode.NoError, alias.Rcode);
        Assert.Empty(alias.Answers);
        Assert.Equal(RRType.SOA, Assert.Single(alias.Authority).Type);
        Assert.Equal(Rcode.NoError, _store.Ask("x.wild.example.com.", RRType.NSEC3).Rcode);
        Assert.Equal(Rcode.NXDomain, _store.Ask("nothere.example.com.", RRType.NSEC3).Rcode);
    }

    [Fact]
    public void The_zones_own_NS_RRset_comes_with_the_addresses_of_its_in_zone_name_servers()
    {
        var reply = _store.Ask("example.com.", RRType.NS);
        Assert.Equal(RRType.NS, Assert.Single(reply.Answers).Type);
        Assert.Equal("ns1.example.com.", Assert.Single(reply.Additional).Name.ToString());
    }

    [Fact]
    public void A_name_outside_every_zone_is_refused_without_AA()
    {
        var reply = _store.Ask("www.example.org.", RRType.A, out int reads);
        Assert.Equal(Rcode.Refused, reply.Rcode);
        Assert.False(reply.Has(HeaderFlags.AA));
        Assert.Equal(0, reads);
    }

    [Fact]
    public void ANY_is_answered_with_one_RRset_as_RFC_8482_allows()
    {
        var reply = _store.Ask("www.example.com.", RRType.ANY);
        Assert.Equal(Rcode.NoError, reply.Rcode);
        Assert.Single(reply.Answers.Select(a => a.Type).Distinct());
    }

    [Fact]
    public void An_answer_larger_than_the_clients_payload_size_is_truncated_to_whole_RRsets_with_TC()
    {
        var small = _store.Ask("big.example.com.", RRType.TXT, out _, payload: 512);
        Assert.True(small.Has(HeaderFlags.TC));
        Assert.Empty(small.Answers);
        var large = _store.Ask("big.example.com.", RRType.TXT, out _, payload: 4096);
        Assert.False(large.Has(HeaderFlags.TC));
        Assert.Equal(6, large.Answers.Count);
    }

    [Fact]
    public void The_reply_advertises_our_payload_size_and_echoes_DO()
    {
        var reply = _store.Ask("www.example.com.", RRType.A, out _, dnssecOk: true);
        Assert.NotNull(reply.Edns);
        Assert.Equal(1232, reply.Edns!.UdpPayloadSize);
        Assert.True(reply.Edns.DnssecOk);
        Assert.Null(_store.Ask("www.example.com.", RRType.A, out _, edns: false).Edns);
    }

    [Fact]
    public void An_EDNS_version_other_than_0_gets_BADVERS()
    {
        var query = DnsMessage.CreateQuery(9, DnsName.Parse("www.example.com."), RRType.A);
        query.Edns!.Version = 1;
        var reply = new byte[512];
        int n = _store.Answerer.Answer(query.ToArray(), reply, 512, out _);
        Assert.Equal(Rcode.BadVers, DnsMessage.Parse(reply.AsSpan(0, n)).Rcode);
    }

    [Fact]
    public void Chaos_identity_and_version_are_refused_unless_configured()
    {
        Assert.Equal(Rcode.Refused, _store.Ask("version.bind.", RRType.TXT, out _, qclass: RRClass.CH).Rcode);
        Assert.Equal(Rcode.Refused, _store.Ask("id.server.", RRType.TXT, out _, qclass: RRClass.CH).Rcode);
        using var configured = StoreFixture.With(new AuthoritativeOptions { Version = "ananas", Identity = "edge-1" }, Example);
        var version = configured.Ask("version.bind.", RRType.TXT, out _, qclass: RRClass.CH);
        Assert.Equal("\"ananas\"", Assert.Single(version.Answers).Data.ToString());
    }

    [Fact]
    public void A_malformed_query_gets_FORMERR()
    {
        var query = DnsMessage.CreateQuery(77, DnsName.Parse("www.example.com."), RRType.A).ToArray();
        var broken = query.AsSpan(0, query.Length - 3).ToArray(); // the OPT record cut short
        var reply = new byte[512];
        int n = _store.Answerer.Answer(broken, reply, 512, out _);
        var header = DnsHeader.Read(reply.AsSpan(0, n));
        Assert.Equal(77, header.Id);
        Assert.Equal((byte)Rcode.FormErr, header.RcodeLow);
    }
}

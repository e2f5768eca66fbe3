using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Zones;
using Ananas.Scenarios.Messages;
using Ananas.Scenarios.Model;
using Ananas.Scenarios.Parsing;

namespace Ananas.Scenarios.Tests;

public sealed class MessageComparerTests
{
    /// <summary>Builds the template of a CHECK_ANSWER entry written in the body text.</summary>
    private static MessageTemplate Expect(string entryBody, ScenarioDialect dialect = ScenarioDialect.Deckard)
    {
        var text = $"stub-addr: 1.2.3.4\nCONFIG_END\nSCENARIO_BEGIN t\nSTEP 1 CHECK_ANSWER\nENTRY_BEGIN\n{entryBody}\nENTRY_END\nSCENARIO_END\n";
        var s = ScenarioParser.Parse(text, "t.rpl", dialect);
        return EntryMessageBuilder.Build(s.Steps[0].Entry!, dialect);
    }

    private static DnsMessage Answer(HeaderFlags flags, params string[] answers)
    {
        var m = new DnsMessage { Flags = flags };
        m.Questions.Add(new Question(DnsName.Parse("example.com."), RRType.A));
        foreach (var a in answers) m.Answers.Add(RecordText.Parse(a, DnsName.Root));
        return m;
    }

    [Fact]
    public void TtlOwnerCaseAndOrderAreIgnored()
    {
        var t = Expect("MATCH all\nREPLY QR RD RA\nSECTION QUESTION\nexample.com. IN A\nSECTION ANSWER\nexample.com. IN A 192.0.2.1\nexample.com. 5 IN A 192.0.2.2");
        var got = Answer(HeaderFlags.QR | HeaderFlags.RD | HeaderFlags.RA, "EXAMPLE.com. 99 IN A 192.0.2.2", "Example.COM. 1 IN A 192.0.2.1");
        Assert.Empty(MessageComparer.Compare(t, got, ScenarioDialect.Deckard));
    }

    [Fact]
    public void SectionsAreMultisets()
    {
        var t = Expect("MATCH answer\nSECTION ANSWER\nexample.com. IN A 192.0.2.1\nexample.com. IN A 192.0.2.1");
        var once = Answer(HeaderFlags.QR, "example.com. IN A 192.0.2.1");
        var twice = Answer(HeaderFlags.QR, "example.com. IN A 192.0.2.1", "example.com. IN A 192.0.2.1");
        var m = Assert.Single(MessageComparer.Compare(t, once, ScenarioDialect.Deckard));
        Assert.Equal("answer", m.Element);
        Assert.Contains("192.0.2.1", m.Expected);
        Assert.Empty(MessageComparer.Compare(t, twice, ScenarioDialect.Deckard));
    }

    [Fact]
    public void ExtraRecordsAreReported()
    {
        var t = Expect("MATCH answer\nSECTION ANSWER\nexample.com. IN A 192.0.2.1");
        var got = Answer(HeaderFlags.QR, "example.com. IN A 192.0.2.1", "example.com. IN A 192.0.2.9");
        var m = Assert.Single(MessageComparer.Compare(t, got, ScenarioDialect.Deckard));
        Assert.Contains("192.0.2.9", m.Actual);
    }

    [Fact]
    public void FlagsCompareExactlyButNotDo()
    {
        var t = Expect("MATCH flags\nREPLY QR RD RA AD DO");
        var same = Answer(HeaderFlags.QR | HeaderFlags.RD | HeaderFlags.RA | HeaderFlags.AD);
        Assert.Empty(MessageComparer.Compare(t, same, ScenarioDialect.Deckard));
        var noAd = Answer(HeaderFlags.QR | HeaderFlags.RD | HeaderFlags.RA);
        var m = Assert.Single(MessageComparer.Compare(t, noAd, ScenarioDialect.Deckard));
        Assert.Equal(("flags", "QR RD RA AD", "QR RD RA"), (m.Element, m.Expected, m.Actual));
        var extraAa = Answer(HeaderFlags.QR | HeaderFlags.AA | HeaderFlags.RD | HeaderFlags.RA | HeaderFlags.AD);
        Assert.Single(MessageComparer.Compare(t, extraAa, ScenarioDialect.Deckard));
    }

    [Fact]
    public void RcodeQnameAndSubdomain()
    {
        var t = Expect("MATCH rcode qname\nREPLY NXDOMAIN\nSECTION QUESTION\nEXAMPLE.COM. IN A");
        var got = Answer(HeaderFlags.QR);
        got.Rcode = Rcode.NXDomain;
        Assert.Empty(MessageComparer.Compare(t, got, ScenarioDialect.Deckard));
        got.Rcode = Rcode.NoError;
        Assert.Equal("rcode", Assert.Single(MessageComparer.Compare(t, got, ScenarioDialect.Deckard)).Element);

        var sub = Expect("MATCH subdomain\nSECTION QUESTION\ncom. IN NS");
        Assert.Empty(MessageComparer.Compare(sub, got, ScenarioDialect.Deckard));
        var other = Expect("MATCH subdomain\nSECTION QUESTION\nnet. IN NS");
        Assert.Single(MessageComparer.Compare(other, got, ScenarioDialect.Deckard));
    }

    [Fact]
    public void QcaseIsCaseSensitive()
    {
        var t = Expect("MATCH qcase\nSECTION QUESTION\nExample.com. IN A");
        Assert.Single(MessageComparer.Compare(t, Answer(HeaderFlags.QR), ScenarioDialect.Deckard));
    }

    [Fact]
    public void UnboundAllIsRelaxedToHeaderRcodeAndAnswer()
    {
        var t = Expect("MATCH all\nREPLY QR RD RA NOERROR\nSECTION QUESTION\nexample.com. IN A\nSECTION ANSWER\nexample.com. IN A 192.0.2.1\nSECTION AUTHORITY\nexample.com. IN NS ns.example.com.", ScenarioDialect.Unbound);
        var got = Answer(HeaderFlags.QR | HeaderFlags.RD | HeaderFlags.RA, "example.com. IN A 192.0.2.1");
        Assert.Empty(MessageComparer.Compare(t, got, ScenarioDialect.Unbound));
        var deckard = Expect("MATCH all\nREPLY QR RD RA NOERROR\nSECTION QUESTION\nexample.com. IN A\nSECTION ANSWER\nexample.com. IN A 192.0.2.1\nSECTION AUTHORITY\nexample.com. IN NS ns.example.com.");
        Assert.Equal("authority", Assert.Single(MessageComparer.Compare(deckard, got, ScenarioDialect.Deckard)).Element);
    }

    [Fact]
    public void EntryWithoutMatchNeverMatches()
    {
        var t = Expect("REPLY QR");
        Assert.False(MessageComparer.Matches(t, Answer(HeaderFlags.QR), ScenarioDialect.Deckard));
    }

    [Fact]
    public void DefaultsOfBuiltMessagesFollowTheDialect()
    {
        var deckard = Expect("REPLY RD DO\nSECTION ANSWER\nexample.com. A 192.0.2.1");
        Assert.Equal(4096, deckard.Message.Edns!.UdpPayloadSize);
        Assert.True(deckard.Message.Edns.DnssecOk);
        Assert.Equal(3600u, deckard.Message.Answers[0].Ttl);
        Assert.Equal(RRClass.IN, deckard.Message.Answers[0].Class);
        Assert.Null(Expect("REPLY RD", ScenarioDialect.Unbound).Message.Edns);
        Assert.Equal(1232, Expect("REPLY RD DO", ScenarioDialect.Unbound).Message.Edns!.UdpPayloadSize);
        Assert.NotNull(Expect("REPLY RD").Message.Edns);
    }

    [Fact]
    public void UnparseableRecordIsReportedWithItsLine()
    {
        var e = Assert.Throws<UnsupportedRecordException>(() => Expect("SECTION ANSWER\nexample.com. IN A not-an-address"));
        Assert.Equal(7, e.Line);
    }

    [Fact]
    public void UnboundEdeMatchesTheExtendedErrorCode()
    {
        var t = Expect("MATCH ede=22", ScenarioDialect.Unbound);
        var any = Expect("MATCH ede=any", ScenarioDialect.Unbound);
        var without = Answer(HeaderFlags.QR);
        without.Edns = new Edns();
        var with = Answer(HeaderFlags.QR);
        with.Edns = new Edns();
        with.Edns.Options.Add(new ExtendedErrorOption(EdeCode.NoReachableAuthority, "x"));
        Assert.Empty(MessageComparer.Compare(t, with, ScenarioDialect.Unbound));
        Assert.Empty(MessageComparer.Compare(any, with, ScenarioDialect.Unbound));
        Assert.Equal("ede", Assert.Single(MessageComparer.Compare(t, without, ScenarioDialect.Unbound)).Element);
        Assert.Single(MessageComparer.Compare(any, without, ScenarioDialect.Unbound));
    }

    [Fact]
    public void UnboundOriginAndTtlCarryAcrossEntries()
    {
        // testbound keeps one zone-file parse state per file: $ORIGIN/$TTL outside or inside entries hold until changed.
        const string text = """
            server:
            stub-zone:
            	name: "."
            	stub-addr: 1.2.3.4
            CONFIG_END
            SCENARIO_BEGIN t
            RANGE_BEGIN 0 100
            $ORIGIN example.org.
            $TTL 60
            ENTRY_BEGIN
            MATCH opcode
            SECTION ANSWER
            www IN A 192.0.2.1
            ENTRY_END
            RANGE_END
            STEP 1 CHECK_ANSWER
            ENTRY_BEGIN
            MATCH all
            SECTION ANSWER
            mail IN A 192.0.2.2
            ENTRY_END
            SCENARIO_END
            """;
        var s = ScenarioParser.Parse(text, "t.rpl");
        Assert.Equal(ScenarioDialect.Unbound, s.Dialect);
        Assert.Empty(s.SkipReasons);
        var first = EntryMessageBuilder.Build(s.Ranges[0].Entries[0], ScenarioDialect.Unbound).Message.Answers[0];
        var second = EntryMessageBuilder.Build(s.Steps[0].Entry!, ScenarioDialect.Unbound).Message.Answers[0];
        Assert.Equal(("www.example.org.", 60u), (first.Name.ToString(), first.Ttl));
        Assert.Equal(("mail.example.org.", 60u), (second.Name.ToString(), second.Ttl));
    }
}

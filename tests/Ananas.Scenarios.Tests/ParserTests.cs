using System.Net;
using Ananas.Scenarios.Model;
using Ananas.Scenarios.Parsing;

namespace Ananas.Scenarios.Tests;

public sealed class ParserTests
{
    private const string Deckard = """
        ; comment
        stub-addr: 193.0.14.129 	# K.ROOT-SERVERS.NET.
        trust-anchor: ". IN DS 1 8 2 ABCD"
        trust-anchor: "example. IN DS 2 8 2 ABCD"
        query-minimization: off ; comment
        CONFIG_END

        SCENARIO_BEGIN A title with words
        RANGE_BEGIN 0 100 10.0.0.1
        	ADDRESS 10.0.0.2
        	ADDRESS 2001:db8::1
        ENTRY_BEGIN
        MANDATORY
        MATCH opcode qtype qname
        ADJUST copy_id copy_query
        REPLY QR AA NOERROR
        SECTION QUESTION
        example.com. IN A
        SECTION ANSWER
        example.com. IN A 192.0.2.1 ; trailing comment
        SECTION AUTHORITY
        SECTION ADDITIONAL
        ENTRY_END
        RANGE_END

        STEP 1 QUERY
        ENTRY_BEGIN
        REPLY RD DO
        SECTION QUESTION
        example.com. IN A
        ENTRY_END
        STEP 2 CHECK_ANSWER
        ENTRY_BEGIN
        MATCH all
        REPLY QR RD RA
        SECTION QUESTION
        example.com. IN A
        ENTRY_END
        STEP 3 TIME_PASSES ELAPSE 30
        STEP 4 QUERY
        ENTRY_BEGIN
        RAW
        	0001020304
        ENTRY_END
        SCENARIO_END
        """;

    [Fact]
    public void ParsesDeckardKeywords()
    {
        var s = ScenarioParser.Parse(Deckard, "x.rpl");
        Assert.Equal(ScenarioDialect.Deckard, s.Dialect);
        Assert.Equal("A title with words", s.Title);
        Assert.Empty(s.SkipReasons);
        Assert.Equal(["stub-addr", "trust-anchor", "trust-anchor", "query-minimization"], s.Config.Select(c => c.Key));
        Assert.Equal("193.0.14.129", s.ConfigValue("stub-addr"));
        Assert.Equal("off ; comment", s.ConfigValue("query-minimization")); // deckard keeps ';' in values
        Assert.Equal(2, s.ConfigValues("trust-anchor").Count());
        var range = Assert.Single(s.Ranges);
        Assert.Equal((0, 100), (range.From, range.To));
        Assert.Equal([IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.2"), IPAddress.Parse("2001:db8::1")], range.Addresses);
        var e = Assert.Single(range.Entries);
        Assert.True(e.Mandatory);
        Assert.Equal(["opcode", "qtype", "qname"], e.Match);
        Assert.Equal(["copy_id", "copy_query"], e.Adjust);
        Assert.Equal(["QR", "AA", "NOERROR"], e.Reply);
        Assert.Equal("example.com. IN A", Assert.Single(e.Question).Text);
        var answer = Assert.Single(e.Answer);
        Assert.Equal("example.com. IN A 192.0.2.1", answer.Text);
        Assert.Equal(20, answer.Line);
        Assert.Equal([StepKind.Query, StepKind.CheckAnswer, StepKind.TimePasses, StepKind.Query], s.Steps.Select(x => x.Kind));
        Assert.Equal(30, s.Steps[2].Elapse);
        Assert.Equal(new byte[] { 0, 1, 2, 3, 4 }, s.Steps[3].Entry!.Raw);
    }

    private const string Unbound = """
        server:
        	qname-minimisation: "no"
        	minimal-responses: no
        stub-zone:
        	name: "."
        	stub-addr: 193.0.14.129
        forward-zone: name: "example." forward-addr: 10.0.0.9
        CONFIG_END
        SCENARIO_BEGIN unbound style
        RANGE_BEGIN 0 100
        	ADDRESS 10.0.0.1
        	ADDRESS 10.0.0.2@53
        ENTRY_BEGIN
        MATCH opcode qname ede=3
        ADJUST copy_id sleep=10
        REPLY QR NOTIMPL
        $ORIGIN example.
        SECTION ANSWER
        www IN A 192.0.2.1
        SECTION QUESTION
        www IN A
        HEX_EDNSDATA_BEGIN
        	00 0a 00 00
        HEX_EDNSDATA_END
        ENTRY_END
        RANGE_END
        STEP 1 QUERY ADDRESS 10.1.1.1
        ENTRY_BEGIN
        REPLY RD
        SECTION QUESTION
        www.example. IN A
        ENTRY_END
        STEP 2 TIME_PASSES ELAPSE 1.5
        STEP 3 ASSIGN x = 1
        STEP 4 CHECK_AUTOTRUST example.
        FILE_BEGIN
        ignored
        FILE_END
        SCENARIO_END
        """;

    [Fact]
    public void ParsesUnboundDialect()
    {
        var s = ScenarioParser.Parse(Unbound, "y.rpl");
        Assert.Equal(ScenarioDialect.Unbound, s.Dialect);
        Assert.Equal(["server", "stub-zone", "forward-zone"], s.Clauses.Select(c => c.Name));
        Assert.Equal("no", s.Clauses[0].Value("qname-minimisation"));
        Assert.Equal("example.", s.Clauses[2].Value("name"));
        Assert.Equal("10.0.0.9", s.Clauses[2].Value("forward-addr"));
        var range = Assert.Single(s.Ranges);
        Assert.Equal([IPAddress.Parse("10.0.0.2")], range.Addresses); // a later ADDRESS overwrites
        var e = range.Entries[0];
        Assert.Equal("www IN A 192.0.2.1", e.Answer[0].Text);
        Assert.Equal("example.", e.Answer[0].Origin.ToString());
        Assert.Equal(new byte[] { 0, 10, 0, 0 }, e.EdnsData);
        Assert.Equal(IPAddress.Parse("10.1.1.1"), s.Steps[0].Address);
        Assert.Equal(1.5, s.Steps[1].Elapse);
        Assert.Equal(StepKind.Assign, s.Steps[2].Kind);
        Assert.Equal(StepKind.CheckAutotrust, s.Steps[3].Kind);
        Assert.DoesNotContain(s.SkipReasons, r => r.Reason.Contains("ede=3")); // ede=N is implemented
        Assert.DoesNotContain(s.SkipReasons, r => r.Reason.Contains("sleep"));
    }

    [Fact]
    public void DialectCanBeForced()
    {
        var s = ScenarioParser.Parse(Deckard, "x.rpl", ScenarioDialect.Unbound);
        Assert.Equal(ScenarioDialect.Unbound, s.Dialect);
    }

    [Fact]
    public void DialectDetectedFromFolderName()
    {
        var s = ScenarioParser.Parse("stub-addr: 1.2.3.4\nCONFIG_END\nSCENARIO_BEGIN t\nSCENARIO_END\n", Path.Combine("corpus", "unbound", "a.rpl"));
        Assert.Equal(ScenarioDialect.Unbound, s.Dialect);
    }

    [Theory]
    [InlineData("FOO bar", "unknown keyword 'FOO'")]
    [InlineData("STEP 5 FROB", "unknown step type 'FROB'")]
    [InlineData("ENTRY_BEGIN\nMATCH opcode answertypes\nENTRY_END", "unsupported MATCH element 'answertypes'")]
    [InlineData("ENTRY_BEGIN\nADJUST copy_id sleep=5\nENTRY_END", "unsupported ADJUST element 'sleep=5'")]
    [InlineData("ENTRY_BEGIN\nREPLY QR WEIRD\nENTRY_END", "unsupported REPLY token 'WEIRD'")]
    public void UnsupportedContentBecomesSkipReasonWithLine(string body, string reason)
    {
        var text = "stub-addr: 1.2.3.4\nCONFIG_END\nSCENARIO_BEGIN t\nRANGE_BEGIN 0 10 1.2.3.4\n" + body + "\nRANGE_END\nSCENARIO_END\n";
        if (body.StartsWith("STEP", StringComparison.Ordinal) || body.StartsWith("FOO", StringComparison.Ordinal))
            text = "stub-addr: 1.2.3.4\nCONFIG_END\nSCENARIO_BEGIN t\n" + body + "\nSCENARIO_END\n";
        var s = ScenarioParser.Parse(text, "x.rpl");
        var r = Assert.Single(s.SkipReasons);
        Assert.Equal(reason, r.Reason);
        Assert.True(r.Line >= 4);
    }

    [Theory]
    [InlineData("RANGE_BEGIN 0 10\nENTRY_BEGIN\nMATCH opcode\nRANGE_END\nSCENARIO_END", 7, "inside the ENTRY opened at line 5")]
    [InlineData("RANGE_END\nSCENARIO_END", 4, "RANGE_END without RANGE_BEGIN")]
    [InlineData("ENTRY_BEGIN\nENTRY_END\nSCENARIO_END", 4, "ENTRY outside a RANGE")]
    [InlineData("STEP x QUERY\nSCENARIO_END", 4, "STEP needs an id")]
    [InlineData("RANGE_BEGIN 0 10\nADDRESS not-an-ip\nRANGE_END\nSCENARIO_END", 5, "bad IP address")]
    [InlineData("RANGE_BEGIN 0 10\nSCENARIO_END", 5, "SCENARIO_END inside the RANGE opened at line 4")]
    [InlineData("STEP 1 QUERY\nSCENARIO_END", 4, "has no ENTRY")]
    [InlineData("STEP 1 TIME_PASSES\nSCENARIO_END", 4, "TIME_PASSES needs ELAPSE")]
    [InlineData("RANGE_BEGIN 0 10\nENTRY_BEGIN\nexample. IN A\nENTRY_END\nRANGE_END\nSCENARIO_END", 6, "record line outside a SECTION")]
    public void MalformedFilesGiveFileAndLine(string body, int line, string message)
    {
        var text = "stub-addr: 1.2.3.4\nCONFIG_END\nSCENARIO_BEGIN t\n" + body + "\n";
        var e = Assert.Throws<ScenarioParseException>(() => ScenarioParser.Parse(text, "bad.rpl"));
        Assert.Equal(line, e.Line);
        Assert.Contains(message, e.Message);
        Assert.StartsWith($"bad.rpl:{line}: ", e.Message);
    }

    [Fact]
    public void MissingScenarioBeginIsAnError()
    {
        var e = Assert.Throws<ScenarioParseException>(() => ScenarioParser.Parse("stub-addr: 1.2.3.4\nCONFIG_END\n", "bad.rpl"));
        Assert.Contains("no SCENARIO_BEGIN", e.Message);
    }
}

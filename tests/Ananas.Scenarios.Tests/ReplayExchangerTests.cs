using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Scenarios.Messages;
using Ananas.Scenarios.Model;
using Ananas.Scenarios.Parsing;
using Ananas.Scenarios.Replay;

namespace Ananas.Scenarios.Tests;

public sealed class ReplayExchangerTests
{
    private const string Script = """
        stub-addr: 10.0.0.1
        CONFIG_END
        SCENARIO_BEGIN replay
        ; first range: steps 0-10, two addresses
        RANGE_BEGIN 0 10
        	ADDRESS 10.0.0.1
        	ADDRESS 10.0.0.2
        ENTRY_BEGIN
        MATCH opcode qtype qname
        ADJUST copy_id
        REPLY QR AA
        SECTION QUESTION
        a.example. IN A
        SECTION ANSWER
        a.example. IN A 192.0.2.1
        ENTRY_END
        ENTRY_BEGIN
        MATCH opcode subdomain
        ADJUST copy_id copy_query
        REPLY QR AA NXDOMAIN
        SECTION QUESTION
        example. IN A
        ENTRY_END
        ENTRY_BEGIN
        MATCH opcode qtype qname
        ADJUST copy_id
        REPLY QR AA
        SECTION QUESTION
        a.example. IN A
        SECTION ANSWER
        a.example. IN A 192.0.2.99
        ENTRY_END
        ENTRY_BEGIN
        MATCH qname
        ADJUST do_not_answer
        SECTION QUESTION
        drop.test. IN A
        ENTRY_END
        ENTRY_BEGIN
        MATCH qname
        REPLY QR
        SECTION QUESTION
        noid.test. IN A
        ENTRY_END
        RANGE_END
        ; second range: later steps, same address
        RANGE_BEGIN 11 100
        	ADDRESS 10.0.0.1
        ENTRY_BEGIN
        MATCH opcode qtype qname
        ADJUST copy_id
        REPLY QR AA
        SECTION QUESTION
        a.example. IN A
        SECTION ANSWER
        a.example. IN A 192.0.2.2
        ENTRY_END
        RANGE_END
        ; a range whose window never covers the steps used: lets 10.0.0.3 be a known address
        RANGE_BEGIN 500 600
        	ADDRESS 10.0.0.3
        RANGE_END
        STEP 20 REPLY
        ENTRY_BEGIN
        MATCH qname
        ADJUST copy_id
        REPLY QR TC
        SECTION QUESTION
        tc.example. IN A
        ENTRY_END
        STEP 30 QUERY
        ENTRY_BEGIN
        SECTION QUESTION
        x. IN A
        ENTRY_END
        SCENARIO_END
        """;

    private static (ReplayExchanger, Scenario) Create(string text = Script, ScenarioDialect? dialect = null)
    {
        var s = ScenarioParser.Parse(text, "replay.rpl", dialect);
        return (new ReplayExchanger(s, ScenarioTemplates.Build(s)), s);
    }

    private static async Task<ExchangeResult> Ask(ReplayExchanger x, string name, string server = "10.0.0.1", RRType type = RRType.A, UpstreamTransport transport = UpstreamTransport.Udp)
    {
        var q = DnsMessage.CreateQuery(0, DnsName.Parse(name), type, recursionDesired: false);
        return await x.ExchangeAsync(new ExchangeRequest(q, new IPEndPoint(IPAddress.Parse(server), 53), transport, DnsName.Root), CancellationToken.None);
    }

    private static string FirstAnswer(ExchangeResult r) => r.Response!.Answers[0].Data.ToString();

    [Fact]
    public async Task FirstMatchingEntryOfTheFirstEligibleRangeAnswers()
    {
        var (x, _) = Create();
        x.CurrentStep = 5;
        var r = await Ask(x, "a.example.");
        Assert.Equal(ExchangeStatus.Response, r.Status);
        Assert.Equal("192.0.2.1", FirstAnswer(r)); // not the later duplicate entry
        Assert.True(r.Response!.Has(HeaderFlags.AA));
        Assert.Equal(ExchangeOutcome.Answered, Assert.Single(x.Exchanges).Outcome);
    }

    [Fact]
    public async Task RangeWindowsAndAddressesSelect()
    {
        var (x, _) = Create();
        x.CurrentStep = 15;
        Assert.Equal("192.0.2.2", FirstAnswer(await Ask(x, "a.example.")));
        x.CurrentStep = 10;
        Assert.Equal("192.0.2.1", FirstAnswer(await Ask(x, "a.example.", "10.0.0.2")));
    }

    [Fact]
    public async Task CopyIdAndCopyQueryAndCaseCopy()
    {
        var (x, _) = Create();
        x.CurrentStep = 1;
        var r = await Ask(x, "deep.Sub.Example.", type: RRType.MX);
        Assert.Equal(Rcode.NXDomain, r.Response!.Rcode);
        var sent = Assert.Single(x.Exchanges).Query;
        Assert.Equal(sent.Id, r.Response.Id);
        Assert.Equal(new Question(DnsName.Parse("deep.sub.example."), RRType.MX), r.Response.Question);
        Assert.True(r.Response.Question.Name.EqualsExactCase(DnsName.Parse("deep.Sub.Example.")));

        var a = await Ask(x, "A.eXample.");
        Assert.True(a.Response!.Question.Name.EqualsExactCase(DnsName.Parse("A.eXample."))); // copy_id copies the qname case
    }

    [Fact]
    public async Task EdnsIsMirroredFromTheQuery()
    {
        var (x, _) = Create();
        x.CurrentStep = 1;
        var q = DnsMessage.CreateQuery(0, DnsName.Parse("a.example."), RRType.A, dnssecOk: true);
        var r = await x.ExchangeAsync(new ExchangeRequest(q, new IPEndPoint(IPAddress.Parse("10.0.0.1"), 53), UpstreamTransport.Udp, DnsName.Root), default);
        Assert.True(r.Response!.Edns!.DnssecOk);
        q.Edns = null;
        r = await x.ExchangeAsync(new ExchangeRequest(q, new IPEndPoint(IPAddress.Parse("10.0.0.1"), 53), UpstreamTransport.Udp, DnsName.Root), default);
        Assert.Null(r.Response!.Edns);
    }

    [Fact]
    public async Task DoNotAnswerAndMissingCopyIdTimeOut()
    {
        var (x, _) = Create();
        x.CurrentStep = 1;
        Assert.Equal(ExchangeStatus.Timeout, (await Ask(x, "drop.test.")).Status);
        Assert.Equal(ExchangeStatus.Timeout, (await Ask(x, "noid.test.")).Status);
        Assert.All(x.Exchanges, e => Assert.Equal(ExchangeOutcome.Dropped, e.Outcome));
        Assert.Empty(x.UndefinedAnswers);
    }

    [Fact]
    public async Task UnmatchedQueryGetsServfailAndIsCounted()
    {
        var (x, _) = Create();
        x.CurrentStep = 15; // the second range has only a.example.
        var r = await Ask(x, "b.example.");
        Assert.Equal(ExchangeStatus.Response, r.Status);
        Assert.Equal(Rcode.ServFail, r.Response!.Rcode);
        var u = Assert.Single(x.UndefinedAnswers);
        Assert.Equal(15, u.Step);
    }

    [Fact]
    public async Task KnownAddressOutsideItsWindowIsUndefined()
    {
        var (x, _) = Create();
        x.CurrentStep = 5;
        Assert.Equal(Rcode.ServFail, (await Ask(x, "a.example.", "10.0.0.3")).Response!.Rcode);
        Assert.Single(x.UndefinedAnswers);
    }

    [Fact]
    public async Task UnknownAddressTimesOut()
    {
        var (x, _) = Create();
        x.CurrentStep = 5;
        Assert.Equal(ExchangeStatus.Timeout, (await Ask(x, "a.example.", "198.51.100.1")).Status);
        Assert.Equal(ExchangeOutcome.UnknownAddress, Assert.Single(x.Exchanges).Outcome);
        Assert.Empty(x.UndefinedAnswers);
    }

    [Fact]
    public async Task ReplyStepsAreOneShot()
    {
        var (x, _) = Create();
        x.CurrentStep = 200; // no range covers step 200 for this address ... but the REPLY step has id 20 < 200
        Assert.Equal(ExchangeOutcome.Unmatched, await OutcomeOf(x, "tc.example."));
        x.CurrentStep = 15;
        // A range is eligible at step 15 for 10.0.0.1, so ask 10.0.0.2 (only in the 0-10 range): REPLY steps are next.
        var first = await Ask(x, "tc.example.", "10.0.0.2");
        Assert.True(first.Response!.Has(HeaderFlags.TC));
        var second = await Ask(x, "tc.example.", "10.0.0.2");
        Assert.Equal(Rcode.ServFail, second.Response!.Rcode);
    }

    private static async Task<ExchangeOutcome> OutcomeOf(ReplayExchanger x, string name)
    {
        await Ask(x, name);
        return x.Exchanges[^1].Outcome;
    }

    [Fact]
    public async Task RawRepliesAreParsedOrMalformed()
    {
        const string text = """
            stub-addr: 10.0.0.1
            CONFIG_END
            SCENARIO_BEGIN raw
            RANGE_BEGIN 0 100
            	ADDRESS 10.0.0.1
            ENTRY_BEGIN
            MATCH qname
            ADJUST raw_id
            SECTION QUESTION
            good.test. IN A
            RAW
            	0000 8180 0000 0000 0000 0000
            ENTRY_END
            ENTRY_BEGIN
            MATCH qname
            SECTION QUESTION
            bad.test. IN A
            RAW
            	00
            ENTRY_END
            RANGE_END
            SCENARIO_END
            """;
        var (x, _) = Create(text);
        var good = await Ask(x, "good.test.");
        Assert.Equal(ExchangeStatus.Response, good.Status);
        Assert.Equal(x.Exchanges[0].Query.Id, good.Response!.Id);
        Assert.Equal(ExchangeStatus.MalformedResponse, (await Ask(x, "bad.test.")).Status);
    }

    [Fact]
    public async Task UnboundRangesFallThroughInReverseOrderAndUnmatchedTimesOut()
    {
        const string text = """
            server:
            stub-zone:
            	name: "."
            	stub-addr: 10.0.0.1
            CONFIG_END
            SCENARIO_BEGIN unbound replay
            RANGE_BEGIN 0 100
            	ADDRESS 10.0.0.1
            ENTRY_BEGIN
            MATCH opcode qtype qname
            ADJUST copy_id
            REPLY QR
            SECTION QUESTION
            a.example. IN A
            SECTION ANSWER
            a.example. IN A 192.0.2.1
            ENTRY_END
            ENTRY_BEGIN
            MATCH opcode qtype qname
            ADJUST copy_id
            REPLY QR
            SECTION QUESTION
            b.example. IN A
            SECTION ANSWER
            b.example. IN A 192.0.2.1
            ENTRY_END
            RANGE_END
            RANGE_BEGIN 0 100
            	ADDRESS 10.0.0.1
            ENTRY_BEGIN
            MATCH opcode qtype qname TCP
            ADJUST copy_id
            REPLY QR
            SECTION QUESTION
            a.example. IN A
            SECTION ANSWER
            a.example. IN A 192.0.2.2
            ENTRY_END
            RANGE_END
            SCENARIO_END
            """;
        var (x, s) = Create(text);
        Assert.Equal(ScenarioDialect.Unbound, s.Dialect);
        x.CurrentStep = 1;
        Assert.Equal("192.0.2.2", FirstAnswer(await Ask(x, "a.example.", transport: UpstreamTransport.Tcp))); // last range first
        Assert.Equal("192.0.2.1", FirstAnswer(await Ask(x, "a.example.")));                                    // UDP falls through
        Assert.Equal("192.0.2.1", FirstAnswer(await Ask(x, "b.example.", transport: UpstreamTransport.Tcp)));  // falls through
        Assert.Equal(ExchangeStatus.Timeout, (await Ask(x, "c.example.")).Status);
        Assert.Equal(ExchangeOutcome.Unmatched, x.Exchanges[^1].Outcome);
        Assert.Empty(x.UndefinedAnswers);
    }

    [Fact]
    public async Task UnboundRepliesWithoutCopyIdReachTheQueryButDeckardOnesAreDropped()
    {
        // Testbound hands a reply to the pending query without checking its ID; deckard's resolver sees a foreign ID.
        const string unbound = """
            server:
            stub-zone:
            	name: "."
            	stub-addr: 10.0.0.1
            CONFIG_END
            SCENARIO_BEGIN no copy_id
            RANGE_BEGIN 0 100
            	ADDRESS 10.0.0.1
            ENTRY_BEGIN
            MATCH opcode qtype qname
            REPLY QR
            SECTION QUESTION
            a.example. IN A
            SECTION ANSWER
            a.example. IN A 192.0.2.1
            ENTRY_END
            RANGE_END
            SCENARIO_END
            """;
        var (x, _) = Create(unbound);
        x.CurrentStep = 1;
        Assert.Equal("192.0.2.1", FirstAnswer(await Ask(x, "a.example.")));

        var deckard = "stub-addr: 10.0.0.1\n" + unbound[unbound.IndexOf("CONFIG_END", StringComparison.Ordinal)..];
        var (y, _) = Create(deckard);
        y.CurrentStep = 1;
        Assert.Equal(ExchangeStatus.Timeout, (await Ask(y, "a.example.")).Status);
        Assert.Equal(ExchangeOutcome.Dropped, y.Exchanges[^1].Outcome);
    }
}

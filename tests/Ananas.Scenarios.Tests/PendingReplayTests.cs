using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Scenarios.Parsing;
using Ananas.Scenarios.Running;

namespace Ananas.Scenarios.Tests;

/// <summary>Testbound's pending-query replay (FORMAT.md §2.2): unmatched upstream queries wait for REPLY/TIMEOUT/ERROR/CHECK_OUT_QUERY.</summary>
public sealed class PendingReplayTests
{
    private const string Header = """
        server:
        	qname-minimisation: no
        stub-zone:
        	name: "."
        	stub-addr: 10.0.0.1
        CONFIG_END
        SCENARIO_BEGIN pending
        STEP 10 QUERY
        ENTRY_BEGIN
        REPLY RD
        SECTION QUESTION
        www.example.com. IN A
        ENTRY_END

        """;

    private const string Reply = """
        ENTRY_BEGIN
        MATCH opcode qtype qname
        ADJUST copy_id
        REPLY QR AA NOERROR
        SECTION QUESTION
        www.example.com. IN A
        SECTION ANSWER
        www.example.com. IN A 192.0.2.7
        ENTRY_END

        """;

    private const string CheckAnswer = """
        STEP 90 CHECK_ANSWER
        ENTRY_BEGIN
        MATCH all
        REPLY QR RD RA AA NOERROR
        SECTION QUESTION
        www.example.com. IN A
        SECTION ANSWER
        www.example.com. IN A 192.0.2.7
        ENTRY_END

        """;

    private const string CheckOut = """
        STEP 20 CHECK_OUT_QUERY
        ENTRY_BEGIN
        MATCH qname qtype opcode
        SECTION QUESTION
        www.example.com. IN A
        ENTRY_END

        """;

    private static Task<ScenarioResult> Run(string body, IScenarioResolverFactory? factory = null) =>
        new ScenarioRunner(factory ?? new ForwardingFakeFactory()).RunAsync(ScenarioParser.Parse(Header + body + "SCENARIO_END\n", "iter_pending.rpl"));

    [Fact]
    public async Task ReplyStepAnswersThePendingQuery()
    {
        var result = await Run(CheckOut + "STEP 30 REPLY\n" + Reply + CheckAnswer);
        Assert.True(result.Outcome == ScenarioOutcome.Passed, string.Join("\n", result.Failures.Concat<object>(result.Trace)));
        Assert.Contains(result.Trace, t => t.Contains("Answered by entry") && t.Contains("step 30"));
    }

    [Fact]
    public async Task CheckOutQueryWithCopyIdAlsoAnswers()
    {
        var result = await Run("STEP 20 CHECK_OUT_QUERY\n" + Reply + CheckAnswer);
        Assert.True(result.Outcome == ScenarioOutcome.Passed, string.Join("\n", result.Failures));
    }

    [Fact]
    public async Task CheckOutQueryFailsWhenNoSuchQueryWasSent()
    {
        var result = await Run(CheckOut.Replace("IN A", "IN MX", StringComparison.Ordinal) + "STEP 30 REPLY\n" + Reply + CheckAnswer);
        Assert.Contains(result.Failures, f => f.Element == "outgoing query" && f.StepId == 20);
    }

    [Fact]
    public async Task TimeoutAndErrorStepsEndThePendingQuery()
    {
        const string servfail = """
            STEP 90 CHECK_ANSWER
            ENTRY_BEGIN
            MATCH rcode
            REPLY QR RD RA SERVFAIL
            SECTION QUESTION
            www.example.com. IN A
            ENTRY_END

            """;
        foreach (var kind in new[] { "TIMEOUT", "ERROR" })
        {
            var result = await Run(CheckOut + $"STEP 30 {kind}\n" + servfail);
            Assert.True(result.Outcome == ScenarioOutcome.Passed, kind + ": " + string.Join("\n", result.Failures));
            Assert.Contains(result.Trace, t => t.Contains(kind == "TIMEOUT" ? "TimedOut" : "Closed"));
        }
    }

    [Fact]
    public async Task QueryStillPendingAtTheEndFails()
    {
        var result = await Run(CheckOut);
        Assert.Contains(result.Failures, f => f.Element == "pending query");
    }

    [Fact]
    public async Task ReplyWithNothingPendingFails()
    {
        var result = await Run("STEP 20 REPLY\n" + Reply + "STEP 30 REPLY\n" + Reply + CheckAnswer);
        Assert.Contains(result.Failures, f => f.Element == "pending query" && f.StepId == 30);
    }

    [Fact]
    public async Task QueryAddressBecomesTheClient()
    {
        var factory = new ClientRecordingFactory();
        var s = ScenarioParser.Parse(Header.Replace("STEP 10 QUERY", "STEP 10 QUERY ADDRESS 192.0.2.99", StringComparison.Ordinal) + "SCENARIO_END\n", "iter_client.rpl");
        var result = await new ScenarioRunner(factory).RunAsync(s);
        Assert.Equal(ScenarioOutcome.Passed, result.Outcome);
        Assert.Equal(IPAddress.Parse("192.0.2.99"), Assert.Single(factory.Clients)!.Address);
    }

    private sealed class ClientRecordingFactory : IScenarioResolverFactory, IScenarioResolver
    {
        public List<IPEndPoint?> Clients { get; } = [];

        public ScenarioCapabilities Capabilities => ScenarioCapabilities.All;

        public IScenarioResolver Create(ScenarioSetup setup, IExchanger exchanger, IClock clock) => this;

        public Task<DnsMessage?> ResolveAsync(DnsMessage query, CancellationToken cancellationToken) => ResolveAsync(query, null, cancellationToken);

        public Task<DnsMessage?> ResolveAsync(DnsMessage query, IPEndPoint? client, CancellationToken cancellationToken)
        {
            Clients.Add(client);
            return Task.FromResult<DnsMessage?>(query.CreateResponse(Rcode.NoError));
        }
    }
}

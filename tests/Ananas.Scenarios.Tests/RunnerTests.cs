using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Scenarios.Model;
using Ananas.Scenarios.Parsing;
using Ananas.Scenarios.Running;

namespace Ananas.Scenarios.Tests;

public sealed class RunnerTests
{
    // Runner mechanics are tested with a relay fake, so its scenario lives with these tests, not in tests/scenarios.
    private static string OwnFile(string name) => Path.Combine(TestPaths.RepoRoot, "tests", "Ananas.Scenarios.Tests", "Data", name);

    [Fact]
    public async Task OwnForwardingScenarioPasses()
    {
        var factory = new ForwardingFakeFactory();
        var result = await new ScenarioRunner(factory).RunFileAsync(OwnFile("relay_basic.rpl"));
        Assert.True(result.Outcome == ScenarioOutcome.Passed, string.Join("\n", result.Failures));
        var setup = Assert.Single(factory.Setups); // query-minimization is set: one run
        Assert.False(setup.QueryMinimisation);
        Assert.Equal("192.0.2.1", setup.RootHints.Addresses[0].ToString());
        Assert.Equal(2, result.Trace.Count);
    }

    private static Scenario Edit(string from, string to)
    {
        var text = File.ReadAllText(OwnFile("relay_basic.rpl"));
        Assert.Contains(from, text);
        return ScenarioParser.Parse(text.Replace(from, to, StringComparison.Ordinal), "edited.rpl");
    }

    [Fact]
    public async Task MismatchFailsWithStepElementAndMessages()
    {
        var s = Edit("WWW.Example.COM. 7 IN A 192.0.2.81", "www.example.com. IN A 192.0.2.82");
        var result = await new ScenarioRunner(new ForwardingFakeFactory()).RunAsync(s);
        Assert.Equal(ScenarioOutcome.Failed, result.Outcome);
        var f = Assert.Single(result.Failures);
        Assert.Equal((20, "answer"), (f.StepId, f.Element));
        Assert.Contains("192.0.2.82", f.Expected);
        Assert.Contains("192.0.2.81", f.Actual);
        Assert.Contains("ANSWER SECTION", f.ActualMessage);
        Assert.Contains("step 20", result.Summary);
    }

    [Fact]
    public async Task UnscriptedQueryIsAnUndefinedAnswer()
    {
        var s = Edit("missing.example.com. IN A\nENTRY_END\n\nSTEP 50", "other.example.com. IN A\nENTRY_END\n\nSTEP 50");
        var result = await new ScenarioRunner(new ForwardingFakeFactory()).RunAsync(s);
        Assert.Equal(ScenarioOutcome.Failed, result.Outcome);
        Assert.Contains(result.Failures, f => f.Element == "undefined answer" && f.StepId == 40 && f.Actual.Contains("other.example.com"));
    }

    [Fact]
    public async Task WithoutQminKeyDeckardRunsTwice()
    {
        var s = Edit("\tquery-minimization: off\n", "");
        var factory = new ForwardingFakeFactory();
        var result = await new ScenarioRunner(factory).RunAsync(s);
        Assert.Equal(ScenarioOutcome.Passed, result.Outcome);
        Assert.Equal([true, false], factory.Setups.Select(x => x.QueryMinimisation));
        Assert.Contains(result.Trace, t => t.StartsWith("[qmin=off]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnusedMandatoryEntryFails()
    {
        var s = Edit("ENTRY_BEGIN\nMATCH opcode qtype qname\nADJUST copy_id\nREPLY QR AA NXDOMAIN", "ENTRY_BEGIN\nMANDATORY\nMATCH opcode qtype qname\nADJUST copy_id\nREPLY QR AA NXDOMAIN");
        s.Steps.RemoveAll(x => x.Id >= 40);
        var result = await new ScenarioRunner(new ForwardingFakeFactory()).RunAsync(s);
        Assert.Equal("MANDATORY", Assert.Single(result.Failures).Element);
    }

    [Fact]
    public async Task MissingCapabilityAndUnparseableRecordsSkip()
    {
        var s = Edit("\tquery-minimization: off\n", "\tquery-minimization: off\n\ttrust-anchor: \". IN DS 1 8 2 AB\"\n");
        var result = await new ScenarioRunner(new ForwardingFakeFactory()).RunAsync(s);
        Assert.Equal(ScenarioOutcome.Skipped, result.Outcome);
        Assert.Contains(result.SkipReasons, r => r.Reason == "needs DNSSEC validation");

        var bad = Edit("www.example.com. 300 IN A 192.0.2.80", "www.example.com. 300 IN FROBNICATE 1");
        var r2 = await new ScenarioRunner(new ForwardingFakeFactory()).RunAsync(bad);
        Assert.Equal(ScenarioOutcome.Skipped, r2.Outcome);
        Assert.Contains("record not parseable yet", r2.Summary);
    }

    [Fact]
    public async Task ResolverExceptionsAndHangsBecomeFailures()
    {
        var s = ScenarioParser.ParseFile(OwnFile("relay_basic.rpl"));
        var throwing = await new ScenarioRunner(new DelegateFactory(_ => throw new InvalidOperationException("boom"))).RunAsync(s);
        Assert.Equal(ScenarioOutcome.Failed, throwing.Outcome);
        Assert.Contains(throwing.Failures, f => f.Actual.Contains("boom"));

        var hanging = await new ScenarioRunner(new DelegateFactory(_ => new TaskCompletionSource<DnsMessage?>().Task),
            new ScenarioRunnerOptions { Timeout = TimeSpan.FromMilliseconds(200) }).RunAsync(s);
        Assert.Equal(ScenarioOutcome.Failed, hanging.Outcome);
        Assert.Equal("timeout", Assert.Single(hanging.Failures).Element);
    }

    [Fact]
    public async Task RawGarbageQueriesAreSentAndMayBeDropped()
    {
        const string text = """
            stub-addr: 10.0.0.1
            query-minimization: on
            CONFIG_END
            SCENARIO_BEGIN garbage
            STEP 1 QUERY
            ENTRY_BEGIN
            RAW
            	0102
            ENTRY_END
            SCENARIO_END
            """;
        var s = ScenarioParser.Parse(text, "raw.rpl");
        var result = await new ScenarioRunner(new ForwardingFakeFactory()).RunAsync(s);
        Assert.Equal(ScenarioOutcome.Passed, result.Outcome);
    }

    [Fact]
    public void UnboundFilesOutsideTheBehaviourPrefixesAreSkipped()
    {
        var s = ScenarioParser.Parse("server:\nstub-zone:\n\tname: \".\"\n\tstub-addr: 1.2.3.4\nCONFIG_END\nSCENARIO_BEGIN t\nSCENARIO_END\n", "auth_thing.rpl");
        var prep = ScenarioRunner.Prepare(s, ScenarioCapabilities.All);
        Assert.False(prep.CanRun);
        Assert.True(ScenarioRunner.Prepare(ScenarioParser.Parse("server:\nstub-zone:\n\tname: \".\"\n\tstub-addr: 1.2.3.4\nCONFIG_END\nSCENARIO_BEGIN t\nSCENARIO_END\n", "iter_thing.rpl"), ScenarioCapabilities.All).CanRun);
    }

    [Fact]
    public void SetupCarriesTheConfig()
    {
        const string text = """
            stub-addr: 127.0.0.10
            stub-name: a.root.
            do-ip6: no
            harden-glue: off
            do-not-query-localhost: off
            domain-insecure: example.
            val-override-date: 20181130124225
            query-minimization: on
            CONFIG_END
            SCENARIO_BEGIN t
            SCENARIO_END
            """;
        var plan = ScenarioSetupBuilder.Build(ScenarioParser.Parse(text, "c.rpl"));
        var setup = Assert.Single(plan.Variants);
        Assert.Empty(plan.SkipReasons);
        Assert.Equal("a.root.", setup.RootHints.Names[0].ToString());
        Assert.False(setup.DoIp6);
        Assert.True(setup.DoIp4);
        Assert.False(setup.HardenGlue);
        Assert.False(setup.DoNotQueryLocalhost);
        Assert.Contains(setup.AlwaysAllowed, a => a.ToString() == "127.0.0.10");
        Assert.Equal(new DateTimeOffset(2018, 11, 30, 12, 42, 25, TimeSpan.Zero), setup.StartTime);
        Assert.Equal("example.", Assert.Single(setup.NegativeTrustAnchors).ToString());
        Assert.Equal(ScenarioCapabilities.NegativeTrustAnchors, plan.Required);
    }

    [Fact]
    public void UnboundPrefetchScenariosRunWithPrefetchOnAndTheDialectProbesWithA()
    {
        const string text = """
            server:
            	prefetch: "yes"
            stub-zone:
            	name: "."
            	stub-addr: 10.0.0.1
            CONFIG_END
            SCENARIO_BEGIN t
            SCENARIO_END
            """;
        var plan = ScenarioSetupBuilder.Build(ScenarioParser.Parse(text, "p.rpl"));
        Assert.Empty(plan.SkipReasons);
        var setup = Assert.Single(plan.Variants);
        Assert.True(RecursorScenarioResolverFactory.OptionsFor(setup).Prefetch);
        Assert.Equal(RRType.A, RecursorScenarioResolverFactory.PeerCompatibilityFor(setup).MinimisationProbeType);
    }

    [Fact]
    public void DeckardScenarioWithoutStubAddrUsesTheBuiltInRootHints()
    {
        // deckard world_* recordings script the real root servers and configure none.
        const string text = """
            query-minimization: off
            CONFIG_END
            SCENARIO_BEGIN t
            SCENARIO_END
            """;
        var plan = ScenarioSetupBuilder.Build(ScenarioParser.Parse(text, "w.rpl"));
        Assert.Empty(plan.SkipReasons);
        var options = RecursorScenarioResolverFactory.OptionsFor(Assert.Single(plan.Variants));
        Assert.Same(RootHints.Iana, options.RootHints);
    }

    private sealed class DelegateFactory(Func<DnsMessage, Task<DnsMessage?>> resolve) : IScenarioResolverFactory, IScenarioResolver
    {
        public ScenarioCapabilities Capabilities => ScenarioCapabilities.All;

        public IScenarioResolver Create(ScenarioSetup setup, IExchanger exchanger, IClock clock) => this;

        public Task<DnsMessage?> ResolveAsync(DnsMessage query, CancellationToken cancellationToken) => resolve(query);
    }
}

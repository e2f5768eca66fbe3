using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Scenarios.Messages;
using Ananas.Scenarios.Model;
using Ananas.Scenarios.Parsing;
using Ananas.Scenarios.Replay;

namespace Ananas.Scenarios.Running;

/// <summary>
/// Runs scenarios against a resolver under test (FORMAT.md §1.8): for each run variant, a fresh resolver from
/// the factory, a <see cref="ReplayExchanger"/> and a <see cref="VirtualClock"/>; steps in file order; at the end,
/// undefined answers and unused MANDATORY entries fail the run. Never throws for scenario or resolver problems.
/// </summary>
public sealed class ScenarioRunner(IScenarioResolverFactory factory, ScenarioRunnerOptions? options = null)
{
    /// <summary>Unbound corpus prefixes that test DNS behaviour (the rest test Unbound-specific features).</summary>
    public static readonly IReadOnlyList<string> UnboundBehaviourPrefixes =
        ["iter_", "val_", "fwd_", "black_", "serve_expired_", "ede_", "edns_", "rrset_", "ttl_"];

    private readonly ScenarioRunnerOptions _options = options ?? new ScenarioRunnerOptions();

    /// <summary>Parses and runs one file; a malformed file is a failure with its <c>file:line</c> message.</summary>
    public async Task<ScenarioResult> RunFileAsync(string path, ScenarioDialect? dialect = null, CancellationToken cancellationToken = default)
    {
        Scenario scenario;
        try
        {
            scenario = ScenarioParser.ParseFile(path, dialect);
        }
        catch (Exception e) when (e is ScenarioParseException or IOException or UnauthorizedAccessException)
        {
            return new ScenarioResult(path, ScenarioOutcome.Failed) { Failures = [new ScenarioFailure("", 0, 0, "parse", "a valid scenario", e.Message)] };
        }
        return await RunAsync(scenario, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ScenarioResult> RunAsync(Scenario scenario, CancellationToken cancellationToken = default)
    {
        var prep = Prepare(scenario, factory.Capabilities, _options);
        if (!prep.CanRun)
            return new ScenarioResult(scenario.Path, ScenarioOutcome.Skipped) { Title = scenario.Title, SkipReasons = prep.SkipReasons };

        var failures = new List<ScenarioFailure>();
        var trace = new List<string>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        foreach (var setup in prep.Plan.Variants)
        {
            await RunVariantAsync(scenario, setup, prep.Templates!, failures, trace, timeout.Token).ConfigureAwait(false);
            if (timeout.IsCancellationRequested) break;
        }
        return new ScenarioResult(scenario.Path, failures.Count == 0 ? ScenarioOutcome.Passed : ScenarioOutcome.Failed)
        {
            Title = scenario.Title,
            Failures = failures,
            Trace = trace,
        };
    }

    /// <summary>Everything that makes a scenario unrunnable for a resolver with these capabilities (no resolver needed).</summary>
    public static ScenarioPreparation Prepare(Scenario scenario, ScenarioCapabilities capabilities, ScenarioRunnerOptions? options = null)
    {
        options ??= new ScenarioRunnerOptions();
        var reasons = new List<SkipReason>();
        if (scenario.Dialect == ScenarioDialect.Unbound && options.FilterUnboundPrefixes &&
            !UnboundBehaviourPrefixes.Any(p => scenario.Name.StartsWith(p, StringComparison.Ordinal)))
            reasons.Add(new SkipReason("tests an Unbound-specific feature (file prefix not in the DNS-behaviour set)"));
        reasons.AddRange(scenario.SkipReasons);
        reasons.AddRange(StepSkipReasons(scenario));
        var plan = ScenarioSetupBuilder.Build(scenario);
        reasons.AddRange(plan.SkipReasons);
        var missing = plan.Required & ~capabilities;
        foreach (ScenarioCapabilities c in Enum.GetValues<ScenarioCapabilities>())
            if (c is not ScenarioCapabilities.None and not ScenarioCapabilities.All && missing.HasFlag(c))
                reasons.Add(new SkipReason($"needs {Describe(c)}"));

        ScenarioTemplates? templates = null;
        try
        {
            templates = ScenarioTemplates.Build(scenario);
        }
        catch (UnsupportedRecordException e)
        {
            reasons.Add(new SkipReason($"record not parseable yet: {e.Problem}", e.Line));
        }
        return new ScenarioPreparation(scenario, plan, templates, reasons);
    }

    private static string Describe(ScenarioCapabilities c) => c switch
    {
        ScenarioCapabilities.DnssecValidation => "DNSSEC validation",
        ScenarioCapabilities.ServeStale => "serve-stale (serve-expired)",
        ScenarioCapabilities.Forwarding => "forwarding",
        ScenarioCapabilities.StubZones => "stub zones",
        ScenarioCapabilities.NegativeTrustAnchors => "negative trust anchors (domain-insecure)",
        _ => c.ToString(),
    };

    private static IEnumerable<SkipReason> StepSkipReasons(Scenario s)
    {
        foreach (var step in s.Steps)
        {
            switch (step.Kind)
            {
                case StepKind.Assign or StepKind.CheckAutotrust or StepKind.CheckTempfile or StepKind.InfraRtt
                    or StepKind.FlushMessage or StepKind.ExpireMessage or StepKind.Error:
                    yield return new SkipReason($"needs STEP {StepName(step.Kind)}", step.Line);
                    break;
                case StepKind.Timeout:
                    yield return new SkipReason("needs pending-query replay (STEP TIMEOUT)", step.Line);
                    break;
                case StepKind.Reply when s.Dialect == ScenarioDialect.Unbound:
                    yield return new SkipReason("needs pending-query replay (unbound STEP REPLY)", step.Line);
                    break;
                case StepKind.CheckOutQuery when s.Dialect == ScenarioDialect.Unbound && step.Entry?.HasAdjust("copy_id") == true:
                    yield return new SkipReason("needs pending-query replay (CHECK_OUT_QUERY that answers)", step.Line);
                    break;
                case StepKind.Query when s.Dialect == ScenarioDialect.Unbound && step.Address is not null:
                    yield return new SkipReason("needs a client source address (STEP QUERY ADDRESS)", step.Line);
                    break;
            }
        }
    }

    private static string StepName(StepKind kind) => kind switch
    {
        StepKind.CheckAutotrust => "CHECK_AUTOTRUST",
        StepKind.CheckTempfile => "CHECK_TEMPFILE",
        StepKind.InfraRtt => "INFRA_RTT",
        StepKind.FlushMessage => "FLUSH_MESSAGE",
        StepKind.ExpireMessage => "EXPIRE_MESSAGE",
        _ => kind.ToString().ToUpperInvariant(),
    };

    private async Task RunVariantAsync(Scenario s, ScenarioSetup setup, ScenarioTemplates templates,
                                       List<ScenarioFailure> failures, List<string> trace, CancellationToken ct)
    {
        string variant = setup.Variant;
        var clock = new VirtualClock(setup.StartTime);
        var ids = new SeededRandom(_options.Seed);
        var exchanger = new ReplayExchanger(s, templates, new SeededRandom(_options.Seed + 1));
        void Fail(ScenarioStep? step, string element, string expected, string actual, string? expMsg = null, string? actMsg = null) =>
            failures.Add(new ScenarioFailure(variant, step?.Id ?? 0, step?.Line ?? 0, element, expected, actual) { ExpectedMessage = expMsg, ActualMessage = actMsg });

        IScenarioResolver resolver;
        try
        {
            resolver = factory.Create(setup, exchanger, clock);
        }
        catch (Exception e)
        {
            Fail(null, "setup", "a resolver", $"{e.GetType().Name}: {e.Message}");
            return;
        }

        ScenarioStep? current = null;
        try
        {
            DnsMessage? last = null;
            bool asked = false;
            int exchangesAtQuery = 0;
            for (int i = 0; i < s.Steps.Count; i++)
            {
                var step = current = s.Steps[i];
                // Deckard selects ranges by the executing step; testbound by the next pending moment (FORMAT.md §2.2).
                exchanger.CurrentStep = s.Dialect == ScenarioDialect.Unbound && i + 1 < s.Steps.Count ? s.Steps[i + 1].Id : step.Id;
                switch (step.Kind)
                {
                    case StepKind.Query:
                    {
                        var t = templates[step.Entry!];
                        exchangesAtQuery = exchanger.Exchanges.Count;
                        if (t.Raw is { } raw)
                        {
                            // Deckard sends RAW queries without waiting for the answer; only a crash matters.
                            try { await resolver.ResolveRawAsync(raw, ct).WaitAsync(ct).ConfigureAwait(false); }
                            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                            {
                                Fail(step, "raw query", "an answer or silence", $"{e.GetType().Name}: {e.Message}");
                            }
                            break;
                        }
                        var query = MessageCopy.Clone(t.Message);
                        query.Id = (ushort)ids.Next(ushort.MaxValue + 1);
                        asked = true;
                        last = null;
                        try { last = await resolver.ResolveAsync(query, ct).WaitAsync(ct).ConfigureAwait(false); }
                        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                        {
                            Fail(step, "resolve", "an answer", $"{e.GetType().Name}: {e.Message}", query.ToString());
                        }
                        break;
                    }
                    case StepKind.CheckAnswer:
                    {
                        var t = templates[step.Entry!];
                        if (last is null)
                        {
                            Fail(step, "answer", "a response", asked ? "no answer" : "no QUERY before this step", t.Message.ToString());
                            break;
                        }
                        foreach (var m in MessageComparer.Compare(t, last, s.Dialect))
                            Fail(step, m.Element, m.Expected, m.Actual, t.Message.ToString(), last.ToString());
                        break;
                    }
                    case StepKind.TimePasses:
                        clock.Advance(TimeSpan.FromSeconds(step.Elapse ?? 0));
                        break;
                    case StepKind.CheckOutQuery when s.Dialect == ScenarioDialect.Unbound:
                    {
                        var t = templates[step.Entry!];
                        bool seen = exchanger.Exchanges.Skip(exchangesAtQuery).Any(x =>
                            (step.Address is null || step.Address.Equals(x.Server.Address)) &&
                            MessageComparer.Matches(t, x.Query, ScenarioDialect.Unbound, x.Transport));
                        if (!seen) Fail(step, "outgoing query", $"a query matching the entry at line {t.Entry.Line}", "none sent", t.Message.ToString());
                        break;
                    }
                    default:
                        // Deckard REPLY steps act only through the exchanger; CHECK_OUT_QUERY is ignored by deckard;
                        // NOTHING and TRAFFIC have nothing to do in an in-process replay.
                        break;
                }
            }

            foreach (var x in exchanger.UndefinedAnswers)
                failures.Add(new ScenarioFailure(variant, x.Step, 0, "undefined answer", "every upstream query scripted", x.ToString()));
            foreach (var entry in s.AllEntries())
                if (entry.Mandatory && !exchanger.WasUsed(entry))
                    failures.Add(new ScenarioFailure(variant, 0, entry.Line, "MANDATORY", "the entry to answer at least once", "never used"));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Fail(current, "timeout", $"the scenario to finish within {_options.Timeout.TotalSeconds:0.#} s", "the resolver did not answer in time");
        }
        finally
        {
            var prefix = variant.Length == 0 ? "" : $"[{variant}] ";
            foreach (var x in exchanger.Exchanges) trace.Add(prefix + x);
            await DisposeAsync(resolver).ConfigureAwait(false);
        }
    }

    private static async Task DisposeAsync(IScenarioResolver resolver)
    {
        try
        {
            if (resolver is IAsyncDisposable ad) await ad.DisposeAsync().ConfigureAwait(false);
            else if (resolver is IDisposable d) d.Dispose();
        }
        catch (Exception)
        {
            // A resolver that fails to shut down must not take the runner with it.
        }
    }
}

using System.Net;
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
                    or StepKind.FlushMessage or StepKind.ExpireMessage:
                    yield return new SkipReason($"needs STEP {StepName(step.Kind)}", step.Line);
                    break;
                case StepKind.Timeout or StepKind.Error when s.Dialect == ScenarioDialect.Deckard:
                    yield return new SkipReason($"STEP {StepName(step.Kind)} is not part of the deckard dialect", step.Line);
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
        var exchanger = new ReplayExchanger(s, templates, new SeededRandom(_options.Seed + 1)) { PendingReplay = s.Dialect == ScenarioDialect.Unbound };
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
            Task<DnsMessage?>? answer = null; // the most recent client query, possibly still being resolved (unbound)
            var outstanding = new List<Task<DnsMessage?>>();
            bool asked = false;
            int checkedFrom = 0; // exchanges before this index were sent before the last QUERY or matched by a CHECK_OUT_QUERY
            bool unbound = s.Dialect == ScenarioDialect.Unbound;
            for (int i = 0; i < s.Steps.Count; i++)
            {
                var step = current = s.Steps[i];
                // Deckard selects ranges by the executing step; testbound by the next pending moment (FORMAT.md §2.2).
                exchanger.CurrentStep = unbound && i + 1 < s.Steps.Count ? s.Steps[i + 1].Id : step.Id;
                switch (step.Kind)
                {
                    case StepKind.Query:
                    {
                        var t = templates[step.Entry!];
                        checkedFrom = exchanger.Exchanges.Count;
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
                        var client = step.Address is { } source ? new IPEndPoint(source, 53) : null;
                        if (!unbound)
                        {
                            answer = null;
                            try { last = await resolver.ResolveAsync(query, client, ct).WaitAsync(ct).ConfigureAwait(false); }
                            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                            {
                                Fail(step, "resolve", "an answer", $"{e.GetType().Name}: {e.Message}", query.ToString());
                            }
                            break;
                        }
                        // Testbound: the query runs alongside the following steps, which may answer its upstream queries.
                        int version = exchanger.PendingVersion;
                        answer = Task.Run(() => resolver.ResolveAsync(query, client, ct), ct);
                        outstanding.Add(answer);
                        await SettleAsync(exchanger, outstanding, version, ct).ConfigureAwait(false);
                        break;
                    }
                    case StepKind.CheckAnswer:
                    {
                        var t = templates[step.Entry!];
                        if (answer is not null)
                        {
                            // The answer is due. Upstream queries the scenario leaves pending (ones testbound's Unbound
                            // would not have sent) time out, most recent first, until the answer comes (relaxed replay).
                            while (!answer.IsCompleted && exchanger.Pending is [.., var head])
                            {
                                int version = exchanger.PendingVersion;
                                exchanger.Fail(head, ExchangeStatus.Timeout, step.Id, "timed out: nothing in the scenario answers it");
                                await SettleAsync(exchanger, outstanding, version, ct).ConfigureAwait(false);
                            }
                            try { last = await answer.WaitAsync(ct).ConfigureAwait(false); }
                            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                            {
                                Fail(step, "resolve", "an answer", $"{e.GetType().Name}: {e.Message}");
                            }
                            outstanding.Remove(answer);
                            answer = null;
                        }
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
                    case StepKind.Reply or StepKind.Timeout or StepKind.Error when unbound:
                    {
                        var pending = exchanger.Pending;
                        if (pending.Count == 0)
                        {
                            // Relaxed: how often a silent server is retried is the resolver's policy (Unbound retries more
                            // than most), so a TIMEOUT or ERROR with nothing left to time out is only traced. A REPLY
                            // carries data the scenario relies on: nothing asked for it is a failure.
                            if (step.Kind == StepKind.Reply)
                                Fail(step, "pending query", "a pending upstream query for STEP REPLY", "none pending");
                            else
                                trace.Add($"{(variant.Length == 0 ? "" : $"[{variant}] ")}step {step.Id}: {StepName(step.Kind)} with no pending query");
                            break;
                        }
                        // Testbound acts on the head of its pending list: the most recently sent query still pending.
                        // A REPLY goes to the most recent pending query its MATCH accepts, if any (relaxed: the
                        // resolver under test may have sent queries Unbound would not).
                        var target = pending[^1];
                        int version = exchanger.PendingVersion;
                        if (step.Kind == StepKind.Reply)
                        {
                            var t = templates[step.Entry!];
                            target = pending.LastOrDefault(p => MessageComparer.Matches(t, p.Query, ScenarioDialect.Unbound, p.Request.Transport)) ?? target;
                            exchanger.Answer(target, step.Entry!, step.Id, $"STEP {step.Id} REPLY");
                        }
                        else
                        {
                            exchanger.Fail(target, step.Kind == StepKind.Timeout ? ExchangeStatus.Timeout : ExchangeStatus.NetworkError, step.Id,
                                $"STEP {step.Id} {StepName(step.Kind)}");
                        }
                        await SettleAsync(exchanger, outstanding, version, ct).ConfigureAwait(false);
                        break;
                    }
                    case StepKind.CheckOutQuery when unbound:
                    {
                        var t = templates[step.Entry!];
                        var exchanges = exchanger.Exchanges;
                        int found = -1;
                        for (int k = checkedFrom; k < exchanges.Count && found < 0; k++)
                        {
                            var x = exchanges[k];
                            if ((step.Address is null || step.Address.Equals(x.Server.Address)) &&
                                MessageComparer.Matches(t, x.Query, ScenarioDialect.Unbound, x.Transport))
                                found = k;
                        }
                        if (found < 0)
                        {
                            Fail(step, "outgoing query", $"a query matching the entry at line {t.Entry.Line}", "none sent", t.Message.ToString());
                            break;
                        }
                        checkedFrom = found + 1;
                        // With copy_id the entry is also the reply to that query, if nothing answered it yet.
                        if (step.Entry!.HasAdjust("copy_id") && exchanger.Pending.FirstOrDefault(p => p.RecordIndex == found) is { } p)
                        {
                            int version = exchanger.PendingVersion;
                            exchanger.Answer(p, step.Entry, step.Id, $"STEP {step.Id} CHECK_OUT_QUERY");
                            await SettleAsync(exchanger, outstanding, version, ct).ConfigureAwait(false);
                        }
                        break;
                    }
                    default:
                        // Deckard REPLY steps act only through the exchanger; CHECK_OUT_QUERY is ignored by deckard;
                        // NOTHING and TRAFFIC have nothing to do in an in-process replay.
                        break;
                }
            }

            foreach (var p in exchanger.Pending)
                failures.Add(new ScenarioFailure(variant, 0, 0, "pending query", "every upstream query answered by the end",
                    exchanger.Exchanges[p.RecordIndex].ToString()));
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
            foreach (var p in exchanger.Pending) exchanger.Fail(p, ExchangeStatus.Timeout, 0, "scenario ended");
            var prefix = variant.Length == 0 ? "" : $"[{variant}] ";
            foreach (var x in exchanger.Exchanges) trace.Add(prefix + x);
            await DisposeAsync(resolver).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits until the resolver has nothing left to do before the next step: every outstanding client query has
    /// its answer or waits on a pending upstream query (a resolution waits on at most one at a time).
    /// </summary>
    private static async Task SettleAsync(ReplayExchanger exchanger, List<Task<DnsMessage?>> outstanding, int version, CancellationToken ct)
    {
        while (true)
        {
            var running = outstanding.Where(t => !t.IsCompleted).ToList();
            if (running.Count == 0) return;
            int now = exchanger.PendingVersion;
            if (running.Count <= exchanger.Pending.Count) return;
            var changed = exchanger.WaitForPendingAsync(now);
            await Task.WhenAny([.. running, changed]).WaitAsync(ct).ConfigureAwait(false);
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

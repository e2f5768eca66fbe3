using System.Net;
using Ananas.Dns.Messages;

namespace Ananas.Server.Shadow;

/// <summary>How <see cref="ShadowReplay"/> asks.</summary>
public sealed record ShadowReplayOptions(IPEndPoint Target, IPEndPoint Reference)
{
    /// <summary>Questions asked at once (each to both resolvers).</summary>
    public int Concurrency { get; init; } = 32;

    /// <summary>Times a disagreeing question is asked again; it is unstable (dropped) unless every repeat gives the same answers.</summary>
    public int Rechecks { get; init; } = 2;

    /// <summary>Ask with DO (the answers then carry RRSIGs and AD is compared).</summary>
    public bool DnssecOk { get; init; } = true;

    /// <summary>Examples kept per field in the report.</summary>
    public int ExamplesPerField { get; init; } = 10;
}

/// <summary>
/// <c>ananas shadow</c>'s engine, after respdiff: every question goes to the target and the reference at once; a
/// question whose answers differ is asked again (<see cref="ShadowReplayOptions.Rechecks"/> times) and dropped as
/// unstable if either resolver changes its answer or the difference changes; the rest are counted by field.
/// </summary>
public sealed class ShadowReplay(ShadowClient client, ShadowReplayOptions options)
{
    public async Task<ShadowReport> RunAsync(IReadOnlyList<Question> questions, CancellationToken cancellationToken)
    {
        var report = new ShadowReport(options.Target.ToString(), options.Reference.ToString(), options.ExamplesPerField) { Questions = questions.Count };
        await Parallel.ForEachAsync(questions, new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = cancellationToken },
            async (question, ct) => report.Add(await CompareAsync(question, ct).ConfigureAwait(false))).ConfigureAwait(false);
        return report;
    }

    /// <summary>One question's verdict: its stable difference, unstable, or agreement.</summary>
    public async Task<QuestionOutcome> CompareAsync(Question question, CancellationToken cancellationToken)
    {
        var (target, reference) = await AskBothAsync(question, cancellationToken).ConfigureAwait(false);
        var difference = AnswerComparison.Compare(target, reference);
        if (difference == Difference.None)
            return new QuestionOutcome(question, Difference.None, Unstable: false, target, reference, NoAnswer: target is null && reference is null);
        for (int i = 0; i < options.Rechecks; i++)
        {
            var (t, r) = await AskBothAsync(question, cancellationToken).ConfigureAwait(false);
            if (AnswerComparison.Compare(t, target) != Difference.None || AnswerComparison.Compare(r, reference) != Difference.None
                || AnswerComparison.Compare(t, r) != difference)
                return new QuestionOutcome(question, difference, Unstable: true, target, reference, NoAnswer: false);
        }
        return new QuestionOutcome(question, difference, Unstable: false, target, reference, NoAnswer: false);
    }

    private async Task<(DnsMessage? Target, DnsMessage? Reference)> AskBothAsync(Question question, CancellationToken cancellationToken)
    {
        var target = client.AskAsync(options.Target, question, options.DnssecOk, checkingDisabled: false, cancellationToken);
        var reference = client.AskAsync(options.Reference, question, options.DnssecOk, checkingDisabled: false, cancellationToken);
        return (await target.ConfigureAwait(false), await reference.ConfigureAwait(false));
    }
}

/// <summary>What one question came to.</summary>
public sealed record QuestionOutcome(Question Question, Difference Difference, bool Unstable, DnsMessage? Target, DnsMessage? Reference, bool NoAnswer);

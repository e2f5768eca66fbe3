using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Hosting;

namespace Ananas.Server.Shadow;

/// <summary>
/// Live shadow mode (<c>[shadow]</c>): a sample of the questions the server answers is asked again of a reference
/// resolver, off the query path (<see cref="SampledTap"/>: bounded, dropped and counted when full), and our reply is
/// compared with the reference's by field. A difference is asked of the reference once more and dropped as unstable
/// if its answer changed; stable ones are counted by field (<c>ananas_shadow_differences_total</c>) and written to
/// the query log. Replies we truncated or refused (ACL, shedding) are skipped: they say nothing about resolution.
/// Samples are compared a batch at a time on the tap's thread (<see cref="ReferenceSocket"/>: all of a batch's
/// questions asked at once over one socket); a truncated reference answer is asked again over TCP.
/// </summary>
public sealed class ShadowMirror : IAsyncDisposable
{
    private readonly IPEndPoint _reference;
    private readonly ReferenceSocket _socket;
    private readonly ShadowClient _client;
    private readonly Func<QueryLog?> _queryLog;
    private readonly SampledTap _tap;
    private readonly long[] _byField = new long[AnswerComparison.Fields.Length];
    // One batch's work, reused (the tap's thread is the only one here).
    private readonly MirroredQuestion[] _questions;
    private readonly SampledReply[] _samples;
    private readonly DnsMessage[] _ours;
    private readonly DnsMessage?[] _answers;
    private readonly DnsMessage?[] _references;
    private readonly Difference[] _differences;
    private long _agreed;
    private long _unstable;
    private long _different;
    private long _skipped;

    /// <param name="batch">Most samples compared at once (their questions are in flight to the reference together).</param>
    public ShadowMirror(IPEndPoint reference, double sample, TimeSpan timeout, Func<QueryLog?> queryLog, int capacity = 1024, int batch = 64)
    {
        _reference = reference;
        _socket = new ReferenceSocket(reference, timeout);
        _client = ShadowClient.Create(timeout);
        _queryLog = queryLog;
        _questions = new MirroredQuestion[batch];
        _samples = new SampledReply[batch];
        _ours = new DnsMessage[batch];
        _answers = new DnsMessage?[batch];
        _references = new DnsMessage?[batch];
        _differences = new Difference[batch];
        _tap = new SampledTap(sample, capacity, batch, CompareBatch);
    }

    public SampledTap Tap => _tap;

    public IPEndPoint Reference => _reference;

    public long Agreed => Interlocked.Read(ref _agreed);
    public long Unstable => Interlocked.Read(ref _unstable);
    public long Different => Interlocked.Read(ref _different);
    public long Skipped => Interlocked.Read(ref _skipped);

    public long ByField(Difference field) => Interlocked.Read(ref _byField[Array.IndexOf(AnswerComparison.Fields, field)]);

    private void CompareBatch(ReadOnlySpan<SampledReply> batch)
    {
        try
        {
            int n = 0;
            foreach (var sample in batch)
                if (Comparable(sample) is { } comparable)
                {
                    _samples[n] = sample;
                    (_questions[n], _ours[n]) = comparable;
                    n++;
                }
                else
                {
                    Interlocked.Increment(ref _skipped);
                }
            if (n == 0) return;
            Ask(n);
            int differing = 0;
            for (int i = 0; i < n; i++)
            {
                var difference = AnswerComparison.Compare(_ours[i], _answers[i]);
                if (difference == Difference.None)
                {
                    Interlocked.Increment(ref _agreed);
                    continue;
                }
                _samples[differing] = _samples[i];
                _questions[differing] = _questions[i];
                _references[differing] = _answers[i];
                _differences[differing] = difference;
                differing++;
            }
            if (differing == 0) return;
            Ask(differing);
            for (int i = 0; i < differing; i++)
            {
                if (AnswerComparison.Compare(_answers[i], _references[i]) != Difference.None)
                {
                    Interlocked.Increment(ref _unstable);
                    continue;
                }
                Interlocked.Increment(ref _different);
                var difference = _differences[i];
                for (int f = 0; f < AnswerComparison.Fields.Length; f++)
                    if ((difference & AnswerComparison.Fields[f]) != 0) Interlocked.Increment(ref _byField[f]);
                _queryLog()?.RecordShadow(_samples[i].Client, _samples[i].Transport, _samples[i].Reply, AnswerComparison.Names(difference),
                    AnswerComparison.Summary(_references[i]));
            }
        }
        finally
        {
            // The pooled buffers go back when this returns: nothing here may point into them.
            Array.Clear(_samples);
            Array.Clear(_ours);
            Array.Clear(_answers);
            Array.Clear(_references);
        }
    }

    /// <summary>The question to mirror and our parsed reply; null for a sample that says nothing about resolution.</summary>
    private static (MirroredQuestion, DnsMessage)? Comparable(SampledReply sample)
    {
        DnsMessage query, ours;
        try
        {
            query = DnsMessage.Parse(sample.Query);
            ours = DnsMessage.Parse(sample.Reply);
        }
        catch (DnsFormatException)
        {
            return null;
        }
        if (query.Questions.Count != 1 || ours.Has(HeaderFlags.TC) || ours.Rcode == Rcode.Refused) return null;
        return (new MirroredQuestion(query.Question, query.Edns?.DnssecOk == true, query.Has(HeaderFlags.CD)), ours);
    }

    /// <summary>Asks the first <paramref name="n"/> questions of the reference into <c>_answers</c>; truncated answers again over TCP.</summary>
    private void Ask(int n)
    {
        _socket.AskAll(_questions.AsSpan(0, n), _answers);
        for (int i = 0; i < n; i++)
            if (_answers[i] is { } answer && answer.Has(HeaderFlags.TC))
            {
                var (question, dnssecOk, cd) = _questions[i];
                // Rare, and on the tap's own thread: blocking here holds up only the next batch.
                _answers[i] = _client.AskAsync(_reference, question, dnssecOk, cd, CancellationToken.None).GetAwaiter().GetResult();
            }
    }

    public async ValueTask DisposeAsync()
    {
        await _tap.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
        _client.Dispose();
    }
}

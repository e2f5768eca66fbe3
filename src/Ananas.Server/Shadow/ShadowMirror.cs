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
/// </summary>
public sealed class ShadowMirror : IAsyncDisposable
{
    private readonly IPEndPoint _reference;
    private readonly ShadowClient _client;
    private readonly Func<QueryLog?> _queryLog;
    private readonly SampledTap _tap;
    private readonly long[] _byField = new long[AnswerComparison.Fields.Length];
    private long _agreed;
    private long _unstable;
    private long _different;
    private long _skipped;

    public ShadowMirror(IPEndPoint reference, double sample, TimeSpan timeout, Func<QueryLog?> queryLog, int capacity = 1024, int concurrency = 16)
    {
        _reference = reference;
        _client = ShadowClient.Create(timeout);
        _queryLog = queryLog;
        _tap = new SampledTap(sample, capacity, concurrency, CompareAsync);
    }

    public SampledTap Tap => _tap;

    public IPEndPoint Reference => _reference;

    public long Agreed => Interlocked.Read(ref _agreed);
    public long Unstable => Interlocked.Read(ref _unstable);
    public long Different => Interlocked.Read(ref _different);
    public long Skipped => Interlocked.Read(ref _skipped);

    public long ByField(Difference field) => Interlocked.Read(ref _byField[Array.IndexOf(AnswerComparison.Fields, field)]);

    private async ValueTask CompareAsync(SampledReply sample)
    {
        DnsMessage query, ours;
        try
        {
            query = DnsMessage.Parse(sample.Query);
            ours = DnsMessage.Parse(sample.Reply);
        }
        catch (DnsFormatException)
        {
            Interlocked.Increment(ref _skipped);
            return;
        }
        if (query.Questions.Count != 1 || ours.Has(HeaderFlags.TC) || ours.Rcode == Rcode.Refused)
        {
            Interlocked.Increment(ref _skipped);
            return;
        }
        var question = query.Question;
        bool dnssecOk = query.Edns?.DnssecOk == true, cd = query.Has(HeaderFlags.CD);
        var reference = await _client.AskAsync(_reference, question, dnssecOk, cd, CancellationToken.None).ConfigureAwait(false);
        var difference = AnswerComparison.Compare(ours, reference);
        if (difference == Difference.None)
        {
            Interlocked.Increment(ref _agreed);
            return;
        }
        var again = await _client.AskAsync(_reference, question, dnssecOk, cd, CancellationToken.None).ConfigureAwait(false);
        if (AnswerComparison.Compare(again, reference) != Difference.None)
        {
            Interlocked.Increment(ref _unstable);
            return;
        }
        Interlocked.Increment(ref _different);
        for (int i = 0; i < AnswerComparison.Fields.Length; i++)
            if ((difference & AnswerComparison.Fields[i]) != 0) Interlocked.Increment(ref _byField[i]);
        _queryLog()?.RecordShadow(sample.Client, sample.Transport, sample.Reply, AnswerComparison.Names(difference), AnswerComparison.Summary(reference));
    }

    public async ValueTask DisposeAsync()
    {
        await _tap.DisposeAsync().ConfigureAwait(false);
        _client.Dispose();
    }
}

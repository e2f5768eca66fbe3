using System.Text;
using Ananas.Dns.Messages;
using Ananas.Server.Frames;

namespace Ananas.Server.Pipeline;

/// <summary>
/// The pipeline's answer-source seam: when one is set, every well-formed query a client may ask goes to it on
/// the listener's thread instead of the answer cache and the recursor (the authoritative role answers from its
/// store in one read). Listeners, frames, the ACL, metrics and the query log stay the pipeline's.
/// </summary>
public interface IAnswerSource
{
    /// <summary>
    /// Writes the reply to <paramref name="query"/> into <paramref name="reply"/>, at most <paramref name="limit"/>
    /// octets (the transport's size limit). Returns its length; 0 drops the query. Never throws for any input.
    /// </summary>
    int Answer(ReadOnlySpan<byte> query, Transport transport, Span<byte> reply, int limit);

    /// <summary>
    /// The same for a query the pipeline has read already (<paramref name="view"/>: what <see cref="QueryReader.TryRead"/>
    /// returned for <paramref name="query"/>, successfully), so that a source need not read it again.
    /// </summary>
    int Answer(ReadOnlySpan<byte> query, in QueryView view, Transport transport, Span<byte> reply, int limit) =>
        Answer(query, transport, reply, limit);

    /// <summary>
    /// Takes a query whose answer is not one message built on the listener's thread (a zone transfer: several
    /// messages, an ACL of its own). True when the source took it: it then ends the frame itself (the sink's Send
    /// or Drop, after detaching it if it answers later). False: <see cref="Answer"/> answers it.
    /// </summary>
    bool TryTakeOver(Frame frame, in QueryShape shape) => false;

    /// <summary>Appends the source's metrics in Prometheus text format.</summary>
    void AppendMetrics(StringBuilder sb);
}

using Ananas.Authoritative.Changes;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Ananas.Authoritative.Sync;

/// <summary>
/// Where in the stream an edge at a given applied sequence resumes. The publisher sends changes in sequence order,
/// so the change sequences along the stream rise (a change published again after the duplicate window repeats
/// only changes already before it): a binary search over stream messages finds the first newer one in a few reads.
/// </summary>
public static class EdgeStreamPosition
{
    /// <summary>The stream sequence of the first message whose change is newer than <paramref name="applied"/>, or one past the last.</summary>
    public static async Task<ulong> FirstAfterAsync(INatsJSStream stream, long applied, CancellationToken cancellationToken)
    {
        await stream.RefreshAsync(cancellationToken).ConfigureAwait(false);
        var state = stream.Info.State;
        ulong low = Math.Max(state.FirstSeq, 1), high = state.LastSeq + 1;
        if (state.Messages == 0) return high;
        while (low < high)
        {
            ulong middle = low + (high - low) / 2;
            long sequence = await ChangeSequenceAsync(stream, middle, state.LastSeq, cancellationToken).ConfigureAwait(false);
            if (sequence > applied) high = middle;
            else low = middle + 1;
        }
        return low;
    }

    /// <summary>
    /// The change sequence at <paramref name="position"/>; a message that is not a change takes that of the next
    /// change (so the consumer is started before it and rejects it), past the last one it counts as newest.
    /// </summary>
    private static async Task<long> ChangeSequenceAsync(INatsJSStream stream, ulong position, ulong last, CancellationToken cancellationToken)
    {
        for (; position <= last; position++)
        {
            var response = await stream.GetAsync(new StreamMsgGetRequest { Seq = position }, cancellationToken).ConfigureAwait(false);
            try
            {
                return EdgeChange.PeekSequence(response.Message.Data);
            }
            catch (InvalidDataException)
            {
            }
        }
        return long.MaxValue;
    }
}

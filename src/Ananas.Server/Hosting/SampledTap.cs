using System.Buffers;
using System.Threading.Channels;
using Ananas.Server.Frames;

namespace Ananas.Server.Hosting;

/// <summary>One sampled query and its reply, in a pooled buffer that is returned once the consumer is done.</summary>
public readonly record struct SampledReply(byte[] Buffer, int QueryLength, int ReplyLength, ClientAddress Client, Transport Transport, bool ByPhase)
{
    public ReadOnlySpan<byte> Query => Buffer.AsSpan(0, QueryLength);

    public ReadOnlySpan<byte> Reply => Buffer.AsSpan(QueryLength, ReplyLength);
}

/// <summary>
/// Takes a random sample of the replies the pipeline sends (on average one in 1/<c>rate</c>) off the query path:
/// the path only decrements a per-thread countdown; a sampled query and its reply are copied into a pooled buffer
/// and queued (bounded; when full the sample is dropped and counted, never waited for). Background consumers
/// handle the samples (the shadow mirror, the console's top names).
/// </summary>
public sealed class SampledTap : IAsyncDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);

    [ThreadStatic]
    private static uint t_random;

    // Each tap its own countdown per thread: taps sharing one would skip each other's samples.
    private readonly ThreadLocal<uint> _countdown = new();
    private readonly uint _spread;
    private readonly Channel<SampledReply> _queue;
    private readonly Task _poller;
    private long _sampled;
    private long _dropped;

    /// <param name="rate">Share of replies taken, (0, 1].</param>
    /// <param name="capacity">Samples waiting before new ones are dropped.</param>
    /// <param name="consumers">Samples handled at once (each awaits its own, e.g. the reference's answer).</param>
    public SampledTap(double rate, int capacity, int consumers, Func<SampledReply, ValueTask> consume)
    {
        if (rate is not (> 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(rate), rate, "a sampling rate is in (0, 1]");
        // Intervals uniform in [1, 2/rate - 1]: their mean is 1/rate.
        _spread = (uint)Math.Max(1, Math.Round(2 / rate) - 1);
        _queue = Channel.CreateBounded<SampledReply>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite: refused when full (counted), never waits
            SingleWriter = false,
            SingleReader = true, // the one poller
        });
        _poller = Task.Run(() => PollAsync(consume, consumers));
    }

    /// <summary>Samples queued so far.</summary>
    public long Sampled => Interlocked.Read(ref _sampled);

    /// <summary>Samples dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Called for every reply sent; copies it only when this reply is in the sample.</summary>
    public void Offer(Frame frame, ReadOnlySpan<byte> reply, bool byPhase)
    {
        uint left = _countdown.Value;
        if (left > 1)
        {
            _countdown.Value = left - 1;
            return;
        }
        _countdown.Value = NextInterval();
        var query = frame.Message;
        var buffer = ArrayPool<byte>.Shared.Rent(query.Length + reply.Length);
        query.CopyTo(buffer);
        reply.CopyTo(buffer.AsSpan(query.Length));
        if (!_queue.Writer.TryWrite(new SampledReply(buffer, query.Length, reply.Length, frame.Address, frame.Transport, byPhase)))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Interlocked.Increment(ref _dropped);
            return;
        }
        Interlocked.Increment(ref _sampled);
    }

    private uint NextInterval()
    {
        // xorshift32 per thread: cheap, and only the spacing of samples depends on it.
        uint x = t_random;
        if (x == 0) x = (uint)Environment.CurrentManagedThreadId * 2654435761u | 1;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        t_random = x;
        return 1 + x % _spread;
    }

    /// <summary>
    /// One loop polls the queue and hands each sample to <paramref name="consume"/>, at most <paramref name="consumers"/>
    /// at once. One poller, not one per consumer: each poll is a timer wake-up, and sixteen pollers every 5 ms cost a
    /// measurable share of a core on an idle or loaded server alike.
    /// </summary>
    private async Task PollAsync(Func<SampledReply, ValueTask> consume, int consumers)
    {
        var reader = _queue.Reader;
        using var slots = new SemaphoreSlim(consumers, consumers);
        // Polled, not awaited: waking a waiting reader would queue a work item (an allocation) on the query's thread.
        while (!reader.Completion.IsCompleted)
        {
            if (!reader.TryPeek(out _)) await Task.Delay(PollInterval).ConfigureAwait(false);
            while (reader.TryPeek(out _))
            {
                await slots.WaitAsync().ConfigureAwait(false);
                if (!reader.TryRead(out var sample))
                {
                    slots.Release();
                    break;
                }
                _ = HandleAsync(consume, sample, slots);
            }
        }
        for (int i = 0; i < consumers; i++) await slots.WaitAsync().ConfigureAwait(false); // the last ones finish
    }

    private static async Task HandleAsync(Func<SampledReply, ValueTask> consume, SampledReply sample, SemaphoreSlim slots)
    {
        try
        {
            await consume(sample).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A sample that cannot be handled (unparseable, the reference unreachable) is skipped.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(sample.Buffer);
            slots.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _poller.ConfigureAwait(false);
    }
}

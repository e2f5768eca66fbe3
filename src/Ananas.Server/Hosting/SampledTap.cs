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

/// <summary>Handles a batch of samples on the tap's own thread; the buffers go back to the pool when it returns.</summary>
public delegate void SampleBatchHandler(ReadOnlySpan<SampledReply> batch);

/// <summary>
/// Takes a random sample of the replies the pipeline sends (on average one in 1/<c>rate</c>) off the query path:
/// an unsampled reply costs one per-thread countdown decrement (no lock, no allocation, no copy); a sampled query
/// and its reply are copied into a pooled buffer and queued (bounded; when full the sample is dropped and counted,
/// never waited for). One background thread of the tap's own hands the queued samples to the consumer in batches
/// (the shadow mirror, the console's top names). It sleeps while the queue is empty and wakes when
/// <see cref="WakeAt"/> samples wait or <see cref="MaxDelay"/> after the first: batches, not a thread hand-off per
/// sample (each hand-off is a few context switches on the query threads' cores; a 5 ms poll, then one wake-up per
/// sample through the thread pool, had doubled the receive thread's CPU per query at 20k q/s, docs/BENCHMARKS.md).
/// </summary>
public sealed class SampledTap : IAsyncDisposable
{
    /// <summary>Samples waiting that wake the tap's thread at once.</summary>
    public const int WakeAt = 32;

    /// <summary>Longest a queued sample waits for a batch to fill.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(200);

    [ThreadStatic]
    private static uint t_random;

    // Each tap its own countdown per thread: taps sharing one would skip each other's samples.
    private readonly ThreadLocal<uint> _countdown = new();
    private readonly uint _spread;
    private readonly Channel<SampledReply> _queue;
    private readonly SampleBatchHandler _consume;
    private readonly SampledReply[] _batch;
    // The thread's wake-up: released only by whoever turns _asleep from 1 to 0, so its count stays 0 or 1.
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _asleep;
    private volatile bool _closing;
    private long _queued;
    private long _sampled;
    private long _dropped;

    /// <param name="rate">Share of replies taken, (0, 1].</param>
    /// <param name="capacity">Samples waiting before new ones are dropped.</param>
    /// <param name="batch">Most samples handed to <paramref name="consume"/> at once.</param>
    public SampledTap(double rate, int capacity, int batch, SampleBatchHandler consume)
    {
        if (rate is not (> 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(rate), rate, "a sampling rate is in (0, 1]");
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        // Intervals uniform in [1, 2/rate - 1]: their mean is 1/rate.
        _spread = (uint)Math.Max(1, Math.Round(2 / rate) - 1);
        _queue = Channel.CreateBounded<SampledReply>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite: refused when full (counted), never waits
            SingleWriter = false,
            SingleReader = true, // the tap's thread
        });
        _consume = consume;
        _batch = new SampledReply[batch];
        new Thread(Dispatch) { IsBackground = true, Name = "ananas-tap" }.Start();
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
        // The first sample of a batch wakes the thread into its timed wait, the WakeAt-th out of it.
        long queued = Interlocked.Increment(ref _queued);
        if (queued <= 1 || queued >= WakeAt) Wake();
    }

    private void Wake()
    {
        if (Volatile.Read(ref _asleep) == 1 && Interlocked.Exchange(ref _asleep, 0) == 1) _wake.Release();
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
    /// The tap's thread: sleeps until a sample is queued, lets a batch gather (up to <see cref="MaxDelay"/>, less when
    /// <see cref="WakeAt"/> are waiting), hands it to the consumer, and again. A blocking wait on a thread of its own,
    /// not an awaited read: waking an awaiting reader would queue a work item (an allocation) on the query's thread.
    /// </summary>
    private void Dispatch()
    {
        var reader = _queue.Reader;
        try
        {
            while (true)
            {
                int n = 0;
                while (n < _batch.Length && reader.TryRead(out var sample)) _batch[n++] = sample;
                if (n > 0)
                {
                    Interlocked.Add(ref _queued, -n);
                    Handle(n);
                    continue;
                }
                if (reader.Completion.IsCompleted) break;
                Sleep(Timeout.InfiniteTimeSpan);
                // Woken by the first sample: the batch gathers unless it is full already (or the tap is closing).
                if (Interlocked.Read(ref _queued) < WakeAt && !_closing) Sleep(MaxDelay);
            }
            _stopped.TrySetResult();
        }
        catch (Exception e)
        {
            _stopped.TrySetException(e);
        }
    }

    private void Sleep(TimeSpan timeout)
    {
        Interlocked.Exchange(ref _asleep, 1);
        // Checked again after saying so: a wake-up due before the flag was seen would otherwise be missed.
        bool due = Interlocked.Read(ref _queued) >= WakeAt || _closing
            || (timeout == Timeout.InfiniteTimeSpan && _queue.Reader.TryPeek(out _));
        if (due && Interlocked.Exchange(ref _asleep, 0) == 1) return;
        if (!_wake.Wait(timeout) && Interlocked.Exchange(ref _asleep, 0) == 0) _wake.Wait(); // a waker took the flag: take its release
    }

    private void Handle(int n)
    {
        try
        {
            _consume(_batch.AsSpan(0, n));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A batch that cannot be handled (the reference unreachable, a consumer's bug) is skipped.
        }
        finally
        {
            for (int i = 0; i < n; i++)
            {
                ArrayPool<byte>.Shared.Return(_batch[i].Buffer);
                _batch[i] = default;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _closing = true;
        if (_queue.Writer.TryComplete()) Wake();
        await _stopped.Task.ConfigureAwait(false);
    }
}

using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Ananas.Cluster.Protocol;
using Microsoft.Extensions.Logging;

namespace Ananas.Cluster;

/// <summary>
/// A question sent on a <see cref="PeerLink"/>, waiting for its outcome. The link calls <see cref="Complete"/> once,
/// on the thread that learns the outcome: the link's reader (answer, refusal, budget or silence, link lost) or the
/// sender itself when the link was lost as it sent.
/// </summary>
internal abstract class PendingQuestion
{
    internal ushort Id;
    internal long Sent;
    /// <summary>The current wait: the budget for an answer or an acknowledgement, then budgets of the owner's silence.</summary>
    internal long WindowStart, WindowEnd;
    /// <summary>The query's own timeout (<see cref="Stopwatch"/> timestamps, as all here).</summary>
    internal long Deadline;
    internal volatile bool Acknowledged;
    internal bool Pinged;

    /// <summary>The owner's answer (its ID the link's), or <paramref name="answered"/> false: resolve here.</summary>
    public abstract void Complete(ReadOnlySpan<byte> answer, bool answered);
}

/// <summary>
/// This node's persistent connection to one peer, run by one thread of its own: it (re)connects and authenticates,
/// carries forwarded questions pipelined (matched by a DNS ID unique on the link), pings every probe interval, and
/// judges the peer's health from both: a peer is healthy while it is connected and was heard from within three probe
/// intervals, and no more than two forwarded questions in a row went unanswered and unacknowledged within the budget.
/// A question is sent on the thread that forwards it; its answer completes it on the link's thread, which also keeps
/// every time limit (its read waits until the next limit falls due): no timer and no other thread per question.
/// </summary>
internal sealed class PeerLink : IAsyncDisposable
{
    private const int MaxSilentTimeouts = 3;

    private enum Outcome { Answered, Unanswered, BudgetTimeout, TimedOut }

    private readonly ClusterOptions _options;
    private readonly ClusterMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<ushort, PendingQuestion> _pending = new();
    /// <summary>The questions in <see cref="_pending"/> (its Count takes every lock of the table; this is read per forward).</summary>
    private int _inFlight;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _budget;
    private volatile PeerChannel? _channel;
    private long _lastHeard;
    private long _lastPing;
    private int _silentTimeouts;
    private int _nextId = Random.Shared.Next(ushort.MaxValue);
    private volatile bool _healthy;

    public PeerLink(string id, IPEndPoint address, ClusterOptions options, ClusterMetrics metrics, ILogger logger)
    {
        Id = id;
        Address = address;
        NodeHash = Rendezvous.HashNode(id);
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _budget = Ticks(options.Budget);
        new Thread(Run) { IsBackground = true, Name = $"ananas-peer-{id}" }.Start();
    }

    public string Id { get; }
    public IPEndPoint Address { get; }
    public ulong NodeHash { get; }

    public bool Healthy => _healthy;

    /// <summary>Forwarded questions awaiting their answer.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>The last ping's round trip, in microseconds (0 before the first).</summary>
    public long RttMicroseconds { get; private set; }

    public string State => _channel is null ? "disconnected" : _healthy ? "healthy" : "unresponsive";

    /// <summary>Raised when <see cref="Healthy"/> changes (the ring is rebuilt).</summary>
    public event Action? HealthChanged;

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>
    /// Sends <paramref name="query"/> to the peer now: true when sent (<paramref name="question"/> is completed later,
    /// at most the budget after unless the peer acknowledges that it is resolving); false when it cannot be (the caller
    /// resolves locally). A question the owner acknowledged is waited for until <paramref name="deadline"/>.
    /// </summary>
    public bool TryForward(ReadOnlySpan<byte> query, ReadOnlySpan<byte> client, PendingQuestion question, long deadline)
    {
        var channel = _channel;
        if (channel is null || !_healthy || InFlight >= _options.MaxInFlightPerPeer || query.Length < 12) return false;
        long now = Stopwatch.GetTimestamp();
        question.Sent = question.WindowStart = now;
        question.WindowEnd = now + _budget;
        question.Deadline = deadline;
        for (int attempt = 0; ; attempt++)
        {
            question.Id = (ushort)Interlocked.Increment(ref _nextId);
            if (_pending.TryAdd(question.Id, question))
            {
                Interlocked.Increment(ref _inFlight);
                break;
            }
            if (attempt > 16) return false;
        }
        var copy = ArrayPool<byte>.Shared.Rent(query.Length);
        query.CopyTo(copy);
        BinaryPrimitives.WriteUInt16BigEndian(copy, question.Id);
        bool sent = channel.TrySend(PeerMessageType.Query, PeerMessageFlags.Forwarded, client, copy.AsSpan(0, query.Length));
        ArrayPool<byte>.Shared.Return(copy);
        if (!sent)
        {
            // Unless the link's loss completed it meanwhile (then it goes on from there: it was taken).
            if (!_pending.TryRemove(new KeyValuePair<ushort, PendingQuestion>(question.Id, question))) return true;
            Interlocked.Decrement(ref _inFlight);
            return false;
        }
        Interlocked.Increment(ref _metrics.Forwarded);
        // The link may have been lost between reading _channel and adding the question: its failing of the
        // pending questions then ran before this one was added, so fail it here rather than wait out the budget.
        if (_channel != channel || channel.IsClosed) Finish(question, Outcome.Unanswered, default);
        return true;
    }

    /// <summary>Completes <paramref name="question"/> unless another thread did: whoever takes it out of the table.</summary>
    private void Finish(PendingQuestion question, Outcome outcome, ReadOnlySpan<byte> answer)
    {
        if (!_pending.TryRemove(new KeyValuePair<ushort, PendingQuestion>(question.Id, question))) return;
        Interlocked.Decrement(ref _inFlight);
        switch (outcome)
        {
            case Outcome.Answered:
                Interlocked.Exchange(ref _silentTimeouts, 0);
                _metrics.ForwardLatency.Observe(question.Sent);
                break;
            case Outcome.Unanswered:
                Interlocked.Increment(ref _metrics.Fallbacks);
                break;
            case Outcome.BudgetTimeout:
                Interlocked.Increment(ref _metrics.BudgetTimeouts);
                if (Interlocked.Increment(ref _silentTimeouts) >= MaxSilentTimeouts) SetHealthy(false, "forwarded questions went unanswered");
                break;
        }
        try
        {
            question.Complete(answer, outcome == Outcome.Answered);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "continuing a question answered by cluster peer {Peer} failed", Id);
        }
    }

    /// <summary>
    /// The time limits of the questions waiting (run by the link's thread when one may have fallen due): the first
    /// budget must bring the answer or the owner's acknowledgement (else a budget timeout); after that each budget in
    /// which the owner was not heard from at all is followed by a ping, and a second silent budget gives the question
    /// up. So a client waits for a paused owner at most three budgets, and for a live one as long as it resolves (until
    /// the query's timeout). Returns when the next limit falls due (at the latest a budget from now: a question sent
    /// meanwhile has a budget to run).
    /// </summary>
    private long Sweep(PeerChannel channel, long now)
    {
        long next = now + _budget;
        foreach (var (_, question) in _pending)
        {
            if (now >= question.Deadline)
            {
                Finish(question, Outcome.TimedOut, default);
                continue;
            }
            if (now >= question.WindowEnd)
            {
                if (!question.Acknowledged)
                {
                    Finish(question, Outcome.BudgetTimeout, default);
                    continue;
                }
                if (Volatile.Read(ref _lastHeard) >= question.WindowStart)
                {
                    question.Pinged = false;
                }
                else if (question.Pinged)
                {
                    Finish(question, Outcome.Unanswered, default);
                    continue;
                }
                else
                {
                    Ping(channel);
                    question.Pinged = true;
                }
                question.WindowStart = now;
                question.WindowEnd = now + _budget;
            }
            next = Math.Min(next, Math.Min(question.WindowEnd, question.Deadline));
        }
        return next;
    }

    /// <summary>A ping now, unless one went out within the last half budget (many waiting questions share it).</summary>
    private void Ping(PeerChannel channel)
    {
        long now = Stopwatch.GetTimestamp();
        long last = Volatile.Read(ref _lastPing);
        if (now - last < _budget / 2 || Interlocked.CompareExchange(ref _lastPing, now, last) != last) return;
        Span<byte> body = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(body, now);
        channel.TrySend(PeerMessageType.Ping, PeerMessageFlags.None, body);
    }

    /// <summary>
    /// The link's thread: connects, serves the connection until it ends, and connects again: at once after a
    /// connection that worked, then after 10 ms, doubling up to the probe interval while attempts fail (a peer still
    /// starting, or restarting, is joined within a few milliseconds of listening rather than a probe interval later).
    /// </summary>
    private void Run()
    {
        int failures = 0;
        while (!_stop.IsCancellationRequested)
        {
            PeerChannel? channel = null;
            long attempted = Stopwatch.GetTimestamp();
            try
            {
                if (PeerWire.Connect(Address, TimeSpan.FromSeconds(1), _stop.Token) is { } socket)
                {
                    var stream = new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                    var (outcome, opened, peerId) = PeerHandshake.Initiate(stream, _options.Secret, _options.NodeId, _options.MaxInFlightPerPeer + 16, TimeSpan.FromSeconds(1));
                    if (outcome != HandshakeOutcome.Accepted)
                    {
                        stream.Dispose();
                        if (outcome == HandshakeOutcome.WrongSecret)
                        {
                            Interlocked.Increment(ref _metrics.RefusedPeers);
                            _logger.LogWarning(ClusterEvents.PeerRefused, "cluster peer {Peer} at {Address} does not hold our secret: not used", Id, Address);
                        }
                    }
                    else if (peerId != Id)
                    {
                        opened!.Dispose();
                        _logger.LogWarning(ClusterEvents.PeerRefused, "cluster peer {Peer} at {Address} says it is {Other}: not used", Id, Address, peerId);
                    }
                    else
                    {
                        channel = opened!;
                        Serve(channel);
                    }
                }
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or ObjectDisposedException)
            {
            }
            finally
            {
                _channel = null;
                FailPending();
                SetHealthy(false, "connection lost");
                channel?.Dispose();
            }
            // A connection that ended within a probe interval of opening counts as a failure (no reconnect spin).
            failures = channel is not null && Stopwatch.GetElapsedTime(attempted) >= _options.ProbeInterval ? 0 : failures + 1;
            if (failures == 0) continue;
            var delay = TimeSpan.FromMilliseconds(Math.Min(_options.ProbeInterval.TotalMilliseconds, 10 << Math.Min(failures - 1, 16)));
            _stop.Token.WaitHandle.WaitOne(delay);
        }
        _ended.TrySetResult();
    }

    /// <summary>
    /// Reads answers, acknowledgements and pongs until the connection ends, and between them keeps the time: the
    /// questions' limits (<see cref="Sweep"/>) and a ping every probe interval, with the peer's health judged before
    /// each (a peer heard from in no way for three intervals is out of the ring, and its questions resolved here).
    /// </summary>
    private void Serve(PeerChannel channel)
    {
        long now = Stopwatch.GetTimestamp();
        Volatile.Write(ref _lastHeard, now);
        Interlocked.Exchange(ref _silentTimeouts, 0);
        _channel = channel;
        SetHealthy(true, "connected");
        long probe = Ticks(_options.ProbeInterval), silence = probe * 3;
        long nextSweep = now + _budget, nextProbe = now;
        bool first = true;
        while (!_stop.IsCancellationRequested)
        {
            now = Stopwatch.GetTimestamp();
            if (now >= nextSweep || now >= nextProbe)
            {
                // What arrived meanwhile counts first: this thread may have been woken late (a loaded machine), and an
                // answer already in the socket is not a budget timeout, nor a peer that fell silent.
                while (channel.Read(0L) is { } arrived) Take(arrived);
                if (channel.IsClosed) return;
                now = Stopwatch.GetTimestamp();
            }
            if (now >= nextSweep) nextSweep = Sweep(channel, now);
            if (now >= nextProbe)
            {
                if (!first)
                {
                    if (now - Volatile.Read(ref _lastHeard) >= silence)
                    {
                        // A paused or hung peer: out of the ring, and questions it acknowledged are resolved here now.
                        SetHealthy(false, "no reply to pings");
                        FailPending();
                    }
                    else if (Volatile.Read(ref _silentTimeouts) < MaxSilentTimeouts) SetHealthy(true, "answering again");
                }
                first = false;
                Ping(channel);
                nextProbe = now + probe;
            }
            if (channel.Read(Math.Min(nextSweep, nextProbe)) is { } message) Take(message);
            else if (channel.IsClosed) return;
        }
    }

    private void Take(PeerMessage message)
    {
        try
        {
            Volatile.Write(ref _lastHeard, Stopwatch.GetTimestamp());
            Receive(message);
        }
        finally
        {
            message.Return();
        }
    }

    private void Receive(PeerMessage message)
    {
        var body = message.Body;
        switch (message.Type)
        {
            case PeerMessageType.Answer when body.Length >= 12:
                if (_pending.TryGetValue(BinaryPrimitives.ReadUInt16BigEndian(body), out var answered)) Finish(answered, Outcome.Answered, body);
                break;
            case PeerMessageType.Working when body.Length == 2:
                if (_pending.TryGetValue(BinaryPrimitives.ReadUInt16BigEndian(body), out var working)) working.Acknowledged = true;
                break;
            case PeerMessageType.Unanswered when body.Length == 2:
                if (_pending.TryGetValue(BinaryPrimitives.ReadUInt16BigEndian(body), out var unanswered)) Finish(unanswered, Outcome.Unanswered, default);
                break;
            case PeerMessageType.Pong when body.Length == 8:
                RttMicroseconds = (long)Stopwatch.GetElapsedTime(BinaryPrimitives.ReadInt64BigEndian(body)).TotalMicroseconds;
                _metrics.PeerRtt.Observe(BinaryPrimitives.ReadInt64BigEndian(body));
                Interlocked.Exchange(ref _silentTimeouts, 0);
                break;
        }
    }

    private void FailPending()
    {
        foreach (var (_, question) in _pending) Finish(question, Outcome.Unanswered, default);
    }

    private void SetHealthy(bool healthy, string reason)
    {
        if (_healthy == healthy) return;
        _healthy = healthy;
        if (!healthy) Interlocked.Increment(ref _metrics.PeerFailures);
        _logger.LogInformation(ClusterEvents.PeerHealth, "cluster peer {Peer} at {Address} is {State}: {Reason}", Id, Address, healthy ? "healthy" : "out of the ring", reason);
        HealthChanged?.Invoke();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _channel?.Close();
        FailPending();
        await _ended.Task.ConfigureAwait(false);
    }
}

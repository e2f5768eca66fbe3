using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ananas.Cluster.Protocol;
using Microsoft.Extensions.Logging;

namespace Ananas.Cluster;

/// <summary>
/// This node's persistent connection to one peer: it (re)connects and authenticates, carries forwarded questions
/// pipelined (matched by a DNS ID unique on the link), pings every probe interval, and judges the peer's health from
/// both: a peer is healthy while it is connected and was heard from within three probe intervals, and no more than
/// two forwarded questions in a row went unanswered and unacknowledged within the budget.
/// </summary>
internal sealed class PeerLink : IAsyncDisposable
{
    private const int MaxSilentTimeouts = 3;

    private readonly ClusterOptions _options;
    private readonly ClusterMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<ushort, Pending> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
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
        _loop = Task.Run(ConnectLoopAsync);
    }

    public string Id { get; }
    public IPEndPoint Address { get; }
    public ulong NodeHash { get; }

    public bool Healthy => _healthy;

    /// <summary>Forwarded questions awaiting their answer.</summary>
    public int InFlight => _pending.Count;

    /// <summary>The last ping's round trip, in microseconds (0 before the first).</summary>
    public long RttMicroseconds { get; private set; }

    public string State => _channel is null ? "disconnected" : _healthy ? "healthy" : "unresponsive";

    /// <summary>Raised when <see cref="Healthy"/> changes (the ring is rebuilt).</summary>
    public event Action? HealthChanged;

    /// <summary>
    /// A question awaiting its answer. Its waiter continues on the thread that completes it (the link's reader, with
    /// the answer): the rest of the query — cache store, reply — is short, and a hand-off to the thread pool here was
    /// one more wake-up on every forwarded answer.
    /// </summary>
    private sealed class Pending() : TaskCompletionSource<byte[]?>(TaskCreationOptions.None)
    {
        public volatile bool Acknowledged;
    }

    /// <summary>
    /// Sends <paramref name="query"/> to the peer and waits for its answer: at most the budget unless the peer
    /// acknowledges that it is resolving. Null when the answer cannot be had (the caller resolves locally).
    /// </summary>
    public async ValueTask<byte[]?> ForwardAsync(ReadOnlyMemory<byte> query, ReadOnlyMemory<byte> client, CancellationToken cancellationToken)
    {
        var channel = _channel;
        if (channel is null || !_healthy || _pending.Count >= _options.MaxInFlightPerPeer || query.Length < 12) return null;
        ushort id = 0;
        var pending = new Pending();
        for (int attempt = 0; ; attempt++)
        {
            id = (ushort)Interlocked.Increment(ref _nextId);
            if (_pending.TryAdd(id, pending)) break;
            if (attempt > 16) return null;
        }
        var copy = query.ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(copy, id);
        long started = Stopwatch.GetTimestamp();
        if (!channel.TrySend(PeerMessageType.Query, PeerMessageFlags.Forwarded, client.Span, copy))
        {
            _pending.TryRemove(id, out _);
            return null;
        }
        Interlocked.Increment(ref _metrics.Forwarded);
        // The link may have been lost between reading _channel and adding the question: its failing of the
        // pending questions then ran before this one was added, so fail it here rather than wait out the budget.
        if (_channel != channel || channel.Closed.IsCancellationRequested) pending.TrySetResult(null);
        try
        {
            var answer = await WaitAsync(pending, channel, cancellationToken).ConfigureAwait(false);
            if (answer is null)
            {
                Interlocked.Increment(ref _metrics.Fallbacks);
                return null;
            }
            Interlocked.Exchange(ref _silentTimeouts, 0);
            _metrics.ForwardLatency.Observe(started);
            return answer;
        }
        catch (TimeoutException)
        {
            Interlocked.Increment(ref _metrics.BudgetTimeouts);
            if (Interlocked.Increment(ref _silentTimeouts) >= MaxSilentTimeouts) SetHealthy(false, "forwarded questions went unanswered");
            return null;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// The answer, waiting a budget at a time: the first budget must bring the answer or the owner's acknowledgement
    /// (else <see cref="TimeoutException"/>); after that each budget in which the owner was not heard from at all is
    /// followed by a ping, and a second silent budget gives the question up (null). So a client waits for a paused
    /// owner at most three budgets, and for a live one as long as it resolves.
    /// </summary>
    private async ValueTask<byte[]?> WaitAsync(Pending pending, PeerChannel channel, CancellationToken cancellationToken)
    {
        bool pinged = false;
        while (true)
        {
            long windowStart = Stopwatch.GetTimestamp();
            try
            {
                return await pending.Task.WaitAsync(_options.Budget, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException) when (pending.Acknowledged)
            {
                if (Volatile.Read(ref _lastHeard) >= windowStart)
                {
                    pinged = false;
                    continue;
                }
                if (pinged) return null;
                Ping(channel);
                pinged = true;
            }
        }
    }

    /// <summary>A ping now, unless one went out within the last half budget (many waiting questions share it).</summary>
    private void Ping(PeerChannel channel)
    {
        long now = Stopwatch.GetTimestamp();
        long last = Volatile.Read(ref _lastPing);
        if (Stopwatch.GetElapsedTime(last, now) < _options.Budget / 2 || Interlocked.CompareExchange(ref _lastPing, now, last) != last) return;
        Span<byte> body = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(body, now);
        channel.TrySend(PeerMessageType.Ping, PeerMessageFlags.None, body);
    }

    /// <summary>
    /// Connects, serves the connection until it ends, and connects again: at once after a connection that worked,
    /// then after 10 ms, doubling up to the probe interval while attempts fail (a peer still starting, or restarting,
    /// is joined within a few milliseconds of listening rather than a probe interval later).
    /// </summary>
    private async Task ConnectLoopAsync()
    {
        int failures = 0;
        while (!_stop.IsCancellationRequested)
        {
            PeerChannel? channel = null;
            long attempted = Stopwatch.GetTimestamp();
            try
            {
                var socket = new Socket(Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                using (var connect = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
                {
                    connect.CancelAfter(TimeSpan.FromSeconds(1));
                    try
                    {
                        await socket.ConnectAsync(Address, connect.Token).ConfigureAwait(false);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                }
                var stream = new NetworkStream(socket, ownsSocket: true);
                var (outcome, opened, peerId) = await PeerHandshake.InitiateAsync(stream, _options.Secret, _options.NodeId, _options.MaxInFlightPerPeer + 16, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                if (outcome != HandshakeOutcome.Accepted)
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                    if (outcome == HandshakeOutcome.WrongSecret)
                    {
                        Interlocked.Increment(ref _metrics.RefusedPeers);
                        _logger.LogWarning(ClusterEvents.PeerRefused, "cluster peer {Peer} at {Address} does not hold our secret: not used", Id, Address);
                    }
                }
                else if (peerId != Id)
                {
                    await opened!.DisposeAsync().ConfigureAwait(false);
                    _logger.LogWarning(ClusterEvents.PeerRefused, "cluster peer {Peer} at {Address} says it is {Other}: not used", Id, Address, peerId);
                }
                else
                {
                    channel = opened!;
                    await ServeAsync(channel).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
            }
            finally
            {
                _channel = null;
                FailPending();
                SetHealthy(false, "connection lost");
                if (channel is not null) await channel.DisposeAsync().ConfigureAwait(false);
            }
            // A connection that ended within a probe interval of opening counts as a failure (no reconnect spin).
            failures = channel is not null && Stopwatch.GetElapsedTime(attempted) >= _options.ProbeInterval ? 0 : failures + 1;
            if (failures == 0) continue;
            var delay = TimeSpan.FromMilliseconds(Math.Min(_options.ProbeInterval.TotalMilliseconds, 10 << Math.Min(failures - 1, 16)));
            try
            {
                await Task.Delay(delay, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>Reads answers, acknowledgements and pongs until the connection ends; pings run beside it.</summary>
    private async Task ServeAsync(PeerChannel channel)
    {
        Volatile.Write(ref _lastHeard, Stopwatch.GetTimestamp());
        Interlocked.Exchange(ref _silentTimeouts, 0);
        _channel = channel;
        SetHealthy(true, "connected");
        using var pings = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, channel.Closed);
        var pinger = PingLoopAsync(channel, pings.Token);
        try
        {
            while (await channel.ReadAsync(_stop.Token).ConfigureAwait(false) is { } message)
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
        }
        finally
        {
            await pings.CancelAsync().ConfigureAwait(false);
            await pinger.ConfigureAwait(false);
        }
    }

    private void Receive(PeerMessage message)
    {
        var body = message.Body;
        switch (message.Type)
        {
            case PeerMessageType.Answer when body.Length >= 12:
                if (_pending.TryRemove(BinaryPrimitives.ReadUInt16BigEndian(body), out var answered)) answered.TrySetResult(body.ToArray());
                break;
            case PeerMessageType.Working when body.Length == 2:
                if (_pending.TryGetValue(BinaryPrimitives.ReadUInt16BigEndian(body), out var working)) working.Acknowledged = true;
                break;
            case PeerMessageType.Unanswered when body.Length == 2:
                if (_pending.TryRemove(BinaryPrimitives.ReadUInt16BigEndian(body), out var unanswered)) unanswered.TrySetResult(null);
                break;
            case PeerMessageType.Pong when body.Length == 8:
                RttMicroseconds = (long)Stopwatch.GetElapsedTime(BinaryPrimitives.ReadInt64BigEndian(body)).TotalMicroseconds;
                _metrics.PeerRtt.Observe(BinaryPrimitives.ReadInt64BigEndian(body));
                Interlocked.Exchange(ref _silentTimeouts, 0);
                break;
        }
    }

    private async Task PingLoopAsync(PeerChannel channel, CancellationToken cancellationToken)
    {
        var silence = _options.ProbeInterval * 3;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                Ping(channel);
                await Task.Delay(_options.ProbeInterval, cancellationToken).ConfigureAwait(false);
                bool heard = Stopwatch.GetElapsedTime(Volatile.Read(ref _lastHeard)) < silence;
                if (!heard)
                {
                    // A paused or hung peer: out of the ring, and questions it acknowledged are resolved here now.
                    SetHealthy(false, "no reply to pings");
                    FailPending();
                }
                else if (Volatile.Read(ref _silentTimeouts) < MaxSilentTimeouts) SetHealthy(true, "answering again");
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void FailPending()
    {
        foreach (var pending in _pending.Values) pending.TrySetResult(null);
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
        await _loop.ConfigureAwait(false);
    }
}

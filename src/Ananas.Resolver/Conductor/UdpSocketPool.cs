using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Ananas.Resolver.Conductor;

/// <summary>
/// Upstream UDP sockets, each bound to a random port and connected to one server, kept between exchanges with that
/// same server so that an exchange does not pay for creating, binding, registering with epoll and closing a socket
/// (about a seventh of the CPU of a cold query when every exchange had a socket of its own).
/// <para>
/// Why per server and not one shared pool: a port used to ask a server is seen by that server. If any socket could
/// carry the next query to any server, an attacker could ask the resolver for a name in its own zone, read the
/// source ports off its own server, and know the ports the next queries to a victim server leave from. A socket
/// here only ever talks to the one server it is connected to, so its port is known to that server alone (and the
/// kernel delivers nothing from any other address or port). Exposure is bounded: a socket is closed after
/// <see cref="ConductorOptions.UdpSocketUses"/> exchanges or <see cref="ConductorOptions.UdpSocketLifetime"/>,
/// whichever comes first, and new sockets take new random ports; a socket whose exchange did not end in a clean
/// answer (timeout, error, anything left unread) is closed at once, and one that received anything while idle is
/// closed when next rented, so no late or planted datagram meets the next query.
/// One exchange at a time per socket: IDs stay random per query, and concurrent exchanges never share a socket.
/// </para>
/// </summary>
internal sealed class UdpSocketPool : IDisposable
{
    private readonly ConcurrentDictionary<IPEndPoint, IdleSockets> _idle = new();
    private readonly int _maxUses;
    private readonly long _lifetimeTicks; // Stopwatch ticks
    private readonly int _maxIdlePerServer;
    private readonly int _maxIdle;
    private readonly Timer _sweeper;
    private int _idleCount;
    private long _opened;
    private volatile bool _disposed;

    public UdpSocketPool(ConductorOptions options)
    {
        _maxUses = Math.Max(1, options.UdpSocketUses);
        _lifetimeTicks = (long)(options.UdpSocketLifetime.TotalSeconds * Stopwatch.Frequency);
        _maxIdlePerServer = Math.Max(0, options.MaxIdleUdpSocketsPerServer);
        _maxIdle = Math.Max(0, options.MaxIdleUdpSockets);
        var period = TimeSpan.FromTicks(Math.Clamp(options.UdpSocketLifetime.Ticks / 2, TimeSpan.TicksPerMillisecond * 100, TimeSpan.TicksPerSecond));
        _sweeper = new Timer(static state => ((UdpSocketPool)state!).CloseExpired(), this, period, period);
    }

    /// <summary>Idle sockets kept now (for tests and status).</summary>
    public int IdleCount => Volatile.Read(ref _idleCount);

    /// <summary>Sockets opened since the start (for tests and status).</summary>
    public long Opened => Interlocked.Read(ref _opened);

    /// <summary>
    /// A socket connected to <paramref name="server"/> for one exchange: an idle one that still has uses and time
    /// left, else a new one on a random port. Throws <see cref="SocketException"/> if no socket can be opened.
    /// </summary>
    public UdpLease Rent(IPEndPoint server)
    {
        long now = Stopwatch.GetTimestamp();
        if (_idle.TryGetValue(server, out var idle))
        {
            while (idle.TryPop(out var lease))
            {
                Interlocked.Decrement(ref _idleCount);
                // Anything that came while it was idle answers no query of ours: a forgery planted for the next one
                // (whoever sent it knows the port). Closed unread, so the next exchange reads only its own answer.
                if (now - lease.OpenedAt < _lifetimeTicks && IsDrained(lease.Socket))
                {
                    lease.Uses++;
                    return lease;
                }
                lease.Socket.Dispose();
            }
        }
        return Open(server, now);
    }

    /// <summary>
    /// Ends an exchange. <paramref name="clean"/>: it ended with its answer read and nothing else outstanding, so the
    /// socket may carry another exchange; otherwise (timeout, error, a datagram it did not accept) it is closed.
    /// </summary>
    public void Return(UdpLease lease, bool clean)
    {
        // Whether a datagram waits on it is checked when it is taken again (Rent), the moment that matters: one
        // system call per exchange, not two.
        if (!clean || _disposed || lease.Uses >= _maxUses || Stopwatch.GetTimestamp() - lease.OpenedAt >= _lifetimeTicks)
        {
            lease.Socket.Dispose();
            return;
        }
        if (Interlocked.Increment(ref _idleCount) > _maxIdle)
        {
            Interlocked.Decrement(ref _idleCount);
            lease.Socket.Dispose();
            return;
        }
        while (true)
        {
            var idle = _idle.GetOrAdd(lease.Server, static _ => new IdleSockets());
            switch (idle.TryPush(lease, _maxIdlePerServer))
            {
                case IdleSockets.Push.Kept:
                    if (_disposed) Interlocked.Add(ref _idleCount, -idle.CloseAll()); // raced with Dispose
                    return;
                case IdleSockets.Push.Full:
                    Interlocked.Decrement(ref _idleCount);
                    lease.Socket.Dispose();
                    return;
                default:
                    // The sweeper (or Dispose) retired that list just now: drop it and take a fresh one.
                    _idle.TryRemove(new KeyValuePair<IPEndPoint, IdleSockets>(lease.Server, idle));
                    if (!_disposed) continue;
                    Interlocked.Decrement(ref _idleCount);
                    lease.Socket.Dispose();
                    return;
            }
        }
    }

    /// <summary>Nothing waiting to be read: a leftover datagram (a duplicate, a forgery) would meet the next query.</summary>
    private static bool IsDrained(Socket socket)
    {
        try
        {
            return socket.Available == 0;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    private UdpLease Open(IPEndPoint server, long now)
    {
        var socket = UpstreamUdpSocket.Open(server);
        Interlocked.Increment(ref _opened);
        return new UdpLease(socket, server, now);
    }

    /// <summary>The timer's sweep: closes idle sockets past their lifetime and drops servers with none left.</summary>
    private void CloseExpired()
    {
        long now = Stopwatch.GetTimestamp();
        foreach (var (server, idle) in _idle)
        {
            int closed = idle.CloseExpired(now, _lifetimeTicks, out bool retired);
            if (closed > 0) Interlocked.Add(ref _idleCount, -closed);
            if (retired) _idle.TryRemove(new KeyValuePair<IPEndPoint, IdleSockets>(server, idle));
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _sweeper.Dispose();
        foreach (var (server, idle) in _idle)
        {
            Interlocked.Add(ref _idleCount, -idle.CloseAll());
            _idle.TryRemove(new KeyValuePair<IPEndPoint, IdleSockets>(server, idle));
        }
    }

    /// <summary>
    /// One server's idle sockets, most recently used on top (so the rest age out and are closed by the sweep).
    /// Once retired (emptied by the sweep and removed from the pool) it takes no more sockets.
    /// </summary>
    private sealed class IdleSockets
    {
        private readonly List<UdpLease> _sockets = [];
        private bool _retired;

        public enum Push : byte
        {
            Kept,
            Full,
            Retired,
        }

        public Push TryPush(UdpLease lease, int max)
        {
            lock (_sockets)
            {
                if (_retired) return Push.Retired;
                if (_sockets.Count >= max) return Push.Full;
                _sockets.Add(lease);
                return Push.Kept;
            }
        }

        public bool TryPop(out UdpLease lease)
        {
            lock (_sockets)
            {
                int last = _sockets.Count - 1;
                if (last < 0)
                {
                    lease = null!;
                    return false;
                }
                lease = _sockets[last];
                _sockets.RemoveAt(last);
                return true;
            }
        }

        /// <summary>Closes sockets past their lifetime; retires the list if none is left.</summary>
        public int CloseExpired(long now, long lifetime, out bool retired)
        {
            lock (_sockets)
            {
                int kept = 0;
                for (int i = 0; i < _sockets.Count; i++)
                {
                    var lease = _sockets[i];
                    if (now - lease.OpenedAt >= lifetime) lease.Socket.Dispose();
                    else _sockets[kept++] = lease;
                }
                int closed = _sockets.Count - kept;
                _sockets.RemoveRange(kept, closed);
                retired = _retired = _sockets.Count == 0;
                return closed;
            }
        }

        public int CloseAll()
        {
            lock (_sockets)
            {
                foreach (var lease in _sockets) lease.Socket.Dispose();
                int closed = _sockets.Count;
                _sockets.Clear();
                _retired = true;
                return closed;
            }
        }
    }
}

/// <summary>A pooled upstream UDP socket, connected to <see cref="Server"/>, held by one exchange at a time.</summary>
internal sealed class UdpLease(Socket socket, IPEndPoint server, long openedAt)
{
    public Socket Socket { get; } = socket;

    public IPEndPoint Server { get; } = server;

    /// <summary>The server's address in the socket layer's form, to check each datagram's source without allocating.</summary>
    public SocketAddress ServerAddress { get; } = server.Serialize();

    /// <summary>Where a receive writes the sender's address (one exchange at a time uses it).</summary>
    public SocketAddress ReceivedFrom { get; } = new(server.AddressFamily, server.Serialize().Size);

    /// <summary>When it was opened (<see cref="Stopwatch"/> ticks).</summary>
    public long OpenedAt { get; } = openedAt;

    /// <summary>Exchanges it has carried, the current one included.</summary>
    public int Uses { get; set; } = 1;
}

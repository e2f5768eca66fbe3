using System.Diagnostics;
using System.Net;

namespace Ananas.Resolver.Conductor;

/// <summary>
/// The open TCP and TLS connections, per server (and TLS name): a query goes on the least loaded open
/// connection while it has fewer than <see cref="ConductorOptions.MaxQueriesPerConnection"/> outstanding, else on
/// a new one, up to <see cref="ConductorOptions.MaxConnectionsPerServer"/> (then on the least loaded anyway).
/// A timer closes connections idle for <see cref="ConductorOptions.IdleTimeout"/>.
/// </summary>
internal sealed class StreamConnectionPool : IDisposable
{
    private readonly ConductorOptions _options;
    private readonly ConductorMetrics _metrics;
    private readonly Dictionary<(IPEndPoint Server, string? TlsName), List<StreamConnection>> _connections = new();
    private readonly Timer _sweeper;

    public StreamConnectionPool(ConductorOptions options, ConductorMetrics metrics)
    {
        _options = options;
        _metrics = metrics;
        var period = TimeSpan.FromTicks(Math.Max(options.IdleTimeout.Ticks / 2, TimeSpan.TicksPerMillisecond * 100));
        _sweeper = new Timer(static state => ((StreamConnectionPool)state!).CloseIdle(), this, period, period);
    }

    /// <summary>Open connections (for tests and status).</summary>
    public int Count
    {
        get
        {
            lock (_connections)
            {
                int n = 0;
                foreach (var list in _connections.Values)
                    foreach (var c in list)
                        if (!c.IsClosed) n++;
                return n;
            }
        }
    }

    /// <summary>A connection with a query slot reserved on it (its <see cref="StreamConnection.Outstanding"/> counted).</summary>
    public StreamConnection Acquire(IPEndPoint server, string? tlsName, bool fresh = false)
    {
        lock (_connections)
        {
            var key = (server, tlsName);
            if (!_connections.TryGetValue(key, out var list)) _connections[key] = list = [];
            list.RemoveAll(static c => c.IsClosed);
            StreamConnection? best = null;
            if (!fresh)
            {
                foreach (var c in list)
                    if (best is null || c.Outstanding < best.Outstanding) best = c;
            }
            // A fresh connection (a retry after a reused one broke) is always opened.
            if (best is null || (best.Outstanding >= _options.MaxQueriesPerConnection && list.Count < _options.MaxConnectionsPerServer))
            {
                best = new StreamConnection(server, tlsName, _options, _metrics);
                list.Add(best);
            }
            Interlocked.Increment(ref best.Outstanding);
            return best;
        }
    }

    private void CloseIdle()
    {
        long now = Stopwatch.GetTimestamp();
        List<StreamConnection>? idle = null;
        lock (_connections)
        {
            List<(IPEndPoint, string?)>? empty = null;
            foreach (var (key, list) in _connections)
            {
                for (int i = list.Count - 1; i >= 0; i--)
                {
                    var c = list[i];
                    if (c.IsClosed) { list.RemoveAt(i); continue; }
                    if (Volatile.Read(ref c.Outstanding) == 0 && Stopwatch.GetElapsedTime(Volatile.Read(ref c.LastActivity), now) >= _options.IdleTimeout)
                    {
                        (idle ??= []).Add(c);
                        list.RemoveAt(i);
                    }
                }
                if (list.Count == 0) (empty ??= []).Add(key);
            }
            if (empty is not null) foreach (var key in empty) _connections.Remove(key);
        }
        if (idle is not null) foreach (var c in idle) c.Close();
    }

    public void Dispose()
    {
        _sweeper.Dispose();
        List<StreamConnection> all = [];
        lock (_connections)
        {
            foreach (var list in _connections.Values) all.AddRange(list);
            _connections.Clear();
        }
        foreach (var c in all) c.Close();
    }
}

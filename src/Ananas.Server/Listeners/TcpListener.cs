using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Ananas.Server.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Server.Listeners;

/// <summary>TCP listener settings (RFC 7766 §6 bounds).</summary>
public sealed record TcpListenerOptions
{
    /// <summary>A connection with no query outstanding and nothing received for this long is closed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Open connections, all clients together.</summary>
    public int MaxConnections { get; init; } = 1024;

    /// <summary>Open connections from one client address.</summary>
    public int MaxConnectionsPerClient { get; init; } = 32;

    /// <summary>Queries read from one connection and not yet answered; reading pauses at this bound.</summary>
    public int MaxOutstandingPerConnection { get; init; } = 64;

    /// <summary>Answer bytes queued for one connection and not yet written; reading pauses at this bound (a client that does not read).</summary>
    public long MaxQueuedBytesPerConnection { get; init; } = 256 << 10;

    public int Backlog { get; init; } = 512;
}

/// <summary>
/// DNS over TCP (RFC 1035 §4.2.2, RFC 7766): two-octet length framing, pipelined queries answered as they
/// complete (out of order), an idle timeout, connection limits overall and per client, and a bound on the
/// queries outstanding per connection. A connection's end cancels its unanswered recursions.
/// </summary>
public sealed class TcpListener : IListener
{
    private readonly IPEndPoint _requested;
    private readonly QueryPipeline _pipeline;
    private readonly TcpListenerOptions _options;
    private readonly ILogger _logger;
    private readonly SslServerAuthenticationOptions? _tls;
    private readonly ProxyOptions? _proxy;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, int> _perClient = [];
    private readonly HashSet<TcpConnection> _connections = [];
    private Socket? _socket;
    private Task _acceptLoop = Task.CompletedTask;

    /// <param name="tls">DNS over TLS (RFC 7858) when given: each connection is a TLS session carrying the same framing.</param>
    /// <param name="proxy">
    /// PROXY protocol v2 when given: connections come only from its trusted sources and start with the header, whose
    /// client address the queries carry. The per-client connection limit is then not applied (every connection
    /// comes from a proxy); the overall one is.
    /// </param>
    public TcpListener(IPEndPoint endPoint, QueryPipeline pipeline, TcpListenerOptions? options = null, ILogger? logger = null,
        SslServerAuthenticationOptions? tls = null, ProxyOptions? proxy = null)
    {
        _tls = tls;
        _proxy = proxy;
        _requested = endPoint;
        _pipeline = pipeline;
        _options = options ?? new TcpListenerOptions();
        _logger = logger ?? NullLogger.Instance;
        LocalEndPoint = endPoint;
    }

    public IPEndPoint LocalEndPoint { get; private set; }

    public string Address => $"{(_tls is null ? "tcp" : "tls")}://{ListenerBindException.Format(LocalEndPoint)}{(_proxy is null ? "" : "?proxy=v2")}";

    /// <summary>Connections open now.</summary>
    public int ConnectionCount
    {
        get { lock (_lock) return _connections.Count; }
    }

    /// <summary>Answer bytes queued on all connections and not yet written.</summary>
    public long QueuedBytes
    {
        get
        {
            long sum = 0;
            lock (_lock)
                foreach (var connection in _connections) sum += connection.QueuedBytes;
            return sum;
        }
    }

    public void Start()
    {
        var socket = new Socket(_requested.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (_requested.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = false;
            // Restarting must not wait for TIME_WAIT connections of the previous process.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(_requested);
            socket.Listen(_options.Backlog);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw ListenerBindException.From(_tls is null ? "tcp" : "tls", _requested, e);
        }
        _socket = socket;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    private async Task AcceptLoopAsync()
    {
        var socket = _socket!;
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await socket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // e.g. too many open files: back off briefly rather than spin.
                _logger.LogWarning(ServerEvents.ConnectionRejected, "accept on {Address} failed: {Error}", Address, e.SocketErrorCode);
                await Task.Delay(50).ConfigureAwait(false);
                continue;
            }
            var remote = (IPEndPoint)client.RemoteEndPoint!;
            if (_proxy is not null && !_proxy.Trusts(remote))
            {
                _logger.LogDebug(ServerEvents.ConnectionRejected, "connection from {Client} refused: not a trusted PROXY source (proxy.trusted-sources)", remote);
                client.Dispose();
                continue;
            }
            TcpConnection? connection = null;
            lock (_lock)
            {
                _perClient.TryGetValue(remote.Address, out int fromClient);
                if (_connections.Count < _options.MaxConnections && (_proxy is not null || fromClient < _options.MaxConnectionsPerClient))
                {
                    _perClient[remote.Address] = fromClient + 1;
                    connection = new TcpConnection(client, remote, _pipeline, _options, _stopping.Token, _logger, _tls, _proxy);
                    _connections.Add(connection);
                }
            }
            if (connection is null)
            {
                _logger.LogDebug(ServerEvents.ConnectionRejected, "TCP connection from {Client} refused: connection limit", remote);
                client.Dispose();
                continue;
            }
            _ = RunAsync(connection);
        }
    }

    private async Task RunAsync(TcpConnection connection)
    {
        try
        {
            await connection.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            lock (_lock)
            {
                _connections.Remove(connection);
                var address = connection.Remote.Address;
                if (_perClient.TryGetValue(address, out int n))
                {
                    if (n <= 1) _perClient.Remove(address);
                    else _perClient[address] = n - 1;
                }
            }
        }
    }

    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        _socket?.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        TcpConnection[] open;
        lock (_lock) open = [.. _connections];
        // Connections stop reading, answer what they hold (bounded by the pipeline's deadline), then close.
        await Task.WhenAll(open.Select(c => c.Completion)).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync().ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        _socket?.Dispose();
    }
}

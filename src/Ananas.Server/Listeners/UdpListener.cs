using System.Net;
using System.Net.Sockets;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Server.Listeners;

/// <summary>UDP listener settings.</summary>
public sealed record UdpListenerOptions
{
    /// <summary>Sockets bound to the address; more than one uses SO_REUSEPORT (Linux) so the kernel spreads packets.</summary>
    public int Sockets { get; init; } = 1;

    /// <summary>Receive threads per socket.</summary>
    public int ThreadsPerSocket { get; init; } = 2;

    /// <summary>Socket buffer sizes (0 keeps the system's).</summary>
    public int ReceiveBufferBytes { get; init; } = 4 * 1024 * 1024;

    public int SendBufferBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// Datagrams per recvmmsg/sendmmsg call on Linux (<see cref="UdpBatchReceiveLoop"/>); 1 receives and sends one
    /// datagram per call (<see cref="SynchronousReceiveLoop"/>), as other systems always do.
    /// </summary>
    public int BatchSize { get; init; } = 32;
}

/// <summary>
/// DNS over UDP (RFC 1035 §4.2.1): dedicated receive threads per socket, each running an
/// <see cref="IDatagramReceiveLoop"/> that hands frames to the pipeline: on Linux a recvmmsg/sendmmsg batch
/// (<see cref="UdpBatchReceiveLoop"/>), else one <c>ReceiveFrom</c> per datagram. Replies the batch does not
/// carry (misses, answered later) go out with a synchronous <c>SendTo</c> to the client's
/// <see cref="SocketAddress"/> (no allocation). Replies are limited to the client's EDNS payload size (512
/// without EDNS) and our own maximum.
/// </summary>
public sealed class UdpListener : IListener
{
    private const int SolSocket = 1;
    private const int SoReusePort = 15;

    private readonly IPEndPoint _requested;
    private readonly QueryPipeline _pipeline;
    private readonly UdpListenerOptions _options;
    private readonly IDatagramReceiveLoop _loop;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Socket> _sockets = [];
    private readonly List<Thread> _threads = [];

    public UdpListener(IPEndPoint endPoint, QueryPipeline pipeline, UdpListenerOptions? options = null, IDatagramReceiveLoop? loop = null, ILogger? logger = null)
    {
        _requested = endPoint;
        _pipeline = pipeline;
        _options = options ?? new UdpListenerOptions();
        _logger = logger ?? NullLogger.Instance;
        _loop = loop ?? (_options.BatchSize > 1 && OperatingSystem.IsLinux() ? new UdpBatchReceiveLoop(_options.BatchSize, _logger) : SynchronousReceiveLoop.Instance);
        LocalEndPoint = endPoint;
    }

    public IPEndPoint LocalEndPoint { get; private set; }

    public string Address => $"udp://{ListenerBindException.Format(LocalEndPoint)}";

    public void Start()
    {
        int count = Math.Max(1, _options.Sockets);
        var endPoint = _requested;
        for (int i = 0; i < count; i++)
        {
            var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                if (endPoint.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = false;
                if (count > 1 && OperatingSystem.IsLinux()) socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
                if (_options.ReceiveBufferBytes > 0) socket.ReceiveBufferSize = _options.ReceiveBufferBytes;
                if (_options.SendBufferBytes > 0) socket.SendBufferSize = _options.SendBufferBytes;
                socket.ReceiveTimeout = 1000; // wake idle threads to notice shutdown
                socket.Bind(endPoint);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                foreach (var s in _sockets) s.Dispose();
                _sockets.Clear();
                throw ListenerBindException.From("udp", endPoint, e);
            }
            // Port 0: the first socket picks the port; the others join it.
            endPoint = (IPEndPoint)socket.LocalEndPoint!;
            _sockets.Add(socket);
        }
        LocalEndPoint = endPoint;

        // More receive threads than cores the process may run on (its affinity) only add context switches: measured
        // on one core, two threads cost 6 µs more CPU per answer than one (docs/BENCHMARKS.md, authoritative).
        int threads = Math.Clamp(_options.ThreadsPerSocket, 1, Environment.ProcessorCount);
        foreach (var socket in _sockets)
        {
            var sink = new UdpReplySink(socket, _pipeline.Options.MaxUdpPayload, _logger);
            for (int t = 0; t < threads; t++)
            {
                var thread = new Thread(() => _loop.Run(socket, sink, _pipeline, _stopping.Token))
                {
                    IsBackground = true,
                    Name = $"ananas-udp-{LocalEndPoint.Port}-{_threads.Count}",
                };
                _threads.Add(thread);
                thread.Start();
            }
        }
    }

    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.Run(() =>
        {
            foreach (var thread in _threads) thread.Join(TimeSpan.FromSeconds(2));
        }).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        foreach (var socket in _sockets) socket.Dispose();
    }

    /// <summary>Sends replies from the socket the query came in on (so the source address matches).</summary>
    internal sealed class UdpReplySink(Socket socket, int maxPayload, ILogger logger) : IReplySink
    {
        public CancellationToken ClientGone => CancellationToken.None;

        public int MaxReplySize(int clientUdpPayload) => QueryPipeline.UdpLimit(clientUdpPayload, maxPayload);

        public void Send(Frame frame, ReadOnlySpan<byte> reply)
        {
            try
            {
                socket.SendTo(reply, SocketFlags.None, frame.Peer!);
            }
            catch (SocketException e)
            {
                logger.LogDebug(ServerEvents.SendFailed, "UDP reply to {Client} failed: {Error}", frame.ClientEndPoint, e.SocketErrorCode);
            }
            catch (ObjectDisposedException)
            {
                // Shutting down.
            }
        }

        public void Drop(Frame frame)
        {
        }
    }
}

using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using Microsoft.Extensions.Logging;

namespace Ananas.Server.Listeners;

/// <summary>
/// One client TCP connection: a read loop that frames queries and hands them to the pipeline, and a write loop that
/// sends answers in the order they complete. It is the frames' reply sink. A query holds its pipelining slot (at most
/// <see cref="TcpListenerOptions.MaxOutstandingPerConnection"/>) until its answer is written, and reading pauses while
/// more than <see cref="TcpListenerOptions.MaxQueuedBytesPerConnection"/> of answers wait to be written: a client
/// that does not read costs a bounded amount of memory. A write that makes no progress for the idle timeout closes
/// the connection (a zero-window peer cannot pin it).
/// </summary>
internal sealed class TcpConnection : IStreamReplySink
{
    private readonly Socket _socket;
    private readonly SslServerAuthenticationOptions? _tls;
    private readonly ProxyOptions? _proxy;
    private Stream _stream = Stream.Null;
    private readonly QueryPipeline _pipeline;
    private readonly TcpListenerOptions _options;
    private readonly CancellationToken _listenerStopping;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _gone = new();
    private readonly SemaphoreSlim _slots;
    /// <summary>Answers to write; <c>EndsFrame</c> is false for the leading messages of a multi-message answer (they hold no slot of their own).</summary>
    private readonly Channel<(byte[] Buffer, int Length, bool EndsFrame)> _writes = Channel.CreateUnbounded<(byte[], int, bool)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Signalled by the write loop after each write, for a read loop waiting on <see cref="_queuedBytes"/>.</summary>
    private readonly SemaphoreSlim _written = new(0, 1);
    private int _outstanding;
    private int _received;
    private long _queuedBytes;

    public TcpConnection(Socket socket, IPEndPoint remote, QueryPipeline pipeline, TcpListenerOptions options, CancellationToken listenerStopping, ILogger logger,
        SslServerAuthenticationOptions? tls = null, ProxyOptions? proxy = null)
    {
        _socket = socket;
        _tls = tls;
        _proxy = proxy;
        _socket.NoDelay = true;
        Remote = Client = remote;
        _pipeline = pipeline;
        _options = options;
        _listenerStopping = listenerStopping;
        _logger = logger;
        _slots = new SemaphoreSlim(options.MaxOutstandingPerConnection, options.MaxOutstandingPerConnection);
    }

    /// <summary>The socket's peer (with the PROXY protocol: the proxy).</summary>
    public IPEndPoint Remote { get; }

    /// <summary>Whom the queries are from: <see cref="Remote"/>, or the client a PROXY v2 header named.</summary>
    public IPEndPoint Client { get; private set; }

    public Task Completion => _completion.Task;

    public CancellationToken ClientGone => _gone.Token;

    /// <summary>Answer bytes waiting to be written to this client.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    public int MaxReplySize(int clientUdpPayload) => ushort.MaxValue;

    /// <summary>Queues the answer; its slot is released once it is written (or discarded because the client is gone).</summary>
    public void Send(Frame frame, ReadOnlySpan<byte> reply) => Queue(reply, endsFrame: true);

    /// <summary>A leading message of a multi-message answer: queued once the connection's queue has room; the frame keeps its slot.</summary>
    public async ValueTask<bool> SendPartAsync(Frame frame, ReadOnlyMemory<byte> reply, CancellationToken cancellationToken)
    {
        try
        {
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _gone.Token);
            await WaitForQueueRoomAsync(waiting.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        return !_gone.IsCancellationRequested && Queue(reply.Span, endsFrame: false);
    }

    private bool Queue(ReadOnlySpan<byte> reply, bool endsFrame)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(reply.Length + 2);
        BinaryPrimitives.WriteUInt16BigEndian(buffer, (ushort)reply.Length);
        reply.CopyTo(buffer.AsSpan(2));
        Interlocked.Add(ref _queuedBytes, reply.Length + 2);
        if (_writes.Writer.TryWrite((buffer, reply.Length + 2, endsFrame))) return true;
        Written(buffer, reply.Length + 2, endsFrame);
        return false;
    }

    public void Drop(Frame frame) => Release();

    private void Release()
    {
        Interlocked.Decrement(ref _outstanding);
        _slots.Release();
    }

    /// <summary>An answer left the queue (written or discarded): its bytes and its slot are free again.</summary>
    private void Written(byte[] buffer, int length, bool endsFrame)
    {
        ArrayPool<byte>.Shared.Return(buffer);
        Interlocked.Add(ref _queuedBytes, -length);
        if (_written.CurrentCount == 0)
        {
            try
            {
                _written.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another write signalled first: one wake-up is enough, the reader checks the bytes again.
            }
        }
        if (endsFrame) Release();
    }

    /// <summary>Waits while more answer bytes are queued than the bound (the client is not reading fast enough).</summary>
    private async Task WaitForQueueRoomAsync(CancellationToken cancellationToken)
    {
        while (Interlocked.Read(ref _queuedBytes) >= _options.MaxQueuedBytesPerConnection)
            await _written.WaitAsync(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
    }

    public async Task RunAsync()
    {
        _stream = new NetworkStream(_socket, ownsSocket: false);
        if ((_proxy is not null && !await ReadProxyHeaderAsync().ConfigureAwait(false)) || (_tls is not null && !await AuthenticateAsync().ConfigureAwait(false)))
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
            _socket.Dispose();
            _completion.TrySetResult();
            return;
        }
        var writer = WriteLoopAsync();
        var buffer = ArrayPool<byte>.Shared.Rent(ushort.MaxValue + 2);
        bool clientGone = false;
        // A slot taken for a query not yet handed to the pipeline (given back if reading ends first).
        bool holdingSlot = false;
        try
        {
            var frame = Frame.CreateReusable(buffer, _tls is null ? Transport.Tcp : Transport.Tls, this, Client);
            using var reading = CancellationTokenSource.CreateLinkedTokenSource(_listenerStopping, _gone.Token);
            while (true)
            {
                // Bounded pipelining: wait for a free slot, and for the client to take its queued answers, before reading the next query.
                await _slots.WaitAsync(reading.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _outstanding);
                holdingSlot = true;
                await WaitForQueueRoomAsync(reading.Token).ConfigureAwait(false);
                var read = await ReadMessageAsync(buffer, reading.Token).ConfigureAwait(false);
                if (read <= 0)
                {
                    clientGone = read < 0;
                    break;
                }
                frame.Length = read;
                frame.ArrivalTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
                holdingSlot = false;
                _pipeline.Handle(frame);
            }
        }
        catch (OperationCanceledException)
        {
            // Listener stopping (still answer what was taken), or a write timed out (the client is gone).
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
            clientGone = true;
        }
        finally
        {
            if (holdingSlot) Release();
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (clientGone)
        {
            // Nobody to answer: cancel this connection's recursions.
            await _gone.CancelAsync().ConfigureAwait(false);
        }
        // Wait for the answers still due (each ends in Send or Drop), then close.
        while (Volatile.Read(ref _outstanding) > 0) await Task.Delay(10).ConfigureAwait(false);
        _writes.Writer.TryComplete();
        await writer.ConfigureAwait(false);
        try
        {
            if (_stream is SslStream ssl && !_gone.IsCancellationRequested) await ssl.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or TimeoutException or InvalidOperationException)
        {
        }
        await _stream.DisposeAsync().ConfigureAwait(false);
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        _socket.Dispose();
        _completion.TrySetResult();
    }

    /// <summary>The PROXY v2 header, before anything else (TLS included); false when it is malformed, late or missing (logged, connection closed).</summary>
    private async Task<bool> ReadProxyHeaderAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_listenerStopping);
        timeout.CancelAfter(_proxy!.HeaderTimeout);
        IPEndPoint? client;
        try
        {
            client = await ProxyProtocol.ReadAsync(_stream, Remote, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            client = null;
        }
        if (client is null)
        {
            _logger.LogDebug(ServerEvents.ConnectionRejected, "connection from {Proxy} closed: no valid PROXY v2 header", Remote);
            return false;
        }
        Client = client;
        return true;
    }

    /// <summary>The TLS handshake (DoT), bounded by the idle timeout; false when it failed (logged, connection closed).</summary>
    private async Task<bool> AuthenticateAsync()
    {
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_listenerStopping);
        timeout.CancelAfter(_options.IdleTimeout);
        try
        {
            await ssl.AuthenticateAsServerAsync(_tls!, timeout.Token).ConfigureAwait(false);
            _stream = ssl;
            return true;
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            _logger.LogDebug(ServerEvents.ConnectionRejected, "TLS handshake with {Client} failed: {Error}", Client, e.Message);
            await ssl.DisposeAsync().ConfigureAwait(false);
            _stream = Stream.Null;
            return false;
        }
    }

    /// <summary>
    /// Reads one length-prefixed message into <paramref name="buffer"/>: its length, 0 for a clean close or an idle
    /// timeout with nothing outstanding, -1 when the client vanished mid-message or reset.
    /// </summary>
    private async Task<int> ReadMessageAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            idle.CancelAfter(_options.IdleTimeout);
            _received = 0;
            try
            {
                if (!await ReadExactlyAsync(buffer.AsMemory(0, 2), idle.Token).ConfigureAwait(false)) return -1;
                int length = BinaryPrimitives.ReadUInt16BigEndian(buffer);
                if (!await ReadExactlyAsync(buffer.AsMemory(0, length), idle.Token).ConfigureAwait(false)) return -1;
                return length;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Quiet for the idle timeout. Still answering earlier queries and between messages: keep waiting.
                // Otherwise (nothing outstanding but this read's slot, or a message left half-sent) close.
                if (_received == 0 && Volatile.Read(ref _outstanding) > 1) continue;
                return 0;
            }
        }
    }

    /// <summary>False when the peer closed the connection first.</summary>
    private async Task<bool> ReadExactlyAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        int read = 0;
        while (read < destination.Length)
        {
            int n = await _stream.ReadAsync(destination[read..], cancellationToken).ConfigureAwait(false);
            if (n == 0) return false;
            read += n;
            _received += n;
        }
        return true;
    }

    /// <summary>Writes the queued answers; one that cannot be written within the idle timeout ends the connection.</summary>
    private async Task WriteLoopAsync()
    {
        using var timeout = new CancellationTokenSource();
        await foreach (var (buffer, length, endsFrame) in _writes.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                if (!_gone.IsCancellationRequested)
                {
                    timeout.CancelAfter(_options.IdleTimeout);
                    await _stream.WriteAsync(buffer.AsMemory(0, length), timeout.Token).ConfigureAwait(false);
                    timeout.CancelAfter(Timeout.InfiniteTimeSpan);
                }
            }
            catch (OperationCanceledException)
            {
                _logger.LogDebug(ServerEvents.SendFailed, "TCP connection from {Client} closed: it read nothing for {Timeout} s with answers waiting", Client, _options.IdleTimeout.TotalSeconds);
                await CloseForGoneClientAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or NotSupportedException)
            {
                _logger.LogDebug(ServerEvents.SendFailed, "TCP reply to {Client} failed: {Error}", Client, e.Message);
                await CloseForGoneClientAsync().ConfigureAwait(false);
            }
            finally
            {
                Written(buffer, length, endsFrame);
            }
        }
    }

    /// <summary>Cancels the connection's recursions and its read, and aborts the socket (no graceful close for a peer that does not read).</summary>
    private async Task CloseForGoneClientAsync()
    {
        await _gone.CancelAsync().ConfigureAwait(false);
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        _socket.Dispose();
    }
}

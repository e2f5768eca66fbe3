using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;

namespace Ananas.Resolver.Conductor;

/// <summary>How one exchange on a stream connection ended.</summary>
internal enum StreamStatus : byte
{
    Response,
    Timeout,

    /// <summary>The connection could not be opened, or broke (or was closed) before the answer came.</summary>
    Closed,
}

/// <summary>One answer frame (a pooled buffer the receiver must return), or how the exchange failed.</summary>
internal readonly record struct StreamReply(StreamStatus Status, byte[]? Buffer, int Length, TimeSpan RoundTrip);

/// <summary>
/// One TCP or DNS-over-TLS connection to an upstream server (RFC 7766, RFC 7858) carrying several queries at
/// once: each query gets an ID unique on the connection, and a reader loop hands each answer frame to the query
/// with that ID (answers may come in any order, §6.2.1.1). Opening starts at construction; queries issued meanwhile
/// wait for it. Any read or write error, or the server closing, fails every outstanding query with
/// <see cref="StreamStatus.Closed"/>.
/// </summary>
internal sealed class StreamConnection
{
    private readonly IPEndPoint _server;
    private readonly string? _tlsName;
    private readonly ConductorOptions _options;
    private readonly ConductorMetrics _metrics;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Dictionary<ushort, TaskCompletionSource<StreamReply>> _pending = new();
    private readonly Task<bool> _ready;
    private Socket? _socket;
    private Stream? _stream;
    private volatile bool _closed;

    /// <summary>Queries reserved on or running over this connection (the pool balances on it).</summary>
    public int Outstanding;

    /// <summary>When the last query finished (Stopwatch timestamp), for idle closing.</summary>
    public long LastActivity = Stopwatch.GetTimestamp();

    /// <summary>Queries answered over this connection so far (0: not yet proven to work).</summary>
    public int Answered;

    public StreamConnection(IPEndPoint server, string? tlsName, ConductorOptions options, ConductorMetrics metrics)
    {
        _server = server;
        _tlsName = tlsName;
        _options = options;
        _metrics = metrics;
        _ready = OpenAsync();
    }

    public bool IsClosed => _closed;

    public bool IsTls => _tlsName is not null;

    private async Task<bool> OpenAsync()
    {
        using var timeout = new CancellationTokenSource(_options.StreamTimeout);
        try
        {
            var socket = new Socket(_server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            _socket = socket;
            await socket.ConnectAsync(_server, timeout.Token);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (_tlsName is not null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = _tlsName,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    CertificateChainPolicy = _options.TlsTrustedCertificates.Count == 0 ? null : CustomTrust(_options.TlsTrustedCertificates),
                    CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
                }, timeout.Token);
                _metrics.Count(_server.Address, UpstreamEvent.TlsConnection);
            }
            else
            {
                _metrics.Count(_server.Address, UpstreamEvent.TcpConnection);
            }
            _stream = stream;
            if (_closed)
            {
                Close();
                return false;
            }
            _ = ReadLoopAsync(stream);
            return true;
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or AuthenticationException or ObjectDisposedException)
        {
            if (e is AuthenticationException) _metrics.Count(_server.Address, UpstreamEvent.TlsFailure);
            Close();
            return false;
        }
    }

    /// <summary>
    /// Sends the query in <paramref name="frame"/> (2 octets reserved for the length, then <paramref name="length"/>
    /// octets of message whose ID this method overwrites) and waits for its answer. Returns the ID used.
    /// </summary>
    public async ValueTask<(StreamReply Reply, ushort Id)> ExchangeAsync(byte[] frame, int length, TimeSpan timeout, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        ushort id = 0;
        TaskCompletionSource<StreamReply>? waiter = null;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            if (!await _ready.WaitAsync(cts.Token) || _closed) return (new StreamReply(StreamStatus.Closed, null, 0, default), 0);
            waiter = new TaskCompletionSource<StreamReply>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_pending)
            {
                Span<byte> random = stackalloc byte[2];
                do
                {
                    RandomNumberGenerator.Fill(random);
                    id = BinaryPrimitives.ReadUInt16BigEndian(random);
                }
                while (_pending.ContainsKey(id));
                _pending.Add(id, waiter);
            }
            BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)length);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), id);
            await _writeLock.WaitAsync(cts.Token);
            try
            {
                await _stream!.WriteAsync(frame.AsMemory(0, length + 2), cts.Token);
                await _stream.FlushAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                Close(); // a write cut in the middle leaves the stream unusable
                throw;
            }
            finally
            {
                _writeLock.Release();
            }
            _metrics.Count(_server.Address, UpstreamEvent.Query);
            var reply = await waiter.Task.WaitAsync(cts.Token);
            if (reply.Status == StreamStatus.Response) Interlocked.Increment(ref Answered);
            return (reply with { RoundTrip = Stopwatch.GetElapsedTime(started) }, id);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (new StreamReply(StreamStatus.Timeout, null, 0, Stopwatch.GetElapsedTime(started)), id);
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            Close();
            return (new StreamReply(StreamStatus.Closed, null, 0, default), id);
        }
        finally
        {
            if (waiter is not null)
            {
                lock (_pending)
                {
                    if (_pending.TryGetValue(id, out var current) && ReferenceEquals(current, waiter)) _pending.Remove(id);
                }
            }
            Volatile.Write(ref LastActivity, Stopwatch.GetTimestamp());
            Interlocked.Decrement(ref Outstanding);
        }
    }

    private async Task ReadLoopAsync(Stream stream)
    {
        var prefix = new byte[2];
        try
        {
            while (!_closed)
            {
                await stream.ReadExactlyAsync(prefix);
                int length = BinaryPrimitives.ReadUInt16BigEndian(prefix);
                var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 12));
                await stream.ReadExactlyAsync(buffer.AsMemory(0, length));
                TaskCompletionSource<StreamReply>? waiter = null;
                if (length >= 2)
                {
                    ushort id = BinaryPrimitives.ReadUInt16BigEndian(buffer);
                    lock (_pending)
                    {
                        if (_pending.Remove(id, out waiter)) { }
                    }
                }
                // An answer nobody waits for (late, or with an ID never used) is dropped.
                if (waiter is null || !waiter.TrySetResult(new StreamReply(StreamStatus.Response, buffer, length, default)))
                    ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or EndOfStreamException or InvalidOperationException or AuthenticationException)
        {
        }
        Close();
    }

    /// <summary>Closes the connection and fails whatever is outstanding on it. Idempotent.</summary>
    public void Close()
    {
        _closed = true;
        try
        {
            _stream?.Dispose();
            _socket?.Dispose();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
        }
        List<TaskCompletionSource<StreamReply>>? failed = null;
        lock (_pending)
        {
            if (_pending.Count > 0)
            {
                failed = new List<TaskCompletionSource<StreamReply>>(_pending.Values);
                _pending.Clear();
            }
        }
        if (failed is null) return;
        foreach (var waiter in failed) waiter.TrySetResult(new StreamReply(StreamStatus.Closed, null, 0, default));
    }

    /// <summary>A chain policy trusting only <paramref name="roots"/> (revocation is not checked, as with the system store here).</summary>
    private static System.Security.Cryptography.X509Certificates.X509ChainPolicy CustomTrust(System.Security.Cryptography.X509Certificates.X509Certificate2Collection roots)
    {
        var policy = new System.Security.Cryptography.X509Certificates.X509ChainPolicy
        {
            TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust,
            RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(roots);
        return policy;
    }
}

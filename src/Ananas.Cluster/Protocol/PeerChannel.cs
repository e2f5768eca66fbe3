using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Threading.Channels;

namespace Ananas.Cluster.Protocol;

/// <summary>
/// One authenticated, pipelined connection between two nodes. Every message is framed as
/// <c>length(4) type(1) flags(1) body mac(32)</c>, where the MAC is HMAC-SHA256 under the connection's session key
/// over the direction, the message's sequence number in that direction, type, flags and body. The session key comes
/// from the shared secret and both sides' fresh nonces (<see cref="PeerHandshake"/>), and sequence numbers are
/// implicit, so a message replayed, reordered or carried to another connection fails its MAC. A message is sent at
/// once on the caller's thread when nothing else is being written and the socket takes it whole without waiting (the
/// usual case: no wake-up of another thread on the forwarding path); otherwise it goes through a bounded queue drained
/// by one writer. One sender at a time holds the send side (MAC state, sequence number, socket). Reads are done by the
/// owner of the channel, one at a time.
/// </summary>
public sealed class PeerChannel : IAsyncDisposable
{
    public const int MacLength = 32;
    /// <summary>The largest body: a DNS message (65535) and the client address of a query.</summary>
    public const int MaxBody = ushort.MaxValue + 17;
    private const int HeaderLength = 6;

    private readonly Stream _stream;
    private readonly IncrementalHash _sendMac;
    private readonly IncrementalHash _receiveMac;
    private readonly byte _sendDirection;
    private ulong _sendSequence;
    private ulong _receiveSequence;
    private readonly Channel<(byte[] Buffer, int Length)> _outbox;
    private readonly CancellationTokenSource _closed = new();
    private readonly Task _writer;
    private readonly System.Net.Sockets.Socket? _socket;
    /// <summary>Held by whoever writes: the write loop, or a sender writing inline.</summary>
    private readonly SemaphoreSlim _sendSide = new(1, 1);
    private int _disposed;
    private readonly byte[] _header = new byte[HeaderLength];
    private CancellationTokenSource? _readLinked;
    private CancellationToken _readLinkedFor;

    internal PeerChannel(Stream stream, byte[] sessionKey, bool initiator, int maxQueued)
    {
        _stream = stream;
        _sendMac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, sessionKey);
        _receiveMac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, sessionKey);
        _sendDirection = initiator ? (byte)1 : (byte)2;
        _outbox = Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(Math.Max(maxQueued, 1)) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        if (stream is System.Net.Sockets.NetworkStream network)
        {
            // Non-blocking, so that an inline send to a peer whose buffers are full returns instead of waiting.
            _socket = network.Socket;
            _socket.Blocking = false;
        }
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Whether a message failed its MAC or its bounds (as opposed to the connection ending or timing out).</summary>
    public bool Rejected { get; private set; }

    /// <summary>Cancelled when the connection failed or was closed.</summary>
    public CancellationToken Closed => _closed.Token;

    /// <summary>Queues a message; false when the queue is full or the channel closed (the caller falls back).</summary>
    public bool TrySend(PeerMessageType type, PeerMessageFlags flags, ReadOnlySpan<byte> body, ReadOnlySpan<byte> body2 = default)
    {
        int length = body.Length + body2.Length;
        if (length > MaxBody || _closed.IsCancellationRequested) return false;
        var buffer = ArrayPool<byte>.Shared.Rent(HeaderLength + length + MacLength);
        BinaryPrimitives.WriteInt32BigEndian(buffer, 2 + length + MacLength);
        buffer[4] = (byte)type;
        buffer[5] = (byte)flags;
        body.CopyTo(buffer.AsSpan(HeaderLength));
        body2.CopyTo(buffer.AsSpan(HeaderLength + body.Length));
        if (TrySendInline(buffer, HeaderLength + length)) return true;
        if (_outbox.Writer.TryWrite((buffer, HeaderLength + length))) return true;
        ArrayPool<byte>.Shared.Return(buffer);
        return false;
    }

    /// <summary>
    /// Sends the message now when nobody holds the send side and nothing is queued before it. A socket that takes
    /// only part of it keeps the send side held until a task has written the rest (nothing may come in between).
    /// </summary>
    private bool TrySendInline(byte[] buffer, int length)
    {
        if (_socket is null || _outbox.Reader.Count > 0 || !_sendSide.Wait(0)) return false;
        int total = 0, sent = 0;
        var error = System.Net.Sockets.SocketError.Success;
        try
        {
            if (_outbox.Reader.Count > 0 || _closed.IsCancellationRequested)
            {
                _sendSide.Release();
                return false;
            }
            total = Seal(buffer, length);
            sent = _socket.Send(buffer.AsSpan(0, total), System.Net.Sockets.SocketFlags.None, out error);
        }
        catch (ObjectDisposedException)
        {
            error = System.Net.Sockets.SocketError.Shutdown;
        }
        if (error == System.Net.Sockets.SocketError.Success && sent == total || error is not (System.Net.Sockets.SocketError.Success or System.Net.Sockets.SocketError.WouldBlock))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _sendSide.Release();
            // A failed send ends the connection (the caller's question then fails with the link, as a queued one would).
            if (error != System.Net.Sockets.SocketError.Success) Close();
            return true;
        }
        _ = FinishAsync(buffer, Math.Max(sent, 0), total);
        return true;
    }

    private async Task FinishAsync(byte[] buffer, int from, int total)
    {
        try
        {
            await _stream.WriteAsync(buffer.AsMemory(from, total - from), _closed.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            Close();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _sendSide.Release();
        }
    }

    /// <summary>Writes the MAC after the message (in send order, so sequence numbers match what the peer reads); returns the length with it.</summary>
    private int Seal(byte[] buffer, int length)
    {
        Span<byte> sequence = stackalloc byte[9];
        sequence[0] = _sendDirection;
        BinaryPrimitives.WriteUInt64BigEndian(sequence[1..], _sendSequence++);
        _sendMac.AppendData(sequence);
        _sendMac.AppendData(buffer, 4, length - 4);
        _sendMac.GetHashAndReset(buffer.AsSpan(length, MacLength));
        return length + MacLength;
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            var reader = _outbox.Reader;
            while (await reader.WaitToReadAsync(_closed.Token).ConfigureAwait(false))
            {
                await _sendSide.WaitAsync(_closed.Token).ConfigureAwait(false);
                try
                {
                    while (reader.TryRead(out var item))
                    {
                        try
                        {
                            await _stream.WriteAsync(item.Buffer.AsMemory(0, Seal(item.Buffer, item.Length)), _closed.Token).ConfigureAwait(false);
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(item.Buffer);
                        }
                    }
                    await _stream.FlushAsync(_closed.Token).ConfigureAwait(false);
                }
                finally
                {
                    _sendSide.Release();
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
        }
        finally
        {
            Close();
            while (_outbox.Reader.TryRead(out var left)) ArrayPool<byte>.Shared.Return(left.Buffer);
        }
    }

    /// <summary>
    /// The next message, or null when the connection ended or a message failed its MAC or bounds (the channel is
    /// then closed: a peer that sends one bad message is not trusted with the next).
    /// </summary>
    public async ValueTask<PeerMessage?> ReadAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var linked = ReadToken(cancellationToken);
            await _stream.ReadExactlyAsync(_header, linked).ConfigureAwait(false);
            int length = BinaryPrimitives.ReadInt32BigEndian(_header);
            int bodyLength = length - 2 - MacLength;
            if (bodyLength < 0 || bodyLength > MaxBody)
            {
                Rejected = true;
                Close();
                return null;
            }
            var buffer = ArrayPool<byte>.Shared.Rent(bodyLength + MacLength);
            await _stream.ReadExactlyAsync(buffer.AsMemory(0, bodyLength + MacLength), linked).ConfigureAwait(false);
            if (!Verify(_header.AsSpan(4, 2), buffer.AsSpan(0, bodyLength), buffer.AsSpan(bodyLength, MacLength)))
            {
                ArrayPool<byte>.Shared.Return(buffer);
                Rejected = true;
                Close();
                return null;
            }
            return new PeerMessage((PeerMessageType)_header[4], (PeerMessageFlags)_header[5], buffer, bodyLength);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or EndOfStreamException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            Close();
            return null;
        }
    }

    /// <summary>The caller's token joined with <see cref="Closed"/>: made once per caller's token, not per message (reads are one at a time).</summary>
    private CancellationToken ReadToken(CancellationToken cancellationToken)
    {
        if (_readLinked is null || !_readLinkedFor.Equals(cancellationToken))
        {
            _readLinked?.Dispose();
            _readLinked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closed.Token);
            _readLinkedFor = cancellationToken;
        }
        return _readLinked.Token;
    }

    private bool Verify(ReadOnlySpan<byte> typeAndFlags, ReadOnlySpan<byte> body, ReadOnlySpan<byte> mac)
    {
        Span<byte> sequence = stackalloc byte[9];
        sequence[0] = (byte)(3 - _sendDirection);
        BinaryPrimitives.WriteUInt64BigEndian(sequence[1..], _receiveSequence++);
        _receiveMac.AppendData(sequence);
        _receiveMac.AppendData(typeAndFlags);
        _receiveMac.AppendData(body);
        Span<byte> expected = stackalloc byte[MacLength];
        _receiveMac.GetHashAndReset(expected);
        return CryptographicOperations.FixedTimeEquals(expected, mac);
    }

    public void Close()
    {
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        _outbox.Writer.TryComplete();
        try
        {
            _stream.Dispose();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Close();
        await _writer.ConfigureAwait(false);
        // An inline sender may still be sealing a message: the send side is taken for good before the MAC goes.
        await _sendSide.WaitAsync().ConfigureAwait(false);
        _sendMac.Dispose();
        _receiveMac.Dispose();
        _readLinked?.Dispose();
    }
}

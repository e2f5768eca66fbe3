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
/// implicit, so a message replayed, reordered or carried to another connection fails its MAC. Writes go through a
/// bounded queue drained by one writer; reads are done by the owner of the channel, one at a time.
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
        if (_outbox.Writer.TryWrite((buffer, HeaderLength + length))) return true;
        ArrayPool<byte>.Shared.Return(buffer);
        return false;
    }

    private async Task WriteLoopAsync()
    {
        var sequence = new byte[9];
        try
        {
            var reader = _outbox.Reader;
            while (await reader.WaitToReadAsync(_closed.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    try
                    {
                        // The MAC is computed here, in send order, so sequence numbers match what the peer reads.
                        sequence[0] = _sendDirection;
                        BinaryPrimitives.WriteUInt64BigEndian(sequence.AsSpan(1), _sendSequence++);
                        _sendMac.AppendData(sequence);
                        _sendMac.AppendData(item.Buffer, 4, item.Length - 4);
                        _sendMac.GetHashAndReset(item.Buffer.AsSpan(item.Length, MacLength));
                        await _stream.WriteAsync(item.Buffer.AsMemory(0, item.Length + MacLength), _closed.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(item.Buffer);
                    }
                }
                await _stream.FlushAsync(_closed.Token).ConfigureAwait(false);
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
        Close();
        await _writer.ConfigureAwait(false);
        _sendMac.Dispose();
        _receiveMac.Dispose();
        _readLinked?.Dispose();
    }
}

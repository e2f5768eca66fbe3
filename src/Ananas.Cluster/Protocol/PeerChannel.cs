using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;

namespace Ananas.Cluster.Protocol;

/// <summary>
/// One authenticated, pipelined connection between two nodes. Every message is framed as
/// <c>length(4) type(1) flags(1) body mac(32)</c>, where the MAC is HMAC-SHA256 under the connection's session key
/// over the direction, the message's sequence number in that direction, type, flags and body. The session key comes
/// from the shared secret and both sides' fresh nonces (<see cref="PeerHandshake"/>), and sequence numbers are
/// implicit, so a message replayed, reordered or carried to another connection fails its MAC.
/// <para>
/// No thread is woken to send: a message is queued and written by the sender itself when nobody holds the send side;
/// else the holder writes it before letting go (messages that wait are written together, one send for all). Only when
/// the socket takes no more (the peer reads too slowly) does a writer thread, started then, wait for room. Reads are
/// done by the owner of the channel, one at a time, on its own thread (<see cref="Read"/> waits in poll(2)).
/// </para>
/// </summary>
public sealed class PeerChannel : IAsyncDisposable, IDisposable
{
    public const int MacLength = 32;
    /// <summary>The largest body: a DNS message (65535) and the client address of a query.</summary>
    public const int MaxBody = ushort.MaxValue + 17;
    private const int HeaderLength = 6;
    /// <summary>Messages waiting together are written with one send up to this size (a larger one goes alone).</summary>
    private const int BatchCapacity = 16 * 1024;

    private readonly PeerWire _wire;
    private readonly IncrementalHash _sendMac;
    private readonly IncrementalHash _receiveMac;
    private readonly byte _sendDirection;
    private ulong _sendSequence;
    private ulong _receiveSequence;
    private readonly CancellationTokenSource _closed = new();
    private int _disposed;

    // Send side: whoever sets _sending to 1 holds it (seals in send order, owns _batch and the backlog).
    private readonly ConcurrentQueue<(byte[] Buffer, int Length)> _outbox = new();
    private readonly int _maxQueued;
    private int _queued;
    private int _sending;
    private readonly byte[] _batch = new byte[BatchCapacity];
    private byte[]? _backlog;
    private int _backlogFrom, _backlogTo;
    private bool _backlogPooled;
    private Thread? _writer;
    private bool _handedOver;
    private readonly SemaphoreSlim _writerWanted = new(0);

    // Receive side: bytes read but not yet taken as messages.
    private byte[] _inbox = new byte[BatchCapacity];
    private int _inStart, _inEnd;

    internal PeerChannel(PeerWire wire, byte[] sessionKey, bool initiator, int maxQueued)
    {
        _wire = wire;
        _sendMac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, sessionKey);
        _receiveMac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, sessionKey);
        _sendDirection = initiator ? (byte)1 : (byte)2;
        _maxQueued = Math.Max(maxQueued, 1);
    }

    /// <summary>Whether a message failed its MAC or its bounds (as opposed to the connection ending or timing out).</summary>
    public bool Rejected { get; private set; }

    /// <summary>Cancelled when the connection failed or was closed.</summary>
    public CancellationToken Closed => _closed.Token;

    public bool IsClosed => _closed.IsCancellationRequested;

    /// <summary>Sends a message (now, or with the holder's next write); false when too many wait or the channel closed (the caller falls back).</summary>
    public bool TrySend(PeerMessageType type, PeerMessageFlags flags, ReadOnlySpan<byte> body, ReadOnlySpan<byte> body2 = default)
    {
        int length = body.Length + body2.Length;
        if (length > MaxBody || IsClosed) return false;
        if (Interlocked.Increment(ref _queued) > _maxQueued)
        {
            Interlocked.Decrement(ref _queued);
            return false;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(HeaderLength + length + MacLength);
        BinaryPrimitives.WriteInt32BigEndian(buffer, 2 + length + MacLength);
        buffer[4] = (byte)type;
        buffer[5] = (byte)flags;
        body.CopyTo(buffer.AsSpan(HeaderLength));
        body2.CopyTo(buffer.AsSpan(HeaderLength + body.Length));
        _outbox.Enqueue((buffer, HeaderLength + length));
        Flush();
        return true;
    }

    /// <summary>
    /// Writes what is queued if nobody holds the send side. The holder looks at the queue again after letting go, so a
    /// message queued while it wrote is never left behind.
    /// </summary>
    private void Flush()
    {
        while (!_outbox.IsEmpty && Interlocked.CompareExchange(ref _sending, 1, 0) == 0)
        {
            if (!WriteQueued(wait: false)) return; // the writer thread holds the send side now
            Volatile.Write(ref _sending, 0);
        }
    }

    /// <summary>
    /// The holder writes the queue out, batching what waits. True when all went; false when the socket took only part
    /// (then the rest is the backlog and the send side passes to the writer thread).
    /// </summary>
    private bool WriteQueued(bool wait)
    {
        while (true)
        {
            int length = 0;
            byte[]? alone = null;
            while (_outbox.TryPeek(out var item))
            {
                int total = item.Length + MacLength;
                if (length > 0 && length + total > BatchCapacity) break;
                _outbox.TryDequeue(out _);
                Interlocked.Decrement(ref _queued);
                Seal(item.Buffer, item.Length);
                if (length == 0 && total > BatchCapacity)
                {
                    alone = item.Buffer;
                    length = total;
                    break;
                }
                item.Buffer.AsSpan(0, total).CopyTo(_batch.AsSpan(length));
                length += total;
                ArrayPool<byte>.Shared.Return(item.Buffer);
            }
            if (length == 0) return true;
            var data = alone ?? _batch;
            int sent = IsClosed ? length : _wire.Send(data.AsSpan(0, length), wait);
            if (sent < 0)
            {
                // A failed send ends the connection (questions in flight then fail with the link).
                Close();
                sent = length;
            }
            if (sent < length)
            {
                _backlog = data;
                _backlogFrom = sent;
                _backlogTo = length;
                _backlogPooled = alone is not null;
                StartWriter();
                return false;
            }
            if (alone is not null) ArrayPool<byte>.Shared.Return(alone);
        }
    }

    /// <summary>Passes the send side (with a backlog) to the writer thread, started the first time it is needed.</summary>
    private void StartWriter()
    {
        Volatile.Write(ref _handedOver, true);
        if (_writer is null)
        {
            _writer = new Thread(WriteLoop) { IsBackground = true, Name = "ananas-peer-writer" };
            _writer.Start();
        }
        _writerWanted.Release();
    }

    private void WriteLoop()
    {
        while (true)
        {
            _writerWanted.Wait();
            // Woken by Close without the send side: nothing of ours to let go.
            if (!Volatile.Read(ref _handedOver))
            {
                if (IsClosed) return;
                continue;
            }
            _handedOver = false;
            if (IsClosed) break;
            if (_backlog is { } backlog && _wire.Send(backlog.AsSpan(_backlogFrom, _backlogTo - _backlogFrom), wait: true) < 0) Close();
            ReleaseBacklog();
            if (!WriteQueued(wait: true)) continue;
            Volatile.Write(ref _sending, 0);
            Flush();
        }
        ReleaseBacklog();
        Volatile.Write(ref _sending, 0);
    }

    private void ReleaseBacklog()
    {
        if (_backlog is { } backlog && _backlogPooled) ArrayPool<byte>.Shared.Return(backlog);
        _backlog = null;
    }

    /// <summary>Writes the MAC after the message (in send order, so sequence numbers match what the peer reads).</summary>
    private void Seal(byte[] buffer, int length)
    {
        Span<byte> sequence = stackalloc byte[9];
        sequence[0] = _sendDirection;
        BinaryPrimitives.WriteUInt64BigEndian(sequence[1..], _sendSequence++);
        _sendMac.AppendData(sequence);
        _sendMac.AppendData(buffer, 4, length - 4);
        _sendMac.GetHashAndReset(buffer.AsSpan(length, MacLength));
    }

    /// <summary>
    /// The next message, waiting at most <paramref name="timeout"/> for it (<see cref="Timeout.InfiniteTimeSpan"/>: as
    /// long as it takes). Null at the timeout (<see cref="IsClosed"/> false), or when the connection ended or a message
    /// failed its MAC or bounds (the channel is then closed: a peer that sends one bad message is not trusted with the
    /// next). One reader at a time.
    /// </summary>
    public PeerMessage? Read(TimeSpan timeout)
    {
        long deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        return Read(deadline);
    }

    internal PeerMessage? Read(long deadline)
    {
        while (!IsClosed)
        {
            if (_inStart == _inEnd) _inStart = _inEnd = 0;
            int available = _inEnd - _inStart;
            if (available >= HeaderLength)
            {
                var header = _inbox.AsSpan(_inStart, HeaderLength);
                int bodyLength = BinaryPrimitives.ReadInt32BigEndian(header) - 2 - MacLength;
                if (bodyLength < 0 || bodyLength > MaxBody)
                {
                    Rejected = true;
                    Close();
                    return null;
                }
                int total = HeaderLength + bodyLength + MacLength;
                if (available >= total)
                {
                    var message = _inbox.AsSpan(_inStart, total);
                    _inStart += total;
                    if (!Verify(message.Slice(4, 2), message.Slice(HeaderLength, bodyLength), message.Slice(HeaderLength + bodyLength, MacLength)))
                    {
                        Rejected = true;
                        Close();
                        return null;
                    }
                    var body = ArrayPool<byte>.Shared.Rent(Math.Max(bodyLength, 1));
                    message.Slice(HeaderLength, bodyLength).CopyTo(body);
                    return new PeerMessage((PeerMessageType)message[4], (PeerMessageFlags)message[5], body, bodyLength);
                }
                MakeRoom(total);
            }
            else
            {
                MakeRoom(HeaderLength);
            }
            int n = _wire.Receive(_inbox.AsSpan(_inEnd), deadline);
            if (n == -1) return null;
            if (n <= 0)
            {
                Close();
                return null;
            }
            _inEnd += n;
        }
        return null;
    }

    /// <summary>Room after the unread bytes for a message of <paramref name="total"/> octets (moved to the front, or a larger inbox).</summary>
    private void MakeRoom(int total)
    {
        if (_inbox.Length - _inStart >= total && _inEnd < _inbox.Length) return;
        int unread = _inEnd - _inStart;
        var target = total > _inbox.Length ? new byte[Math.Max(total, _inbox.Length * 2)] : _inbox;
        _inbox.AsSpan(_inStart, unread).CopyTo(target);
        _inbox = target;
        _inStart = 0;
        _inEnd = unread;
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

    /// <summary>Ends the connection: the reader's wait returns, the writer thread (if any) ends, later sends fail.</summary>
    public void Close()
    {
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        _wire.Close();
        _writerWanted.Release();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Close();
        _writer?.Join();
        // A sender may still be sealing a message: the send side is taken for good before the MAC goes.
        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref _sending, 1, 0) != 0) spin.SpinOnce();
        while (_outbox.TryDequeue(out var left)) ArrayPool<byte>.Shared.Return(left.Buffer);
        _sendMac.Dispose();
        _receiveMac.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}

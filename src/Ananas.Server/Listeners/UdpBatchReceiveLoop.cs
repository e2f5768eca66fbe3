using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ananas.Server.Frames;
using Ananas.Server.Interop;
using Ananas.Server.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Server.Listeners;

/// <summary>
/// Linux: each receive thread takes up to <c>batchSize</c> datagrams per recvmmsg(2) call, hands them one by
/// one to the pipeline, and sends every reply the pipeline produced on the spot (cache hits, errors) with one
/// sendmmsg(2). Misses leave as today (detached frames) and their replies go out through the single-datagram
/// sink. Elsewhere, or when the calls are missing (ENOSYS, no libc entry point), it runs the
/// <see cref="SynchronousReceiveLoop"/>.
/// </summary>
public sealed class UdpBatchReceiveLoop(int batchSize, ILogger? logger = null) : IDatagramReceiveLoop
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    public int BatchSize { get; } = Math.Max(1, batchSize);

    public void Run(Socket socket, IReplySink sink, QueryPipeline pipeline, CancellationToken stopping)
    {
        if (!OperatingSystem.IsLinux())
        {
            SynchronousReceiveLoop.Instance.Run(socket, sink, pipeline, stopping);
            return;
        }
        UdpBatch.Outcome outcome;
        using (var batch = new UdpBatch(socket, sink, pipeline, BatchSize))
        {
            try
            {
                do outcome = batch.ReceiveAndAnswer();
                while (outcome == UdpBatch.Outcome.Continue && !stopping.IsCancellationRequested);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                outcome = UdpBatch.Outcome.Unsupported;
            }
        }
        if (outcome == UdpBatch.Outcome.Unsupported && !stopping.IsCancellationRequested)
        {
            _logger.LogWarning(ServerEvents.ReceiveFailed, "recvmmsg/sendmmsg unavailable; udp://{Address} receives one datagram per call", socket.LocalEndPoint);
            SynchronousReceiveLoop.Instance.Run(socket, sink, pipeline, stopping);
        }
    }
}

/// <summary>
/// One receive thread's batch: native recvmmsg/sendmmsg headers and socket-address slots, one reusable
/// <see cref="Frame"/> per slot (its pinned buffer is the receive buffer), and a reply area the pipeline's
/// synchronous answers are copied into. Allocated once; nothing per datagram. Not thread-safe except
/// <see cref="IReplySink.Send"/> for detached frames, which goes straight to the single-datagram sink.
/// </summary>
internal sealed unsafe class UdpBatch : IReplySink, IDisposable
{
    /// <summary>Receive room per datagram: a query is one question plus OPT (and maybe TSIG); longer ones are dropped.</summary>
    public const int ReceiveCapacity = 4096;

    public enum Outcome
    {
        /// <summary>Received (maybe nothing: the 1 s receive timeout lets the caller check for shutdown).</summary>
        Continue,
        /// <summary>The socket was closed.</summary>
        Closed,
        /// <summary>recvmmsg is not available here.</summary>
        Unsupported,
    }

    private readonly Socket _socket;
    private readonly SafeHandle _handle;
    private readonly nint _fd;
    private readonly AddressFamily _family;
    private readonly IReplySink _single;
    private readonly QueryPipeline _pipeline;
    private readonly int _size;
    private readonly int _replyCapacity;
    private readonly Frame[] _frames;
    private readonly PipelineCounters.ThreadShare _counts;
    private readonly LinuxSockets.MMsgHdr* _received;
    private readonly LinuxSockets.IoVec* _receiveVectors;
    private readonly byte* _names;
    private readonly LinuxSockets.MMsgHdr* _replies;
    private readonly LinuxSockets.IoVec* _replyVectors;
    private readonly byte* _replyBytes;
    private bool _handleHeld;
    private bool _disposed;
    private int _current = -1;
    private int _staged;
    private int _filled;
    private long _sendFailures;

    public UdpBatch(Socket socket, IReplySink single, QueryPipeline pipeline, int size)
    {
        _socket = socket;
        _single = single;
        _pipeline = pipeline;
        _size = size;
        _replyCapacity = pipeline.Options.MaxUdpPayload;
        // Held for the batch's life: a socket disposed under us cannot have its descriptor number reused.
        _handle = socket.SafeHandle;
        _handle.DangerousAddRef(ref _handleHeld);
        _fd = _handle.DangerousGetHandle();
        _family = socket.AddressFamily;
        // The receive timeout wakes an idle thread once a second to notice shutdown (set here, on the descriptor,
        // whatever the managed socket emulates for its own receive calls).
        var timeout = new LinuxSockets.TimeVal { Seconds = 1 };
        socket.SetRawSocketOption(LinuxSockets.SolSocket, LinuxSockets.SoRcvTimeo, new ReadOnlySpan<byte>(&timeout, sizeof(LinuxSockets.TimeVal)));

        _received = Alloc<LinuxSockets.MMsgHdr>(size);
        _receiveVectors = Alloc<LinuxSockets.IoVec>(size);
        _names = (byte*)NativeMemory.AllocZeroed((nuint)(size * LinuxSockets.SockAddrCapacity));
        _replies = Alloc<LinuxSockets.MMsgHdr>(size);
        _replyVectors = Alloc<LinuxSockets.IoVec>(size);
        _replyBytes = (byte*)NativeMemory.Alloc((nuint)(size * _replyCapacity));
        _frames = new Frame[size];
        // This thread's counts, without a locked add per answer; folded into the shared ones when the batch is disposed.
        _counts = pipeline.Counters.AddShare();
        for (int i = 0; i < size; i++)
        {
            // Pinned-heap buffers never move: the kernel writes into them through the address taken here.
            var frame = Frame.CreateReusable(ReceiveCapacity, Transport.Udp, this, socket.AddressFamily);
            frame.Counts = _counts;
            _frames[i] = frame;
            _receiveVectors[i] = new LinuxSockets.IoVec { Base = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(frame.Buffer)), Length = ReceiveCapacity };
            _received[i].Header = new LinuxSockets.MsgHdr { Name = _names + i * LinuxSockets.SockAddrCapacity, Iov = &_receiveVectors[i], IovLength = 1 };
            _replyVectors[i] = new LinuxSockets.IoVec { Base = _replyBytes + i * _replyCapacity };
            _replies[i].Header = new LinuxSockets.MsgHdr { Iov = &_replyVectors[i], IovLength = 1 };
        }
        _filled = size;
    }

    /// <summary>Replies the kernel refused (sendmmsg errors), for tests and logs.</summary>
    public long SendFailures => Interlocked.Read(ref _sendFailures);

    /// <summary>
    /// One recvmmsg (blocking until the first datagram or the receive timeout), each datagram through the
    /// pipeline, then one sendmmsg for the replies produced on this thread, then the batch's misses to the scheduler.
    /// </summary>
    public Outcome ReceiveAndAnswer()
    {
        // The kernel shortens the address length only of the slots it filled: only those are set back.
        for (int i = 0; i < _filled; i++) _received[i].Header.NameLength = LinuxSockets.SockAddrCapacity;
        int count = LinuxSockets.RecvMMsg(_fd, _received, (uint)_size, LinuxSockets.MsgWaitForOne, null);
        _filled = Math.Max(count, 0);
        if (count < 0)
        {
            return Marshal.GetLastPInvokeError() switch
            {
                LinuxSockets.EBadF or LinuxSockets.ENotSock => Outcome.Closed,
                LinuxSockets.ENoSys or LinuxSockets.EOpNotSupp => Outcome.Unsupported,
                // EAGAIN: the receive timeout; EINTR; ECONNREFUSED and friends: an ICMP error for an earlier send.
                _ => Outcome.Continue,
            };
        }

        long arrival = Stopwatch.GetTimestamp();
        // The batch's misses are scheduled after its replies are sent: a hit does not wait for the misses beside it.
        _pipeline.HoldMisses();
        try
        {
            HandleAll(count, arrival);
            Flush();
        }
        finally
        {
            _pipeline.ReleaseMisses();
        }
        return Outcome.Continue;
    }

    private void HandleAll(int count, long arrival)
    {
        for (int i = 0; i < count; i++)
        {
            ref var message = ref _received[i];
            if ((message.Header.Flags & LinuxSockets.MsgTrunc) != 0)
            {
                Interlocked.Increment(ref _pipeline.Counters.Dropped);
                continue;
            }
            var frame = _frames[i];
            var peer = frame.Peer!;
            var name = new ReadOnlySpan<byte>(_names + i * LinuxSockets.SockAddrCapacity, LinuxSockets.SockAddrCapacity);
            name[..(int)Math.Min(message.Header.NameLength, (uint)peer.Size)].CopyTo(peer.Buffer.Span);
            frame.Length = (int)message.Length;
            frame.ResetEndPoint();
            // Read from the kernel's bytes with the socket's family: SocketAddress.Family is a P/Invoke per datagram.
            frame.Address = ClientAddress.From(name, _family);
            frame.ArrivalTimestamp = arrival;
            _current = i;
            _pipeline.Handle(frame);
        }
        _current = -1;
    }

    /// <summary>Sends the staged replies; a reply the kernel refuses is skipped (UDP: the client retries).</summary>
    private void Flush()
    {
        if (_staged == 1)
        {
            // A lone reply (the common case below saturation): sendto spares the kernel sendmmsg's copying-in of
            // the message header and iovec array (a few percent of the CPU per query, measured with perf).
            ref var header = ref _replies[0].Header;
            nint n;
            do n = LinuxSockets.SendTo(_fd, header.Iov->Base, header.Iov->Length, 0, header.Name, header.NameLength);
            while (n < 0 && Marshal.GetLastPInvokeError() == LinuxSockets.EIntr);
            if (n < 0) Interlocked.Increment(ref _sendFailures);
            _staged = 0;
            return;
        }
        int sent = 0;
        while (sent < _staged)
        {
            int n = LinuxSockets.SendMMsg(_fd, _replies + sent, (uint)(_staged - sent), 0);
            if (n > 0)
            {
                sent += n;
                continue;
            }
            if (n < 0 && Marshal.GetLastPInvokeError() == LinuxSockets.EIntr) continue;
            Interlocked.Increment(ref _sendFailures);
            sent++;
        }
        _staged = 0;
    }

    public CancellationToken ClientGone => CancellationToken.None;

    // The single-datagram sink's limit, computed here (both take the pipeline's MaxUdpPayload when the socket is set up):
    // asked for every reply, it spares a second interface call per answer.
    public int MaxReplySize(int clientUdpPayload) => QueryPipeline.UdpLimit(clientUdpPayload, _replyCapacity);

    /// <summary>
    /// A reply to the datagram being handled on the receive thread is copied into the batch and goes out with
    /// the next sendmmsg; anything else (a detached miss answered later, on another thread) is sent at once.
    /// </summary>
    public void Send(Frame frame, ReadOnlySpan<byte> reply)
    {
        int current = _current;
        if (current < 0 || !ReferenceEquals(frame, _frames[current]) || reply.Length > _replyCapacity || _staged == _size)
        {
            _single.Send(frame, reply);
            return;
        }
        int slot = _staged++;
        ref var header = ref _replies[slot].Header;
        header.Name = _names + current * LinuxSockets.SockAddrCapacity;
        header.NameLength = _received[current].Header.NameLength;
        _replyVectors[slot].Length = (nuint)reply.Length;
        reply.CopyTo(new Span<byte>(_replyVectors[slot].Base, _replyCapacity));
    }

    public void Drop(Frame frame) => _single.Drop(frame);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _pipeline.Counters.RemoveShare(_counts);
        NativeMemory.Free(_received);
        NativeMemory.Free(_receiveVectors);
        NativeMemory.Free(_names);
        NativeMemory.Free(_replies);
        NativeMemory.Free(_replyVectors);
        NativeMemory.Free(_replyBytes);
        if (_handleHeld) _handle.DangerousRelease();
        _handleHeld = false;
        GC.KeepAlive(_socket);
    }

    private static T* Alloc<T>(int count) where T : unmanaged => (T*)NativeMemory.AllocZeroed((nuint)count, (nuint)sizeof(T));
}

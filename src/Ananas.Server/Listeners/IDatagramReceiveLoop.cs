using System.Net.Sockets;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;

namespace Ananas.Server.Listeners;

/// <summary>
/// How one thread takes datagrams off a UDP socket and hands them to the pipeline: one datagram per call
/// (<see cref="SynchronousReceiveLoop"/>) or recvmmsg/sendmmsg batches on Linux (<see cref="UdpBatchReceiveLoop"/>).
/// </summary>
public interface IDatagramReceiveLoop
{
    /// <summary>Runs until <paramref name="stopping"/> is cancelled or the socket is closed.</summary>
    void Run(Socket socket, IReplySink sink, QueryPipeline pipeline, CancellationToken stopping);
}

/// <summary>
/// Synchronous <c>ReceiveFrom</c> into a frame reused for every packet (its buffer and <c>SocketAddress</c> are
/// allocated once): no allocation per packet. Hits are sent synchronously by the sink from this thread.
/// </summary>
public sealed class SynchronousReceiveLoop : IDatagramReceiveLoop
{
    public static readonly SynchronousReceiveLoop Instance = new();

    public void Run(Socket socket, IReplySink sink, QueryPipeline pipeline, CancellationToken stopping)
    {
        var frame = Frame.CreateReusable(ushort.MaxValue, Transport.Udp, sink, socket.AddressFamily);
        var peer = frame.Peer!;
        while (!stopping.IsCancellationRequested)
        {
            int received;
            try
            {
                received = socket.ReceiveFrom(frame.Buffer, SocketFlags.None, peer);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.ConnectionReset or SocketError.MessageSize or SocketError.Interrupted)
            {
                // Idle wake-up (to notice stopping), an ICMP error for an earlier send, or an oversized datagram.
                continue;
            }
            catch (SocketException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            frame.Length = received;
            frame.ResetEndPoint();
            frame.Address = ClientAddress.From(peer);
            frame.ArrivalTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
            pipeline.Handle(frame);
        }
    }
}

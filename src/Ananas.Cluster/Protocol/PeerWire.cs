using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Ananas.Cluster.Protocol;

/// <summary>
/// The bytes of one peer connection, read and written by the threads that use it, never by the runtime's socket engine:
/// on a socket (a <see cref="NetworkStream"/>'s) in non-blocking mode, waits are poll(2) on the caller's thread, so an
/// arriving message wakes only the thread reading it (no epoll thread, then a pool thread, per message), and a send
/// either goes out at once or says how much the socket took. Any other stream (tests) is read and written as it is.
/// </summary>
internal sealed class PeerWire
{
    private readonly Stream _stream;
    private readonly Socket? _socket;

    public PeerWire(Stream stream)
    {
        _stream = stream;
        if (stream is NetworkStream network)
        {
            _socket = network.Socket;
            _socket.Blocking = false;
        }
    }

    /// <summary>
    /// Reads what is there, waiting for something until <paramref name="deadline"/> (a <see cref="Stopwatch"/>
    /// timestamp; <see cref="long.MaxValue"/>: no limit): the count read, 0 at the end of the stream, -1 at the
    /// deadline, -2 when the connection failed.
    /// </summary>
    public int Receive(Span<byte> buffer, long deadline)
    {
        try
        {
            if (_socket is null) return _stream.Read(buffer);
            while (true)
            {
                int n = _socket.Receive(buffer, SocketFlags.None, out var error);
                if (error == SocketError.Success) return n;
                if (error is not (SocketError.WouldBlock or SocketError.Interrupted)) return -2;
                if (!Wait(SelectMode.SelectRead, deadline)) return -1;
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            return -2;
        }
    }

    /// <summary>
    /// Writes <paramref name="data"/>: without waiting when <paramref name="wait"/> is false (the count the socket
    /// took, maybe 0), else all of it by <paramref name="deadline"/>. -1 when the connection failed or the deadline passed.
    /// </summary>
    public int Send(ReadOnlySpan<byte> data, bool wait, long deadline = long.MaxValue)
    {
        try
        {
            if (_socket is null)
            {
                _stream.Write(data);
                return data.Length;
            }
            int sent = 0;
            while (sent < data.Length)
            {
                int n = _socket.Send(data[sent..], SocketFlags.None, out var error);
                if (error == SocketError.Success)
                {
                    sent += n;
                    continue;
                }
                if (error is not (SocketError.WouldBlock or SocketError.Interrupted)) return -1;
                if (!wait) break;
                if (!Wait(SelectMode.SelectWrite, deadline)) return -1;
            }
            return sent;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            return -1;
        }
    }

    /// <summary>Reads exactly <paramref name="buffer"/>'s length by <paramref name="deadline"/> (the handshake); throws when it cannot.</summary>
    public void ReadExactly(Span<byte> buffer, long deadline)
    {
        for (int read = 0; read < buffer.Length;)
        {
            int n = Receive(buffer[read..], deadline);
            if (n <= 0) throw n == -1 ? new TimeoutException() : new EndOfStreamException();
            read += n;
        }
    }

    /// <summary>Writes all of <paramref name="data"/> by <paramref name="deadline"/> (the handshake); throws when it cannot.</summary>
    public void WriteAll(ReadOnlySpan<byte> data, long deadline)
    {
        if (Send(data, wait: true, deadline) != data.Length) throw new IOException("the peer connection failed");
    }

    /// <summary>Ends the connection: a thread waiting in poll(2) on it wakes (closing alone would not wake it).</summary>
    public void Close()
    {
        try
        {
            _socket?.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        try
        {
            _stream.Dispose();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Waits until the socket is ready for <paramref name="mode"/> (or failed: the next call says so); false at the deadline.</summary>
    private bool Wait(SelectMode mode, long deadline)
    {
        int micros = -1;
        if (deadline != long.MaxValue)
        {
            long left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0) return false;
            // poll(2) counts whole milliseconds (a shorter wait would return at once and spin): rounded up.
            long milliseconds = (left * 1000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency;
            micros = (int)Math.Min(int.MaxValue / 1000, milliseconds) * 1000;
        }
        return _socket!.Poll(micros, mode) || micros < 0;
    }

    /// <summary>
    /// A TCP connection to <paramref name="address"/> within <paramref name="timeout"/>, made without the socket engine
    /// (a non-blocking connect and poll(2)), with Nagle off; null when refused, unreachable or too slow.
    /// </summary>
    public static Socket? Connect(IPEndPoint address, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, Blocking = false };
        try
        {
            try
            {
                socket.Connect(address);
                socket.Blocking = true; // for a NetworkStream over it (PeerWire makes it non-blocking again)
                return socket;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
            }
            long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            // In slices, so that a link being disposed does not wait out the timeout.
            while (!socket.Poll(50_000, SelectMode.SelectWrite))
                if (cancellationToken.IsCancellationRequested || Stopwatch.GetTimestamp() > deadline) throw new SocketException((int)SocketError.TimedOut);
            if ((int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)! != 0 || !socket.Connected) throw new SocketException((int)SocketError.ConnectionRefused);
            socket.Blocking = true;
            return socket;
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }
}

using System.Net;
using System.Net.Sockets;

namespace Ananas.Sandbox;

/// <summary>
/// Host-owned sockets of one callback (docs/plugins.md, "Sockets"): opened only to allow-listed destinations,
/// sending and receiving at most <see cref="PluginDefinition.SocketBytesPerCallback"/> bytes, all ending at
/// <see cref="PluginDefinition.SocketTimeout"/> after the first was opened, and closed when the callback ends. Every
/// operation is asynchronous: a guest awaiting one holds no thread.
/// </summary>
internal sealed partial class PluginInstance
{
    public const int MaxSockets = 4;

    private sealed class GuestSocket(Socket socket, Task connected)
    {
        public Socket Socket { get; } = socket;
        public Task Connected { get; } = connected;
    }

    private readonly GuestSocket?[] _sockets = new GuestSocket?[MaxSockets];
    private CancellationTokenSource? _socketDeadline;
    private int _socketBytes;

    /// <summary>Opens a socket (kind 0 UDP, 1 TCP) to an allow-listed <c>ip:port</c>; its id, -4 when not allowed or all are open, -2 when malformed.</summary>
    public int OpenSocket(int kind, string destination)
    {
        if (Context is null) return -4;
        if (kind is not (0 or 1) || !IPEndPoint.TryParse(destination, out var endPoint) || endPoint.Port == 0) return -2;
        string entry = $"{(kind == 0 ? "udp" : "tcp")}://{endPoint}";
        bool allowed = false;
        foreach (var item in Version.Definition.SocketAllowList) allowed |= string.Equals(item, entry, StringComparison.OrdinalIgnoreCase);
        if (!allowed)
        {
            Version.Counters.Add("socket_refused"u8, 1);
            return -4;
        }
        int id = Array.IndexOf(_sockets, null);
        if (id < 0) return -4;
        if (_socketDeadline is null)
        {
            _socketDeadline = CancellationTokenSource.CreateLinkedTokenSource(_callToken);
            _socketDeadline.CancelAfter(Version.Definition.SocketTimeout);
        }
        var socket = kind == 0
            ? new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp)
            : new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        Task connected;
        try
        {
            connected = kind == 0 ? ConnectUdp(socket, endPoint) : socket.ConnectAsync(endPoint, _socketDeadline.Token).AsTask();
        }
        catch (SocketException)
        {
            socket.Dispose();
            return -1;
        }
        _sockets[id] = new GuestSocket(socket, connected);
        return id;
    }

    private static Task ConnectUdp(Socket socket, IPEndPoint endPoint)
    {
        socket.Connect(endPoint);   // no packet: only fixes the peer
        return Task.CompletedTask;
    }

    /// <summary>Charges <paramref name="bytes"/> to the callback's budget; false (nothing charged) when it would exceed it.</summary>
    private bool Charge(int bytes)
    {
        if (_socketBytes + bytes > Version.Definition.SocketBytesPerCallback)
        {
            Version.Counters.Add("socket_cut_off"u8, 1);
            return false;
        }
        _socketBytes += bytes;
        return true;
    }

    public int SendSocket(int id, ReadOnlySpan<byte> data)
    {
        if ((uint)id >= MaxSockets || _sockets[id] is not { } socket) return -2;
        if (!Charge(data.Length)) return -4;
        var copy = data.ToArray();
        var deadline = _socketDeadline!.Token;
        return StartOperation(async _ =>
        {
            await socket.Connected.ConfigureAwait(false);
            int sent = 0;
            while (sent < copy.Length) sent += await socket.Socket.SendAsync(copy.AsMemory(sent), SocketFlags.None, deadline).ConfigureAwait(false);
        });
    }

    /// <summary>Receives up to <paramref name="capacity"/> bytes (what is left of the budget at most); the result is the bytes read.</summary>
    public int ReceiveSocket(int id, int capacity)
    {
        if ((uint)id >= MaxSockets || _sockets[id] is not { } socket) return -2;
        if (capacity <= 0) return -2;
        int allowed = Math.Min(Math.Min(capacity, ushort.MaxValue), Version.Definition.SocketBytesPerCallback - _socketBytes);
        if (allowed <= 0 || !Charge(allowed)) return -4;
        var deadline = _socketDeadline!.Token;
        return StartOperation(token => ReceiveAsync(socket, allowed, deadline));
    }

    private static async Task<byte[]?> ReceiveAsync(GuestSocket socket, int capacity, CancellationToken deadline)
    {
        await socket.Connected.ConfigureAwait(false);
        var buffer = new byte[capacity];
        int n = await socket.Socket.ReceiveAsync(buffer, SocketFlags.None, deadline).ConfigureAwait(false);
        return buffer[..n];
    }

    public int CloseSocket(int id)
    {
        if ((uint)id >= MaxSockets || _sockets[id] is not { } socket) return -2;
        _sockets[id] = null;
        socket.Socket.Dispose();
        return 0;
    }

    private void EndSocketCall()
    {
        if (_socketDeadline is null) return;
        _socketDeadline.Cancel();
        _socketDeadline.Dispose();
        _socketDeadline = null;
        for (int i = 0; i < MaxSockets; i++)
        {
            _sockets[i]?.Socket.Dispose();
            _sockets[i] = null;
        }
        _socketBytes = 0;
    }
}

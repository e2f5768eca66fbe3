using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ananas.Cluster.Protocol;

namespace Ananas.Cluster.Tests;

/// <summary>The peer protocol: authenticated per message, no replays, bounded message size.</summary>
public sealed class PeerChannelTests
{
    /// <summary>A connected pair of loopback streams.</summary>
    private static async Task<(NetworkStream Client, NetworkStream Server)> PairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        return (new NetworkStream(client, true), new NetworkStream(await accept, true));
    }

    /// <summary>Sits between the two ends, recording what the initiator sends and able to inject bytes.</summary>
    private sealed class Recorder(Stream inner) : Stream
    {
        public readonly MemoryStream Written = new();
        public override void Write(byte[] buffer, int offset, int count) { Written.Write(buffer, offset, count); inner.Write(buffer, offset, count); }
        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written.Write(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken);
        }
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); }
    }

    /// <summary>The next message (reads wait on the reader's own thread), at most 10 s.</summary>
    private static Task<PeerMessage?> ReadAsync(PeerChannel channel) => Task.Run(() => channel.Read(TimeSpan.FromSeconds(10)));

    private static async Task<(PeerChannel Initiator, PeerChannel Acceptor, Recorder Wire, NetworkStream Raw)> OpenAsync()
    {
        var (client, server) = await PairAsync();
        var wire = new Recorder(client);
        var accept = Task.Run(() => PeerHandshake.Accept(server, TestNode.Secret, "b", 64, TimeSpan.FromSeconds(5)));
        var initiate = await Task.Run(() => PeerHandshake.Initiate(wire, TestNode.Secret, "a", 64, TimeSpan.FromSeconds(5)));
        var accepted = await accept;
        Assert.Equal(HandshakeOutcome.Accepted, initiate.Outcome);
        Assert.Equal(HandshakeOutcome.Accepted, accepted.Outcome);
        Assert.Equal("b", initiate.PeerId);
        Assert.Equal("a", accepted.PeerId);
        return (initiate.Channel!, accepted.Channel!, wire, client);
    }

    [Fact]
    public async Task A_message_sent_again_verbatim_is_refused_and_ends_the_connection()
    {
        var (initiator, acceptor, wire, raw) = await OpenAsync();
        await using var _1 = initiator;
        await using var _2 = acceptor;
        Assert.True(initiator.TrySend(PeerMessageType.Ping, PeerMessageFlags.None, new byte[8]));
        var first = await ReadAsync(acceptor);
        Assert.Equal(PeerMessageType.Ping, first!.Value.Type);
        first.Value.Return();
        // The ping's bytes are the last 6 + 8 + 32 written; replaying them fails the next sequence number's MAC.
        var written = wire.Written.ToArray();
        await raw.WriteAsync(written.AsMemory(written.Length - 46, 46));
        Assert.Null(await ReadAsync(acceptor));
        Assert.True(acceptor.Rejected);
        Assert.True(acceptor.Closed.IsCancellationRequested);
    }

    [Fact]
    public async Task A_message_announcing_more_than_the_largest_body_is_refused_before_it_is_read()
    {
        var (initiator, acceptor, _, raw) = await OpenAsync();
        await using var _1 = initiator;
        await using var _2 = acceptor;
        var header = new byte[6];
        BinaryPrimitives.WriteInt32BigEndian(header, PeerChannel.MaxBody + 2 + PeerChannel.MacLength + 1);
        header[4] = (byte)PeerMessageType.Query;
        await raw.WriteAsync(header);
        Assert.Null(await ReadAsync(acceptor));
        Assert.True(acceptor.Rejected, "refused, not timed out");
        Assert.False(initiator.TrySend(PeerMessageType.Query, PeerMessageFlags.None, new byte[PeerChannel.MaxBody + 1]));
    }

    [Fact]
    public async Task Messages_sent_while_the_peer_reads_nothing_arrive_whole_and_in_order_once_it_reads()
    {
        // Straight on the sockets (no wrapper): sends go inline until the socket's buffers are full, then a part is
        // left to the writer thread and the rest queue behind it; the reader must see every message, authenticated, in order.
        var (client, server) = await PairAsync();
        var accept = Task.Run(() => PeerHandshake.Accept(server, TestNode.Secret, "b", 64, TimeSpan.FromSeconds(5)));
        var initiate = await Task.Run(() => PeerHandshake.Initiate(client, TestNode.Secret, "a", 64, TimeSpan.FromSeconds(5)));
        await using var initiator = initiate.Channel!;
        await using var acceptor = (await accept).Channel!;
        var body = new byte[60_000];
        int sent = 0;
        for (; sent < 400; sent++)
        {
            BinaryPrimitives.WriteInt32BigEndian(body, sent);
            if (!initiator.TrySend(PeerMessageType.Answer, PeerMessageFlags.None, body)) break;
        }
        Assert.True(sent > 64, $"only {sent} messages were taken before the queue was full");
        for (int i = 0; i < sent; i++)
        {
            var message = await ReadAsync(acceptor);
            Assert.NotNull(message);
            Assert.Equal(i, BinaryPrimitives.ReadInt32BigEndian(message!.Value.Body));
            Assert.Equal(body.Length, message.Value.Body.Length);
            message.Value.Return();
        }
        Assert.False(acceptor.Closed.IsCancellationRequested);
    }

    [Fact]
    public async Task A_handshake_with_another_secret_is_refused_on_both_sides()
    {
        var (client, server) = await PairAsync();
        var accept = Task.Run(() => PeerHandshake.Accept(server, TestNode.Secret, "b", 64, TimeSpan.FromSeconds(5)));
        var initiate = await Task.Run(() => PeerHandshake.Initiate(client, RandomNumberGenerator.GetBytes(32), "x", 64, TimeSpan.FromSeconds(5)));
        Assert.Equal(HandshakeOutcome.WrongSecret, (await accept).Outcome);
        Assert.NotEqual(HandshakeOutcome.Accepted, initiate.Outcome);
        client.Dispose();
        server.Dispose();
    }
}

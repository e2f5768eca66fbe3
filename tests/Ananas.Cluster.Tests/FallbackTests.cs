using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ananas.Cluster.Protocol;
using Ananas.Dns;

namespace Ananas.Cluster.Tests;

/// <summary>A forwarded question whose owner fails in any way is resolved here: the client gets an answer, never the owner's failure.</summary>
public sealed class FallbackTests
{
    [Fact]
    public async Task Every_question_in_flight_to_a_peer_that_dies_is_answered_by_local_resolution()
    {
        var peer = new FakePeer("p", FakePeer.Mode.AcknowledgeOnly);
        // A long budget and slow pings: only the connection's loss can end the wait.
        var a = await TestNode.StartAsync("a", TestNode.OptionsFor("a", budget: TimeSpan.FromSeconds(3)) with { ProbeInterval = TimeSpan.FromSeconds(2) });
        try
        {
            await a.JoinPeerAsync("p", peer.Address);
            var names = Enumerable.Range(0, 10_000).Select(i => $"www.d{i}.test.").Where(n => a.Forwarder.OwnersOf(DnsName.Parse(n))[0] == "p").Take(8).ToList();
            // Eight: as many as the load bound lets one node have in flight to one peer (more would be resolved here).
            var asked = names.Select(n => a.QueryAsync(n)).ToList();
            await TestNode.WaitUntilAsync(() => peer.Queries == names.Count, TimeSpan.FromSeconds(5));
            Assert.DoesNotContain(asked, t => t.IsCompleted);

            var died = Stopwatch.StartNew();
            await peer.DisposeAsync();
            var answers = await Task.WhenAll(asked);
            Assert.All(answers, answer => Assert.Equal(Rcode.NXDomain, answer.Rcode));
            Assert.True(died.Elapsed < TimeSpan.FromSeconds(2), $"answered {died.Elapsed.TotalMilliseconds} ms after the owner died (the budget is 3 s)");
            Assert.Equal(names.Count, a.Forwarder.Metrics.Fallbacks);
            Assert.Equal(0, a.Forwarder.Metrics.Answered);
            Assert.False(a.InRing("p"));
        }
        finally
        {
            await peer.DisposeAsync();
            await a.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_owners_own_servfail_is_not_passed_on_and_the_question_is_resolved_here()
    {
        var (answer, metrics, upstream, asked) = await AskOwnedByAsync(FakePeer.Mode.ServFail);
        Assert.Equal(Rcode.NXDomain, answer.Rcode);
        Assert.Equal(1, asked);
        Assert.Equal(1, metrics.OwnerFailures);
        Assert.True(upstream > 0, "resolved locally");
    }

    [Fact]
    public async Task An_owners_dnssec_bogus_servfail_stands_because_a_local_resolution_would_reach_the_same_verdict()
    {
        var (answer, metrics, upstream, asked) = await AskOwnedByAsync(FakePeer.Mode.Bogus);
        Assert.Equal(Rcode.ServFail, answer.Rcode);
        Assert.Contains(answer.Edns!.Options, o => o is Ananas.Dns.Messages.ExtendedErrorOption { InfoCode: EdeCode.DnssecBogus });
        Assert.Equal(1, asked);
        Assert.Equal(0, metrics.OwnerFailures);
        Assert.Equal(0, upstream);
    }

    /// <summary>Asks a node, whose one peer is a fake in <paramref name="mode"/>, a name that peer owns: the client's answer, the node's counters, its upstream queries, the questions the peer got.</summary>
    private static async Task<(Ananas.Dns.Messages.DnsMessage Answer, ClusterMetrics Metrics, long Upstream, int Asked)> AskOwnedByAsync(FakePeer.Mode mode)
    {
        await using var peer = new FakePeer("p", mode);
        await using var a = await TestNode.StartAsync("a");
        await a.JoinPeerAsync("p", peer.Address);
        var answer = await a.QueryAsync(a.NameOwnedBy("p"));
        return (answer, a.Forwarder.Metrics, a.Authority.Queries, peer.Queries);
    }

    [Fact]
    public async Task A_peer_that_starts_listening_after_this_node_is_joined_within_a_moment_not_a_probe_interval_later()
    {
        // A free port, nobody listening yet: the first connection attempts are refused.
        IPEndPoint address;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            address = (IPEndPoint)probe.LocalEndPoint!;
        }
        var a = await TestNode.StartAsync("a", TestNode.OptionsFor("a") with { ProbeInterval = TimeSpan.FromSeconds(5) });
        try
        {
            await a.Forwarder.SetMembersAsync([("a", a.PeerAddress), ("p", address)]);
            await Task.Delay(300);
            Assert.False(a.InRing("p"));
            await using var peer = new FakePeer("p", FakePeer.Mode.AcknowledgeOnly, address: address);
            var listening = Stopwatch.StartNew();
            await TestNode.WaitUntilAsync(() => a.InRing("p"), TimeSpan.FromSeconds(4));
            Assert.True(listening.Elapsed < TimeSpan.FromSeconds(2), $"joined {listening.Elapsed.TotalMilliseconds} ms after the peer listened (probe interval 5 s)");
            Assert.Equal(0, a.Forwarder.Metrics.RefusedPeers);
        }
        finally
        {
            await a.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_initiator_that_gives_up_during_the_handshake_is_not_counted_as_a_peer_without_the_secret()
    {
        var a = await TestNode.StartAsync("a");
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(a.PeerAddress);
            // It holds the secret and says Hello, then closes before its Auth (as an initiator whose timeout ran out).
            var stream = new HelloThenClose(new NetworkStream(socket, ownsSocket: true));
            var (outcome, channel, _) = PeerHandshake.Initiate(stream, TestNode.Secret, "b", 16, TimeSpan.FromSeconds(5));
            if (channel is not null) await channel.DisposeAsync();
            await Task.Delay(300);
            Assert.Equal(0, a.Forwarder.Metrics.RefusedPeers);

            // One with another secret still is refused and counted.
            using var other = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await other.ConnectAsync(a.PeerAddress);
            PeerHandshake.Initiate(new NetworkStream(other, ownsSocket: true), System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), "x", 16, TimeSpan.FromSeconds(5));
            await TestNode.WaitUntilAsync(() => a.Forwarder.Metrics.RefusedPeers == 1, TimeSpan.FromSeconds(3));
        }
        finally
        {
            await a.DisposeAsync();
        }
    }

    /// <summary>Passes the first write (the Hello) and reads through; the next write closes the connection instead.</summary>
    private sealed class HelloThenClose(NetworkStream inner) : Stream
    {
        private int _writes;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _writes) == 1) await inner.WriteAsync(buffer, cancellationToken);
            else inner.Socket.Close();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}

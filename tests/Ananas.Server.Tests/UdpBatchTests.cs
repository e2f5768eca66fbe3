using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Frames;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;
using Ananas.Server.Tests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Server.Tests;

/// <summary>
/// The Linux recvmmsg/sendmmsg receive path. Most tests drive one <see cref="UdpBatch"/> from the test thread on a
/// socket of their own, so what one receive call takes in is exact: loopback delivers a datagram into the
/// server socket's queue before the client's send returns, and the batch's replies reach the clients' queues
/// before <see cref="UdpBatch.ReceiveAndAnswer"/> returns.
/// </summary>
public sealed class UdpBatchTests
{
    private static FakeAuthority World() => new(
        "www.example.com. 300 A 192.0.2.80",
        "big.example.com. 300 TXT " + string.Join(' ', Enumerable.Range(0, 12).Select(i => $"\"{new string((char)('a' + i), 200)}\"")));

    /// <summary>A server socket on 127.0.0.1 with a batch over <paramref name="server"/>'s pipeline.</summary>
    private sealed class Harness : IDisposable
    {
        public Harness(TestServer server, int size)
        {
            Socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            Socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            EndPoint = (IPEndPoint)Socket.LocalEndPoint!;
            Batch = new UdpBatch(Socket, new UdpListener.UdpReplySink(Socket, server.Pipeline.Options.MaxUdpPayload, NullLogger.Instance), server.Pipeline, size);
        }

        public Socket Socket { get; }
        public IPEndPoint EndPoint { get; }
        public UdpBatch Batch { get; }

        public void Dispose()
        {
            Batch.Dispose();
            Socket.Dispose();
        }
    }

    private static Socket Client(string address)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
        client.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
        return client;
    }

    /// <summary>The replies already queued on <paramref name="client"/> (none waited for).</summary>
    private static List<byte[]> Queued(Socket client)
    {
        var replies = new List<byte[]>();
        var buffer = new byte[65535];
        while (client.Available > 0) replies.Add(buffer.AsSpan(0, client.Receive(buffer)).ToArray());
        return replies;
    }

    /// <summary>Resolves www.example.com once through the batch (a miss, answered later by the single-datagram sink).</summary>
    private static async Task WarmAsync(Harness harness, Socket client, string name = "www.example.com", ushort? udpPayload = null)
    {
        client.SendTo(DnsTestClient.Query(name, id: 1, udpPayload: udpPayload).ToArray(), harness.EndPoint);
        Assert.Equal(UdpBatch.Outcome.Continue, harness.Batch.ReceiveAndAnswer());
        var buffer = new byte[65535];
        int n = await client.ReceiveAsync(buffer).WaitAsync(DnsTestClient.Timeout);
        Assert.Equal(Rcode.NoError, DnsMessage.Parse(buffer.AsSpan(0, n)).Rcode);
    }

    [Fact]
    public async Task Many_clients_in_one_batch_each_get_their_own_answer()
    {
        await using var server = new TestServer(World());
        using var harness = new Harness(server, size: 32);
        using var warm = Client("127.0.0.1");
        await WarmAsync(harness, warm);
        int upstream = server.Authority.Queries;
        long hits = server.Pipeline.Counters.CacheHitCount;

        var clients = Enumerable.Range(0, 40).Select(i => Client($"127.0.{3 + i / 20}.{i % 20 + 1}")).ToArray();
        try
        {
            for (int i = 0; i < clients.Length; i++)
                clients[i].SendTo(DnsTestClient.Query("www.example.com", id: (ushort)(1000 + i)).ToArray(), harness.EndPoint);

            long frames = server.Pipeline.Counters.FrameCount;
            Assert.Equal(UdpBatch.Outcome.Continue, harness.Batch.ReceiveAndAnswer());
            Assert.Equal(32, server.Pipeline.Counters.FrameCount - frames); // one call took a full batch
            Assert.Equal(UdpBatch.Outcome.Continue, harness.Batch.ReceiveAndAnswer());
            Assert.Equal(40, server.Pipeline.Counters.FrameCount - frames);

            for (int i = 0; i < clients.Length; i++)
            {
                var reply = DnsMessage.Parse(Assert.Single(Queued(clients[i])));
                Assert.Equal(1000 + i, reply.Id);
                Assert.Equal("192.0.2.80", Assert.Single(reply.Answers).Data.ToString());
            }
            Assert.Equal(hits + 40, server.Pipeline.Counters.CacheHitCount);
            Assert.Equal(upstream, server.Authority.Queries);
            Assert.Equal(0, harness.Batch.SendFailures);
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }
    }

    [Fact]
    public async Task A_batchs_own_counts_are_in_the_totals_while_it_runs_and_after_it_is_disposed()
    {
        await using var server = new TestServer(World());
        var counters = server.Pipeline.Counters;
        var harness = new Harness(server, size: 16);
        using var client = Client("127.0.0.1");
        await WarmAsync(harness, client);
        long frames = counters.FrameCount, answers = counters.ResponseCount(Transport.Udp, 0), observed = counters.HitLatency.Snapshot().Sum();
        double seconds = counters.HitLatency.SumSeconds;

        for (int i = 0; i < 10; i++) client.SendTo(DnsTestClient.Query("www.example.com", id: (ushort)(100 + i)).ToArray(), harness.EndPoint);
        while (counters.FrameCount - frames < 10) Assert.Equal(UdpBatch.Outcome.Continue, harness.Batch.ReceiveAndAnswer());
        Assert.Equal(10, Queued(client).Count);
        (long, long, long) Totals() => (counters.FrameCount - frames, counters.ResponseCount(Transport.Udp, 0) - answers, counters.HitLatency.Snapshot().Sum() - observed);
        Assert.Equal((10L, 10L, 10L), Totals());
        Assert.True(counters.HitLatency.SumSeconds > seconds);

        // Its thread's counts are folded into the shared ones: nothing lost, nothing counted twice.
        harness.Dispose();
        Assert.Equal((10L, 10L, 10L), Totals());
    }

    [Fact]
    public async Task Malformed_and_oversized_datagrams_get_formerr_or_nothing_and_the_batch_goes_on()
    {
        await using var server = new TestServer(World());
        using var harness = new Harness(server, size: 16);
        using var client = Client("127.0.0.1");
        await WarmAsync(harness, client);
        long dropped = server.Pipeline.Counters.DroppedCount;

        var cutQuestion = new byte[] { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, (byte)'w', (byte)'w' };
        var response = DnsTestClient.Query("www.example.com", id: 5).ToArray();
        response[2] |= 0x80; // QR: a response, never answered
        var oversized = new byte[UdpBatch.ReceiveCapacity + 1000];
        DnsTestClient.Query("www.example.com", id: 6).ToArray().CopyTo(oversized, 0);
        client.SendTo(new byte[] { 1, 2, 3 }, harness.EndPoint);
        client.SendTo(cutQuestion, harness.EndPoint);
        client.SendTo(response, harness.EndPoint);
        client.SendTo(oversized, harness.EndPoint);
        client.SendTo(DnsTestClient.Query("www.example.com", id: 7).ToArray(), harness.EndPoint);

        Assert.Equal(UdpBatch.Outcome.Continue, harness.Batch.ReceiveAndAnswer());
        var replies = Queued(client).Select(r => DnsMessage.Parse(r)).ToList();
        Assert.Equal(2, replies.Count);
        Assert.Equal(0x1234, replies[0].Id);
        Assert.Equal(Rcode.FormErr, replies[0].Rcode);
        Assert.Equal(7, replies[1].Id);
        Assert.Equal(Rcode.NoError, replies[1].Rcode);
        Assert.Equal(dropped + 3, server.Pipeline.Counters.DroppedCount); // too short, a response, oversized
    }

    [Fact]
    public async Task Cached_answers_respect_the_clients_udp_size_from_the_batch()
    {
        await using var server = new TestServer(World(), new PipelineOptions { MaxUdpPayload = 4096 });
        using var harness = new Harness(server, size: 8);
        using var client = Client("127.0.0.1");
        await WarmAsync(harness, client, "big.example.com", udpPayload: 4096);

        client.SendTo(DnsTestClient.Query("big.example.com", RRType.TXT, id: 21, udpPayload: 4096).ToArray(), harness.EndPoint);
        client.SendTo(DnsTestClient.Query("big.example.com", RRType.TXT, id: 22, udpPayload: 1232).ToArray(), harness.EndPoint);
        client.SendTo(DnsTestClient.Query("big.example.com", RRType.TXT, id: 23).ToArray(), harness.EndPoint);
        Assert.Equal(UdpBatch.Outcome.Continue, harness.Batch.ReceiveAndAnswer());

        // The whole answer (> 2,400 octets) goes out in the batch; the smaller clients get TC=1 within their limit
        // (the cache does not answer what does not fit, so those two are resolved and truncated the slow way).
        var replies = new Dictionary<int, byte[]>();
        var buffer = new byte[65535];
        var deadline = Stopwatch.StartNew();
        while (replies.Count < 3 && deadline.Elapsed < DnsTestClient.Timeout)
        {
            if (client.Available == 0) { await Task.Delay(10); continue; }
            int n = client.Receive(buffer);
            replies[BinaryPrimitives.ReadUInt16BigEndian(buffer)] = buffer.AsSpan(0, n).ToArray();
        }
        Assert.Equal(3, replies.Count);
        var whole = DnsMessage.Parse(replies[21]);
        Assert.False(whole.Has(HeaderFlags.TC));
        Assert.Single(whole.Answers);
        Assert.True(replies[21].Length > 2400);
        Assert.True(DnsMessage.Parse(replies[22]).Has(HeaderFlags.TC));
        Assert.True(replies[22].Length <= 1232);
        Assert.True(DnsMessage.Parse(replies[23]).Has(HeaderFlags.TC));
        Assert.True(replies[23].Length <= 512);
    }

    [Fact]
    public async Task A_batch_of_cache_hits_allocates_nothing()
    {
        await using var server = new TestServer(World());
        using var harness = new Harness(server, size: 32);
        using var client = Client("127.0.0.1");
        await WarmAsync(harness, client, udpPayload: 1232);
        var query = DnsTestClient.Query("www.example.com", id: 9, udpPayload: 1232).ToArray();
        long hits = server.Pipeline.Counters.CacheHitCount;

        // Each round is measured on its own: another thread's allocations can retire this thread's allocation
        // context and its unused remainder (up to ~8 KB) then reads as allocated here, in a rare round. An
        // allocation per hit or per batch shows in every round.
        var perRound = new List<long>();
        for (int round = 0; round < 8; round++)
        {
            for (int i = 0; i < 32; i++) client.SendTo(query, harness.EndPoint);
            long before = GC.GetAllocatedBytesForCurrentThread();
            harness.Batch.ReceiveAndAnswer();
            long after = GC.GetAllocatedBytesForCurrentThread();
            if (round >= 2) perRound.Add(after - before); // the first rounds allocate this thread's reply buffer once
            Assert.Equal(32, Queued(client).Count);
        }
        Assert.Equal(hits + 8 * 32, server.Pipeline.Counters.CacheHitCount);
        int clean = perRound.Count(bytes => bytes == 0);
        Assert.True(clean >= perRound.Count - 1, $"bytes allocated per batch of 32 hits, by round: {string.Join(", ", perRound)}");
    }

    [Fact]
    public async Task The_batched_listener_answers_over_ipv6_our_client_and_dig()
    {
        await using var server = new TestServer(World());
        var listener = new UdpListener(new IPEndPoint(IPAddress.IPv6Loopback, 0), server.Pipeline, new UdpListenerOptions { ThreadsPerSocket = 1, BatchSize = 8 });
        await using var _ = listener;
        listener.Start();

        using var client = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
        client.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        var buffer = new byte[65535];
        for (ushort id = 40; id < 43; id++) // a miss, then cache hits answered in a batch
        {
            client.SendTo(DnsTestClient.Query("www.example.com", id: id).ToArray(), listener.LocalEndPoint);
            using var timeout = new CancellationTokenSource(DnsTestClient.Timeout);
            int n = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            var reply = DnsMessage.Parse(buffer.AsSpan(0, n));
            Assert.Equal(id, reply.Id);
            Assert.Equal("192.0.2.80", Assert.Single(reply.Answers).Data.ToString());
        }
        Assert.True(server.Pipeline.Counters.CacheHitCount >= 2);

        if (EncryptedTransportTests.Tool("dig") is { } dig)
        {
            var output = await EncryptedTransportTests.RunAsync(dig, $"@::1 -p {listener.LocalEndPoint.Port} +tries=1 +time=4 +short www.example.com");
            Assert.Equal("192.0.2.80", output.Trim());
        }
    }
}

using System.Net;
using System.Text;
using System.Text.Json;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Frames;
using Ananas.Server.Hosting;
using Ananas.Server.Pipeline;
using Ananas.Server.Tests.Fakes;
using Ananas.Tests.Shared;

namespace Ananas.Server.Tests;

/// <summary>The query log: one JSON line per reply, written off the query path, drops counted when it falls behind.</summary>
public sealed class QueryLogTests
{
    [Fact]
    public async Task Each_reply_is_one_json_line_with_client_transport_question_rcode_cache_and_latency()
    {
        var output = new MemoryStream();
        await using (var server = new TestServer(new FakeAuthority("www.example.test. 300 A 192.0.2.1"), new PipelineOptions { Access = AccessList.Parse(["127.0.0.0/8"]) }))
        {
            var log = new QueryLog(output, ownsOutput: false);
            server.Pipeline.QueryLog = log;
            var udp = server.Udp.LocalEndPoint;
            Assert.Equal(Rcode.NoError, (await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.test"))).Rcode);
            Assert.Equal(Rcode.NoError, (await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.test"))).Rcode);
            Assert.Equal(Rcode.NXDomain, (await DnsTestClient.TcpAsync(server.Tcp.LocalEndPoint, DnsTestClient.Query("nope.example.test", RRType.AAAA))).Rcode);
            Assert.Equal(Rcode.NotImp, (await DnsTestClient.UdpAsync(udp, NotifyQuery())).Rcode);
            await log.DisposeAsync();
            Assert.Equal(4, log.Written);
            Assert.Equal(0, log.Dropped);
        }
        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(4, lines.Count);
        string Text(JsonElement e, string name) => e.GetProperty(name).GetString()!;

        Assert.Equal(["www.example.test.", "www.example.test.", "nope.example.test."], lines.Take(3).Select(l => Text(l, "qname")));
        Assert.Equal(["A", "A", "AAAA"], lines.Take(3).Select(l => Text(l, "qtype")));
        Assert.Equal(["NOERROR", "NOERROR", "NXDOMAIN", "NOTIMP"], lines.Select(l => Text(l, "rcode")));
        Assert.Equal(["udp", "udp", "tcp", "udp"], lines.Select(l => Text(l, "transport")));
        Assert.Equal([false, true, false, false], lines.Select(l => l.GetProperty("cache_hit").GetBoolean()));
        Assert.All(lines, l => Assert.StartsWith("127.0.0.1:", Text(l, "client")));
        Assert.All(lines, l => Assert.Equal(JsonValueKind.Array, l.GetProperty("ede").ValueKind));
        Assert.All(lines, l => Assert.InRange(l.GetProperty("latency_ms").GetDouble(), 0, 10_000));
        Assert.All(lines, l => Assert.True(DateTimeOffset.UtcNow - DateTimeOffset.Parse(Text(l, "time")) < TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public async Task A_writer_that_falls_behind_drops_and_counts_instead_of_blocking()
    {
        var gate = new GateStream();
        var log = new QueryLog(gate, ownsOutput: false);
        var frame = Frame.CreateReusable(new byte[512], Transport.Udp, new NullSink(), new IPEndPoint(IPAddress.Loopback, 5000));
        var reply = DnsTestClient.Query("www.example.test").CreateResponse().ToArray();
        int total = QueryLog.Capacity + 100;
        for (int i = 0; i < total; i++) log.Record(frame, reply, cacheHit: true);
        // The writer holds at most one entry while stuck on the output; the queue holds Capacity: the rest dropped.
        Assert.InRange(log.Dropped, 99, 100);
        gate.Open();
        await log.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(total, log.Written + log.Dropped);
    }

    [Fact]
    public async Task A_cache_hit_with_the_query_log_on_allocates_nothing_on_the_query_path()
    {
        var pipeline = HitPathAllocationTests.PipelineAnswering("www.example.com. 300 A 192.0.2.80");
        await using var log = new QueryLog(Stream.Null, ownsOutput: false);
        pipeline.QueryLog = log;
        var sink = new NullSink();
        var frame = Frame.CreateReusable(new byte[ushort.MaxValue], Transport.Udp, sink, new IPEndPoint(IPAddress.Loopback, 40000));
        var query = DnsTestClient.Query("www.example.com", udpPayload: 1232).ToArray();
        query.CopyTo(frame.Buffer, 0);
        frame.Length = query.Length;
        pipeline.Handle(frame);
        await PipelineTests.WaitUntil(() => sink.Sent == 1);

        long allocated = AllocationProbe.BytesPerRound(() => pipeline.Handle(frame), callsPerRound: 100);
        Assert.Equal(0, allocated);
        await PipelineTests.WaitUntil(() => log.Written + log.Dropped == sink.Sent);
    }

    private static DnsMessage NotifyQuery()
    {
        var query = DnsTestClient.Query("www.example.test");
        query.Opcode = Opcode.Notify;
        return query;
    }

    private sealed class NullSink : IReplySink
    {
        public int Sent;
        public CancellationToken ClientGone => CancellationToken.None;
        public int MaxReplySize(int clientUdpPayload) => 1232;
        public void Send(Frame frame, ReadOnlySpan<byte> reply) => Interlocked.Increment(ref Sent);
        public void Drop(Frame frame)
        {
        }
    }

    /// <summary>An output that blocks every write until opened: a disk that cannot keep up.</summary>
    private sealed class GateStream : Stream
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _open.TrySetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => await _open.Task;
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _open.Task;
        public override void Write(byte[] buffer, int offset, int count) => _open.Task.Wait();
        public override Task FlushAsync(CancellationToken cancellationToken) => _open.Task;
        public override void Flush() => _open.Task.Wait();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

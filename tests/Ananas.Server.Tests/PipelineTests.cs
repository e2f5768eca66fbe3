using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Pipeline;
using Ananas.Server.Tests.Fakes;

namespace Ananas.Server.Tests;

/// <summary>Frames from real loopback sockets through the pipeline, against a scripted authority and a virtual clock.</summary>
public sealed class PipelineTests
{
    private static FakeAuthority World() => new(
        "www.example.com. 300 A 192.0.2.80",
        "slow.example.com. 300 A 192.0.2.81",
        "fast.example.com. 300 A 192.0.2.82",
        "big.example.com. 300 TXT " + string.Join(' ', Enumerable.Range(0, 12).Select(i => $"\"{new string((char)('a' + i), 200)}\"")));

    [Fact]
    public async Task Udp_miss_resolves_then_the_same_query_is_a_cache_hit_with_a_lower_ttl()
    {
        await using var server = new TestServer(World());
        var first = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("www.example.com", id: 7));
        Assert.Equal(Rcode.NoError, first.Rcode);
        Assert.Equal(7, first.Id);
        Assert.True(first.Has(HeaderFlags.QR | HeaderFlags.RA));
        var a = Assert.Single(first.Answers);
        Assert.Equal(300u, a.Ttl);
        int upstream = server.Authority.Queries;
        Assert.True(upstream > 0);

        server.Clock.Advance(TimeSpan.FromSeconds(100));
        var second = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("WWW.Example.COM", id: 8));
        Assert.Equal(8, second.Id);
        Assert.Equal(200u, Assert.Single(second.Answers).Ttl);
        Assert.Equal("WWW.Example.COM.", second.Question.Name.ToString());
        Assert.Equal(upstream, server.Authority.Queries);
        Assert.Equal(1, server.Pipeline.Counters.CacheHitCount);
    }

    [Fact]
    public async Task Tcp_miss_resolves_then_hits_the_cache()
    {
        await using var server = new TestServer(World());
        var first = await DnsTestClient.TcpAsync(server.Tcp.LocalEndPoint, DnsTestClient.Query("www.example.com", id: 9));
        Assert.Equal(Rcode.NoError, first.Rcode);
        int upstream = server.Authority.Queries;
        server.Clock.Advance(TimeSpan.FromSeconds(10));
        var second = await DnsTestClient.TcpAsync(server.Tcp.LocalEndPoint, DnsTestClient.Query("www.example.com", id: 10));
        Assert.Equal(290u, Assert.Single(second.Answers).Ttl);
        Assert.Equal(upstream, server.Authority.Queries);
    }

    [Fact]
    public async Task Garbage_with_a_readable_header_is_formerr_and_shorter_than_a_header_is_silence()
    {
        await using var server = new TestServer(World());
        // A header claiming one question, then a label running past the end.
        byte[] garbage = [0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3F, (byte)'a'];
        var reply = await DnsTestClient.UdpRawAsync(server.Udp.LocalEndPoint, garbage);
        Assert.NotNull(reply);
        var header = DnsHeader.Read(reply);
        Assert.Equal(0x1234, header.Id);
        Assert.True(header.Has(HeaderFlags.QR));
        Assert.Equal((byte)Rcode.FormErr, header.RcodeLow);

        var none = await DnsTestClient.UdpRawAsync(server.Udp.LocalEndPoint, [1, 2, 3, 4, 5], TimeSpan.FromMilliseconds(300));
        Assert.Null(none);
        Assert.Equal(0, server.Authority.Queries);
    }

    [Fact]
    public async Task Unknown_opcode_is_notimp()
    {
        await using var server = new TestServer(World());
        var query = DnsTestClient.Query("www.example.com");
        query.Opcode = Opcode.Status;
        var reply = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, query);
        Assert.Equal(Rcode.NotImp, reply.Rcode);
    }

    [Fact]
    public async Task Clients_outside_the_acl_are_refused()
    {
        var options = new PipelineOptions { Access = AccessList.Parse(["192.0.2.0/24"]), Scheduler = null };
        await using var server = new TestServer(World(), options);
        var reply = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("www.example.com", udpPayload: 1232));
        Assert.Equal(Rcode.Refused, reply.Rcode);
        Assert.NotNull(reply.Edns);
        Assert.Equal("www.example.com.", reply.Question.Name.ToString());
        Assert.Equal(0, server.Authority.Queries);
    }

    [Fact]
    public async Task An_answer_too_big_for_the_client_is_truncated_over_udp_and_whole_over_tcp()
    {
        await using var server = new TestServer(World(), new PipelineOptions { MaxUdpPayload = 4096 });
        var udp = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("big.example.com", RRType.TXT));
        Assert.True(udp.Has(HeaderFlags.TC));
        Assert.Empty(udp.Answers);

        var tcp = await DnsTestClient.TcpAsync(server.Tcp.LocalEndPoint, DnsTestClient.Query("big.example.com", RRType.TXT));
        Assert.False(tcp.Has(HeaderFlags.TC));
        Assert.Single(tcp.Answers);

        // Cached now: a client with a large enough EDNS buffer gets it whole over UDP from the cache.
        int upstream = server.Authority.Queries;
        var large = await DnsTestClient.UdpAsync(server.Udp.LocalEndPoint, DnsTestClient.Query("big.example.com", RRType.TXT, udpPayload: 4096));
        Assert.False(large.Has(HeaderFlags.TC));
        Assert.Single(large.Answers);
        Assert.Equal(upstream, server.Authority.Queries);
    }

    [Fact]
    public async Task Tcp_pipelined_queries_are_answered_as_they_complete()
    {
        var authority = World().Delay("slow.example.com", TimeSpan.FromMilliseconds(800));
        await using var server = new TestServer(authority);
        using var socket = await DnsTestClient.ConnectTcpAsync(server.Tcp.LocalEndPoint);
        await DnsTestClient.SendTcpAsync(socket, DnsTestClient.Query("slow.example.com", id: 1));
        await DnsTestClient.SendTcpAsync(socket, DnsTestClient.Query("fast.example.com", id: 2));
        var firstBack = await DnsTestClient.ReceiveTcpAsync(socket);
        var secondBack = await DnsTestClient.ReceiveTcpAsync(socket);
        Assert.Equal(2, firstBack!.Id);
        Assert.Equal("fast.example.com.", firstBack.Question.Name.ToString());
        Assert.Equal(1, secondBack!.Id);
        Assert.Equal(Rcode.NoError, secondBack.Rcode);
    }

    [Fact]
    public async Task Closing_the_tcp_connection_cancels_its_recursion()
    {
        var authority = World().Delay("slow.example.com", TimeSpan.FromSeconds(3));
        await using var server = new TestServer(authority);
        var socket = await DnsTestClient.ConnectTcpAsync(server.Tcp.LocalEndPoint);
        await DnsTestClient.SendTcpAsync(socket, DnsTestClient.Query("slow.example.com", id: 1));
        await WaitUntil(() => server.Authority.Queries > 0);
        socket.Dispose();
        await WaitUntil(() => server.Pipeline.Counters.ClientGoneCount == 1); // counted when the cancellation is seen
        // ...and the frame is released in the same task's finally block, a moment later.
        await WaitUntil(() => server.Pipeline.InFlight == 0);
    }

    [Fact]
    public async Task An_idle_tcp_connection_is_closed()
    {
        await using var server = new TestServer(World(), tcpOptions: new Listeners.TcpListenerOptions { IdleTimeout = TimeSpan.FromMilliseconds(200) });
        using var socket = await DnsTestClient.ConnectTcpAsync(server.Tcp.LocalEndPoint);
        Assert.Null(await DnsTestClient.ReceiveTcpAsync(socket));
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in 5 s");
            await Task.Delay(10);
        }
    }
}

using Ananas.Resolver.Cache;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Conductor;

namespace Ananas.Resolver.Tests.Conductor;

/// <summary>
/// The network exchanger against a tiny responder on 127.0.0.1 (UDP and TCP on one port). Bounded: every test
/// stops its responder, and the exchanger's timeout is short.
/// </summary>
[Collection("Loopback sockets")]
public sealed class ConductorExchangeTests
{
    // One UDP attempt with a fixed retransmission timeout, so each case waits exactly as long as it says.
    private static Resolver.Conductor.Conductor Exchanger(TimeSpan? timeout = null)
    {
        var rto = timeout ?? TimeSpan.FromMilliseconds(1500);
        var infrastructure = new InfrastructureCache(
            new InfrastructureCacheOptions { InitialRto = rto, MinRto = rto, MaxRto = rto }, SystemClock.Instance);
        return new Resolver.Conductor.Conductor(new ConductorOptions { UdpAttempts = 1 }, infrastructure);
    }

    /// <summary>Answers each query with what <c>reply</c> returns (wire bytes, or null to stay silent).</summary>
    private sealed class Responder : IAsyncDisposable
    {
        private readonly Socket _udp;
        private readonly TcpListener _tcp;
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(20));
        private readonly Task _udpLoop;
        private readonly Task _tcpLoop;

        private readonly Func<DnsMessage, byte[]?>? _forgery;

        /// <param name="forgery">Optional datagram sent over UDP just before each real reply (a spoofing race).</param>
        public Responder(Func<DnsMessage, bool, byte[]?> reply, Func<DnsMessage, byte[]?>? forgery = null)
        {
            _forgery = forgery;
            while (true)
            {
                _udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                _udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                try
                {
                    _tcp = new TcpListener(IPAddress.Loopback, ((IPEndPoint)_udp.LocalEndPoint!).Port);
                    _tcp.Start();
                    break;
                }
                catch (SocketException)
                {
                    _udp.Dispose(); // that port is taken for TCP: try another
                }
            }
            EndPoint = (IPEndPoint)_udp.LocalEndPoint!;
            _udpLoop = ServeUdpAsync(reply);
            _tcpLoop = ServeTcpAsync(reply);
        }

        public IPEndPoint EndPoint { get; }

        public int UdpQueries;
        public int TcpQueries;

        private async Task ServeUdpAsync(Func<DnsMessage, bool, byte[]?> reply)
        {
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    var r = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                    Interlocked.Increment(ref UdpQueries);
                    var query = DnsMessage.Parse(buffer.AsSpan(0, r.ReceivedBytes));
                    if (_forgery?.Invoke(query) is { } forged) await _udp.SendToAsync(forged, SocketFlags.None, r.RemoteEndPoint, _stop.Token);
                    var answer = reply(query, false);
                    if (answer is not null) await _udp.SendToAsync(answer, SocketFlags.None, r.RemoteEndPoint, _stop.Token);
                }
            }
            catch (OperationCanceledException) { }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
        }

        private async Task ServeTcpAsync(Func<DnsMessage, bool, byte[]?> reply)
        {
            try
            {
                while (true)
                {
                    using var client = await _tcp.AcceptTcpClientAsync(_stop.Token);
                    var stream = client.GetStream();
                    var prefix = new byte[2];
                    await stream.ReadExactlyAsync(prefix, _stop.Token);
                    var body = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
                    await stream.ReadExactlyAsync(body, _stop.Token);
                    Interlocked.Increment(ref TcpQueries);
                    var answer = reply(DnsMessage.Parse(body), true);
                    if (answer is null) continue;
                    var framed = new byte[answer.Length + 2];
                    BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)answer.Length);
                    answer.CopyTo(framed, 2);
                    await stream.WriteAsync(framed, _stop.Token);
                }
            }
            catch (OperationCanceledException) { }
            catch (SocketException) { }
            catch (IOException) { }
            catch (ObjectDisposedException) { }
            catch (InvalidOperationException) { } // the listener was stopped between two accepts
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _udp.Dispose();
            _tcp.Stop();
            await Task.WhenAll(_udpLoop, _tcpLoop);
            _stop.Dispose();
        }
    }

    private static DnsMessage Query() => DnsMessage.CreateQuery(0, DnsName.Parse("www.example.com."), RRType.A, recursionDesired: false);

    private static byte[] Answer(DnsMessage query, string address = "192.0.2.80")
    {
        var response = query.CreateResponse();
        response.Set(HeaderFlags.AA);
        response.Answers.Add(RecordText.Parse($"www.example.com. 300 A {address}", DnsName.Root));
        return response.ToArray();
    }

    private static ExchangeRequest Request(IPEndPoint server, UpstreamTransport transport = UpstreamTransport.Udp) =>
        new(Query(), server, transport, DnsName.Parse("example.com."));

    [Fact]
    public async Task A_matching_UDP_answer_is_accepted()
    {
        await using var responder = new Responder((q, _) => Answer(q));
        using var exchanger = Exchanger();
        var result = await exchanger.ExchangeAsync(Request(responder.EndPoint), CancellationToken.None);
        Assert.Equal(ExchangeStatus.Response, result.Status);
        Assert.Equal(UpstreamTransport.Udp, result.Transport);
        Assert.Equal("192.0.2.80", result.Response!.Answers[0].Data.ToString());
    }

    [Fact]
    public async Task Answers_with_a_wrong_ID_or_question_are_ignored_until_the_timeout()
    {
        await using var wrongId = new Responder((q, _) =>
        {
            var wire = Answer(q);
            wire[0] ^= 0x5a; // another ID
            return wire;
        });
        using var exchanger = Exchanger(TimeSpan.FromMilliseconds(300));
        var result = await exchanger.ExchangeAsync(Request(wrongId.EndPoint), CancellationToken.None);
        Assert.Equal(ExchangeStatus.Timeout, result.Status);
        Assert.Null(result.Response);

        await using var wrongQuestion = new Responder((q, _) =>
        {
            var other = DnsMessage.CreateQuery(q.Id, DnsName.Parse("evil.example.com."), RRType.A).CreateResponse();
            other.Answers.Add(RecordText.Parse("evil.example.com. 300 A 6.6.6.6", DnsName.Root));
            return other.ToArray();
        });
        result = await exchanger.ExchangeAsync(Request(wrongQuestion.EndPoint), CancellationToken.None);
        Assert.Equal(ExchangeStatus.Timeout, result.Status);
    }

    [Fact]
    public async Task A_spoofed_answer_first_does_not_hide_the_real_one()
    {
        // A forged answer with a wrong ID arrives first; the real one follows and is the one accepted.
        await using var responder = new Responder((q, _) => Answer(q), forgery: q =>
        {
            var wire = Answer(q, "6.6.6.6");
            wire[1] ^= 0x01;
            return wire;
        });
        using var exchanger = Exchanger(TimeSpan.FromSeconds(2));
        var result = await exchanger.ExchangeAsync(Request(responder.EndPoint), CancellationToken.None);
        Assert.Equal("192.0.2.80", result.Response!.Answers[0].Data.ToString());
    }

    [Fact]
    public async Task Each_query_uses_a_fresh_random_ID()
    {
        var ids = new List<ushort>();
        await using var responder = new Responder((q, _) => { lock (ids) ids.Add(q.Id); return Answer(q); });
        using var exchanger = Exchanger();
        for (int i = 0; i < 4; i++) await exchanger.ExchangeAsync(Request(responder.EndPoint), CancellationToken.None);
        Assert.True(ids.Distinct().Count() >= 3, string.Join(",", ids));
    }

    [Fact]
    public async Task A_truncated_UDP_answer_is_retried_over_TCP()
    {
        await using var responder = new Responder((q, tcp) =>
        {
            if (tcp) return Answer(q, "192.0.2.81");
            var truncated = q.CreateResponse();
            truncated.Set(HeaderFlags.AA | HeaderFlags.TC);
            return truncated.ToArray();
        });
        using var exchanger = Exchanger();
        var result = await exchanger.ExchangeAsync(Request(responder.EndPoint), CancellationToken.None);
        Assert.Equal(ExchangeStatus.Response, result.Status);
        Assert.Equal(UpstreamTransport.Tcp, result.Transport);
        Assert.Equal("192.0.2.81", result.Response!.Answers[0].Data.ToString());
        Assert.Equal(1, responder.UdpQueries);
        Assert.Equal(1, responder.TcpQueries);
    }

    [Fact]
    public async Task TCP_can_be_asked_for_directly()
    {
        await using var responder = new Responder((q, tcp) => tcp ? Answer(q) : null);
        using var exchanger = Exchanger();
        var result = await exchanger.ExchangeAsync(Request(responder.EndPoint, UpstreamTransport.Tcp), CancellationToken.None);
        Assert.Equal(ExchangeStatus.Response, result.Status);
        Assert.Equal(UpstreamTransport.Tcp, result.Transport);
        Assert.Equal(0, responder.UdpQueries);
    }
}

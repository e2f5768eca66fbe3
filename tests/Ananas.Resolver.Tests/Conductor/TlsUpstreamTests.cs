using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Conductor;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Tests.Fakes;
using Ananas.Tests.Shared;

namespace Ananas.Resolver.Tests.Conductor;

/// <summary>Forwarding over DNS-over-TLS to a loopback responder with a self-signed certificate made in the test.</summary>
[Collection("Loopback sockets")]
public sealed class TlsUpstreamTests
{
    /// <summary>A DoT responder on 127.0.0.1 (random port) answering from example.test; counts queries and handshakes.</summary>
    private sealed class DotResponder : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(30));
        private readonly X509Certificate2 _certificate;
        private readonly FakeServer _server = new();
        private readonly Task _loop;
        public int Queries;
        public int Handshakes;

        public DotResponder(X509Certificate2 certificate)
        {
            _certificate = certificate;
            _server.Zones.Add(new LoopbackZone().Zone);
            _listener.Start();
            EndPoint = (IPEndPoint)_listener.LocalEndpoint;
            _loop = AcceptAsync();
        }

        public IPEndPoint EndPoint { get; }

        private async Task AcceptAsync()
        {
            try
            {
                while (true) _ = ServeAsync(await _listener.AcceptTcpClientAsync(_stop.Token));
            }
            // InvalidOperationException: the listener was stopped between two accepts.
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using var connection = client;
            try
            {
                await using var ssl = new SslStream(client.GetStream());
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, _stop.Token);
                Interlocked.Increment(ref Handshakes);
                var prefix = new byte[2];
                while (true)
                {
                    await ssl.ReadExactlyAsync(prefix, _stop.Token);
                    var body = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
                    await ssl.ReadExactlyAsync(body, _stop.Token);
                    Interlocked.Increment(ref Queries);
                    var response = FakeAuthority.Answer(_server, DnsMessage.Parse(body));
                    response.Set(HeaderFlags.RA);
                    var answer = response.ToArray();
                    var framed = new byte[answer.Length + 2];
                    BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)answer.Length);
                    answer.CopyTo(framed, 2);
                    await ssl.WriteAsync(framed, _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException
                or System.Security.Authentication.AuthenticationException or EndOfStreamException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            await _loop;
            _stop.Dispose();
        }
    }

    private static async Task<(Response Response, Resolver.Conductor.Conductor Conductor)> ResolveOverTls(DotResponder responder, X509Certificate2 certificate, string tlsName, int times)
    {
        var conductor = new Resolver.Conductor.Conductor(
            new ConductorOptions { TlsUpstreams = [new TlsUpstream(responder.EndPoint, tlsName)], TlsTrustedCertificates = [X509CertificateLoader.LoadCertificate(certificate.RawData)] },
            new InfrastructureCache(new InfrastructureCacheOptions(), SystemClock.Instance));
        var options = new RecursorOptions { ForwardZones = [new ForwardZone(DnsName.Root, [responder.EndPoint])], UseIPv6 = false };
        var recursor = new Recursor(options, SystemClock.Instance, new RecordCache(SystemClock.Instance),
            conductor.CreateSelector(new SeededRandom(1)), new LameServerList(SystemClock.Instance, options.LameHoldDown));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var response = await recursor.ResolveAsync(new Request(DnsMessage.CreateQuery(7, DnsName.Parse("www.example.test."), RRType.A)), conductor, timeout.Token);
        for (int i = 1; i < times; i++)
            await recursor.ResolveAsync(new Request(DnsMessage.CreateQuery(7, DnsName.Parse($"host{i}.example.test."), RRType.A)), conductor, timeout.Token);
        return (response, conductor);
    }

    [Fact]
    public async Task Forwards_over_tls_and_reuses_the_connection()
    {
        using var certificate = TestCertificates.ForName("dot.example");
        await using var responder = new DotResponder(certificate);
        var (response, conductor) = await ResolveOverTls(responder, certificate, "dot.example", times: 4);
        using (conductor)
        {
            Assert.Equal(Rcode.NoError, response.Message.Rcode);
            Assert.Equal(["www.example.test A 192.0.2.80"], Answers.Lines(response.Message.Answers));
            Assert.Equal(4, responder.Queries);
            Assert.Equal(1, responder.Handshakes);
            Assert.Equal(1, conductor.Metrics.Total.TlsConnections);
            Assert.Equal(Capability.Works, conductor.Infrastructure.GetTransportSupport(IPAddress.Loopback, UpstreamTransport.Tls));
        }
    }

    [Fact]
    public async Task A_certificate_for_another_name_is_rejected()
    {
        using var certificate = TestCertificates.ForName("dot.example");
        await using var responder = new DotResponder(certificate);
        var (response, conductor) = await ResolveOverTls(responder, certificate, "other.example", times: 1);
        using (conductor)
        {
            Assert.Equal(Rcode.ServFail, response.Message.Rcode);
            Assert.Equal(0, responder.Queries);
            Assert.True(conductor.Metrics.Total.TlsFailures > 0);
        }
    }
}

using System.Net;
using System.Security.Cryptography.X509Certificates;
using Ananas.Dns;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;
using Ananas.Server.Tls;

namespace Ananas.Server.Tests.Fakes;

/// <summary>A pipeline over a fake authority and a virtual clock, with UDP and TCP listeners on 127.0.0.1, random ports.</summary>
public sealed class TestServer : IAsyncDisposable
{
    public TestServer(FakeAuthority authority, PipelineOptions? options = null, TcpListenerOptions? tcpOptions = null, bool encrypted = false)
    {
        Authority = authority;
        var recursorOptions = new RecursorOptions
        {
            RootHints = RootHints.Single(DnsName.Parse("a.root-servers.net."), IPAddress.Parse("198.41.0.4")),
            QnameMinimisation = false,
            UseIPv6 = false,
        };
        var recursor = new Recursor(recursorOptions, Clock, new SeededRandom(1), Records = new RecordCache(Clock));
        Answers = new AnswerCache(new AnswerCacheOptions { Storage = new CacheOptions { CapacityBytes = 4 << 20 } }, Clock);
        Pipeline = new QueryPipeline(options ?? new PipelineOptions { Access = AccessList.Default }, Answers, recursor, authority, Clock);
        Udp = new UdpListener(new IPEndPoint(IPAddress.Loopback, 0), Pipeline, new UdpListenerOptions { ThreadsPerSocket = 1 } /* production buffer sizes: with the 208 KB default a flood overflows the kernel queue and drops other clients before fairness can act */);
        Tcp = new TcpListener(new IPEndPoint(IPAddress.Loopback, 0), Pipeline, tcpOptions);
        Udp.Start();
        Tcp.Start();
        if (encrypted)
        {
            Certificate = TlsCertificate.SelfSigned([IPAddress.Loopback]);
            Dot = new TcpListener(new IPEndPoint(IPAddress.Loopback, 0), Pipeline, tcpOptions, tls: TlsCertificate.DotOptions(Certificate));
            Doh = new HttpsListener(new IPEndPoint(IPAddress.Loopback, 0), Pipeline, Certificate, limits: tcpOptions);
            Dot.Start();
            Doh.Start();
        }
    }

    /// <summary>With <c>encrypted</c>: the self-signed certificate DoT and DoH present, and those listeners.</summary>
    public X509Certificate2? Certificate { get; }
    public TcpListener? Dot { get; }
    public HttpsListener? Doh { get; }

    public FakeAuthority Authority { get; }
    public VirtualClock Clock { get; } = new();
    public AnswerCache Answers { get; }
    public RecordCache Records { get; }
    public QueryPipeline Pipeline { get; }
    public UdpListener Udp { get; }
    public TcpListener Tcp { get; }

    public async ValueTask DisposeAsync()
    {
        await Udp.DisposeAsync();
        await Tcp.DisposeAsync();
        if (Dot is not null) await Dot.DisposeAsync();
        if (Doh is not null) await Doh.DisposeAsync();
    }
}

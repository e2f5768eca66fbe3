using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Iteration;

namespace Ananas.Resolver.Tests.Fakes;

/// <summary>Keeps the delegation's order, so that tests know which server is tried first.</summary>
public sealed class KeepOrderSelector : IServerSelector
{
    public void Order(List<IPEndPoint> servers, DnsName zoneCut) { }
}

/// <summary>
/// A small DNS tree: a root (198.41.0.4), com/net servers (192.5.6.30), example.com (192.0.2.53 and .54),
/// example.net (192.0.2.99, glueless ns.example.net is in net's zone as glue) and helpers to build a recursor.
/// </summary>
public sealed class TestWorld
{
    public const string Root = "198.41.0.4";
    public const string Gtld = "192.5.6.30";
    public const string Ns1 = "192.0.2.53";
    public const string Ns2 = "192.0.2.54";
    public const string NetNs = "192.0.2.99";

    public FakeAuthority Authority { get; } = new();
    public VirtualClock Clock { get; } = new();

    public FakeZone RootZone { get; } = new(".",
        ". 86400 SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400",
        ". NS a.root-servers.net.",
        "a.root-servers.net. A 198.41.0.4",
        "com. 172800 NS a.gtld-servers.net.",
        "net. 172800 NS a.gtld-servers.net.",
        "a.gtld-servers.net. 172800 A 192.5.6.30");

    public FakeZone Com { get; } = new("com.",
        "@ 900 SOA a.gtld-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400",
        "@ NS a.gtld-servers.net.",
        "example.com. 172800 NS ns1.example.com.",
        "example.com. 172800 NS ns2.example.com.",
        "ns1.example.com. 172800 A 192.0.2.53",
        "ns2.example.com. 172800 A 192.0.2.54");

    public FakeZone Net { get; } = new("net.",
        "@ 900 SOA a.gtld-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400",
        "@ NS a.gtld-servers.net.",
        "a.gtld-servers.net. A 192.5.6.30",
        "example.net. NS ns.example.net.",
        "ns.example.net. A 192.0.2.99");

    public FakeZone ExampleCom { get; } = new("example.com.",
        "@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
        "@ NS ns1",
        "@ NS ns2",
        "ns1 A 192.0.2.53",
        "ns2 A 192.0.2.54",
        "www 300 A 192.0.2.80",
        "alias CNAME www",
        "outside CNAME www.example.net.",
        "old DNAME example.net.");

    public FakeZone ExampleNet { get; } = new("example.net.",
        "@ 3600 SOA ns hostmaster 1 7200 3600 1209600 600",
        "@ NS ns",
        "ns A 192.0.2.99",
        "www A 198.51.100.7",
        "x A 198.51.100.8");

    public TestWorld()
    {
        Authority.Serve(Root, RootZone);
        Authority.Serve(Gtld, Com, Net);
        Authority.Serve(Ns1, ExampleCom);
        Authority.Serve(Ns2, ExampleCom);
        Authority.Serve(NetNs, ExampleNet);
    }

    public RecursorOptions Options(bool qmin = false) => new()
    {
        RootHints = RootHints.Single(DnsName.Parse("a.root-servers.net."), IPAddress.Parse(Root)),
        QnameMinimisation = qmin,
        UseIPv6 = false,
    };

    public RecordCache Cache => _cache ??= new RecordCache(Clock);
    private RecordCache? _cache;

    public Recursor Recursor(RecursorOptions options, bool keepOrder = true, PeerCompatibility? peer = null) => keepOrder
        ? new Recursor(options, Clock, Cache, new KeepOrderSelector(), new LameServerList(Clock, options.LameHoldDown), peer)
        : new Recursor(options, Clock, new SeededRandom(7), Cache);

    public static DnsMessage Query(string name, RRType type, bool edns = true)
    {
        var query = DnsMessage.CreateQuery(4242, DnsName.Parse(name), type);
        if (!edns) query.Edns = null;
        return query;
    }

    public async Task<Response> Resolve(Recursor recursor, string name, RRType type = RRType.A) =>
        await recursor.ResolveAsync(new Request(Query(name, type)), Authority);
}

using System.Net;
using Ananas.Dns;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Conductor;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests.Conductor;

/// <summary>
/// A small DNS tree on real loopback sockets: a root server, a <c>test.</c> server, and N servers for
/// <c>example.test.</c> (www A 192.0.2.80), each a <see cref="FaultyResponder"/> on its own 127.x.y.z:53.
/// Builds a real <see cref="Recursor"/> over a real <see cref="Conductor"/> against it.
/// </summary>
public sealed class LoopbackHierarchy : IAsyncDisposable
{
    public const string WwwAddress = "192.0.2.80";

    private LoopbackHierarchy(FaultyResponder root, FaultyResponder tld, List<FaultyResponder> example)
    {
        Root = root;
        Tld = tld;
        Example = example;
    }

    public FaultyResponder Root { get; }

    public FaultyResponder Tld { get; }

    public IReadOnlyList<FaultyResponder> Example { get; }

    /// <param name="exampleServers">How many servers answer for example.test.</param>
    /// <param name="deadExampleServers">Extra example.test name servers at addresses where nothing listens.</param>
    public static LoopbackHierarchy Start(int exampleServers = 2, int deadExampleServers = 0)
    {
        var root = new FaultyResponder();
        var tld = new FaultyResponder();
        var example = new List<FaultyResponder>();
        for (int i = 0; i < exampleServers; i++) example.Add(new FaultyResponder());

        var exampleNs = new List<(string Name, IPAddress Address)>();
        for (int i = 0; i < example.Count; i++) exampleNs.Add(($"ns{i + 1}.example.test.", example[i].Address));
        for (int i = 0; i < deadExampleServers; i++)
            exampleNs.Add(($"dead{i + 1}.example.test.", IPAddress.Parse($"127.99.{Random.Shared.Next(256)}.{Random.Shared.Next(1, 255)}")));

        root.Zones.Add(new FakeZone(".",
            ". 86400 SOA a.root. hostmaster.root. 1 1800 900 604800 86400",
            ". NS a.root.",
            $"a.root. A {root.Address}",
            "test. NS ns1.test.",
            $"ns1.test. A {tld.Address}"));

        var tldLines = new List<string>
        {
            "@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
            "@ NS ns1",
            $"ns1 A {tld.Address}",
        };
        foreach (var (name, address) in exampleNs)
        {
            tldLines.Add($"example.test. NS {name}");
            tldLines.Add($"{name} A {address}");
        }
        tld.Zones.Add(new FakeZone("test.", [.. tldLines]));

        var exampleLines = new List<string> { "@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300" };
        foreach (var (name, address) in exampleNs)
        {
            exampleLines.Add($"@ NS {name}");
            exampleLines.Add($"{name} A {address}");
        }
        exampleLines.Add($"www 300 A {WwwAddress}");
        for (int i = 0; i < 64; i++) exampleLines.Add($"host{i} 300 A 192.0.2.{i + 1}");
        var exampleZone = new FakeZone("example.test.", [.. exampleLines]);
        foreach (var server in example) server.Zones.Add(exampleZone);
        return new LoopbackHierarchy(root, tld, example);
    }

    public RecursorOptions RecursorOptions => new()
    {
        RootHints = RootHints.Single(DnsName.Parse("a.root."), Root.Address),
        DoNotQueryLocalhost = false,
        UseIPv6 = false,
    };

    /// <summary>A recursor with a fresh cache over <paramref name="conductor"/>'s RTT selection.</summary>
    public Recursor Recursor(Resolver.Conductor.Conductor conductor, RecursorOptions? options = null)
    {
        options ??= RecursorOptions;
        return new Recursor(options, SystemClock.Instance, new RecordCache(SystemClock.Instance),
            conductor.CreateSelector(new SeededRandom(42)), new LameServerList(SystemClock.Instance, options.LameHoldDown));
    }

    public static Resolver.Conductor.Conductor Conductor(ConductorOptions? options = null, InfrastructureCacheOptions? infra = null) =>
        new(options ?? new ConductorOptions(), new InfrastructureCache(infra ?? new InfrastructureCacheOptions(), SystemClock.Instance));

    public async ValueTask DisposeAsync()
    {
        await Root.DisposeAsync();
        await Tld.DisposeAsync();
        foreach (var server in Example) await server.DisposeAsync();
    }
}

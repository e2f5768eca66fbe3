using System.Net;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;

namespace Ananas.Resolver;

/// <summary>One root server: its name and addresses.</summary>
public sealed record RootServer(DnsName Name, IReadOnlyList<IPAddress> Addresses);

/// <summary>
/// The root servers iteration starts from (RFC 9609 priming input). <see cref="Iana"/> is a built-in copy of the
/// IANA root hints; <see cref="Parse"/> reads a named.root-style file.
/// </summary>
public sealed class RootHints
{
    public RootHints(IReadOnlyList<RootServer> servers)
    {
        if (servers.Count == 0) throw new ArgumentException("root hints need at least one server", nameof(servers));
        Servers = servers;
    }

    public IReadOnlyList<RootServer> Servers { get; }

    /// <summary>The IANA root hints (named.root), as of 2024: b.root moved to 170.247.170.2 / 2801:1b8:10::b in 2023.</summary>
    public static RootHints Iana { get; } = new(
    [
        Server("a", "198.41.0.4", "2001:503:ba3e::2:30"),
        Server("b", "170.247.170.2", "2801:1b8:10::b"),
        Server("c", "192.33.4.12", "2001:500:2::c"),
        Server("d", "199.7.91.13", "2001:500:2d::d"),
        Server("e", "192.203.230.10", "2001:500:a8::e"),
        Server("f", "192.5.5.241", "2001:500:2f::f"),
        Server("g", "192.112.36.4", "2001:500:12::d0d"),
        Server("h", "198.97.190.53", "2001:500:1::53"),
        Server("i", "192.36.148.17", "2001:7fe::53"),
        Server("j", "192.58.128.30", "2001:503:c27::2:30"),
        Server("k", "193.0.14.129", "2001:7fd::1"),
        Server("l", "199.7.83.42", "2001:500:9f::42"),
        Server("m", "202.12.27.33", "2001:dc3::35"),
    ]);

    /// <summary>A single root server (the deckard <c>stub-name</c>/<c>stub-addr</c> configuration).</summary>
    public static RootHints Single(DnsName name, IPAddress address) => new([new RootServer(name, [address])]);

    private static RootServer Server(string letter, string v4, string v6) =>
        new(DnsName.Parse($"{letter}.root-servers.net."), [IPAddress.Parse(v4), IPAddress.Parse(v6)]);

    /// <summary>
    /// Parses a named.root-style file: <c>. NS name</c> lines name the servers, <c>name A|AAAA addr</c> lines give
    /// their addresses. Comments (<c>;</c>) and blank lines are skipped; servers without addresses are dropped.
    /// </summary>
    public static RootHints Parse(string text)
    {
        var names = new List<DnsName>();
        var addresses = new Dictionary<DnsName, List<IPAddress>>();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine;
            int comment = line.IndexOf(';');
            if (comment >= 0) line = line[..comment];
            line = line.Trim();
            if (line.Length == 0) continue;
            var rr = RecordText.Parse(line, DnsName.Root);
            switch (rr.Data)
            {
                case NameData { Type: RRType.NS } ns when rr.Name.IsRoot:
                    if (!names.Contains(ns.Target)) names.Add(ns.Target);
                    break;
                case AddressData a:
                    if (!addresses.TryGetValue(rr.Name, out var list)) addresses[rr.Name] = list = [];
                    list.Add(a.Address);
                    break;
            }
        }
        var servers = new List<RootServer>();
        foreach (var name in names)
            if (addresses.TryGetValue(name, out var list) && list.Count > 0) servers.Add(new RootServer(name, list));
        if (servers.Count == 0) throw new DnsFormatException("root hints name no server with an address");
        return new RootHints(servers);
    }
}

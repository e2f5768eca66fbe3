using System.Net;
using Tomlyn.Syntax;

namespace Ananas.Server.Configuration;

/// <summary>One member of <c>cluster.peers</c>: a node's name and the address its cluster port listens on.</summary>
public sealed record ClusterPeerConfig(string Id, IPEndPoint Address)
{
    public override string ToString() => $"{Id}@{Address}";
}

/// <summary>
/// <c>cluster.peers = [{ id = "a", address = "10.0.0.1:5390" }, …]</c>: the static membership of the cache-sharing
/// cluster (docs/CLUSTER.md). Ids are unique; at most 256 members.
/// </summary>
public sealed class ClusterPeersKey(string name, string doc, Func<ServerConfig, List<ClusterPeerConfig>> get, Action<ServerConfig, List<ClusterPeerConfig>> set)
    : ConfigKey(name, "list of `{ id, address }` tables", "[]", ReloadEffect.Restart, doc)
{
    public const int MaxPeers = 256;

    public override void Apply(ServerConfig config, ValueSyntax value)
    {
        if (value is not ArraySyntax array) throw new FormatException($"expected a list of {{ id, address }} tables, not {ConfigValues.Describe(value)}");
        var peers = new List<ClusterPeerConfig>();
        foreach (var item in array.Items)
        {
            if (item.Value is not InlineTableSyntax table) throw new FormatException($"expected a table {{ id = \"…\", address = \"ADDR:PORT\" }}, not {ConfigValues.Describe(item.Value)}");
            string? id = null;
            IPEndPoint? address = null;
            foreach (var member in table.Items)
            {
                if (member.KeyValue is not { } kv) continue;
                string key = kv.Key?.Key is BareKeySyntax bare ? bare.Key?.Text ?? "" : kv.Key?.Key is StringValueSyntax s ? s.Value ?? "" : "";
                switch (key)
                {
                    case "id":
                        id = ConfigKeys.Identifier(ConfigValues.String(kv.Value!));
                        if (id.Length == 0) throw new FormatException($"{Name}[{peers.Count}].id: empty");
                        break;
                    case "address":
                        address = ParseAddress(ConfigValues.String(kv.Value!));
                        break;
                    default:
                        throw new FormatException($"{Name}[{peers.Count}].{key}: unknown key (known: id, address)");
                }
            }
            if (id is null) throw new FormatException($"{Name}[{peers.Count}].id: missing (the node's name, its cluster.node-id)");
            if (address is null) throw new FormatException($"{Name}[{peers.Count}].address: missing (ADDR:PORT of the node's cluster.listen)");
            if (peers.Exists(p => p.Id == id)) throw new FormatException($"{Name}[{peers.Count}].id: '{id}' appears twice");
            peers.Add(new ClusterPeerConfig(id, address));
        }
        if (peers.Count > MaxPeers) throw new FormatException($"{peers.Count} peers; at most {MaxPeers}");
        set(config, peers);
    }

    /// <summary><c>ADDR:PORT</c> or <c>[IPv6]:PORT</c>, the port required.</summary>
    public static IPEndPoint ParseAddress(string text) =>
        IPEndPoint.TryParse(text, out var endPoint) && endPoint.Port != 0 && (text.StartsWith('[') || !text.Contains("::", StringComparison.Ordinal) || text.Count(c => c == ':') == 1)
            ? endPoint
            : throw new FormatException($"'{text}' is not ADDR:PORT (e.g. 10.0.0.1:5390 or [2001:db8::1]:5390)");

    public override object Value(ServerConfig config) => string.Join(", ", get(config));

    public override void Copy(ServerConfig from, ServerConfig to) => set(to, [.. get(from)]);
}

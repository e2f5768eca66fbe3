using System.Globalization;
using System.Net;
using Ananas.Dns;
using Tomlyn.Syntax;

namespace Ananas.Server.Configuration;

/// <summary>One <c>[[forward]]</c> or <c>[[stub]]</c> table: a zone, its servers, and whether iteration is the fallback.</summary>
public sealed record ZoneRouteConfig(string Zone, IReadOnlyList<string> Servers, bool First)
{
    public override string ToString() => $"{Zone} [{string.Join(" ", Servers)}]{(First ? " first" : "")}";

    /// <summary>The zone's name (checked when loaded).</summary>
    public DnsName Name => DnsName.Parse(Zone);

    /// <summary>The servers as endpoints, and the certificate names of those reached over DNS-over-TLS.</summary>
    public (List<IPEndPoint> EndPoints, Dictionary<IPEndPoint, string> TlsNames) Resolve()
    {
        var endPoints = new List<IPEndPoint>(Servers.Count);
        var tls = new Dictionary<IPEndPoint, string>();
        foreach (var server in Servers)
        {
            var (endPoint, tlsName) = ParseServer(server);
            endPoints.Add(endPoint);
            if (tlsName is not null) tls[endPoint] = tlsName;
        }
        return (endPoints, tls);
    }

    /// <summary>
    /// <c>192.0.2.1</c>, <c>127.0.0.1:5300</c>, <c>2001:db8::1</c>, <c>[2001:db8::1]:53</c>, or
    /// <c>tls://ADDRESS[:PORT]#NAME</c> (DNS over TLS, port 853 by default; the certificate must carry NAME, or
    /// the address when no name is given).
    /// </summary>
    public static (IPEndPoint EndPoint, string? TlsName) ParseServer(string text)
    {
        string? tlsName = null;
        string address = text;
        int port = 53;
        if (text.StartsWith("tls://", StringComparison.OrdinalIgnoreCase))
        {
            address = text["tls://".Length..];
            port = 853;
            int hash = address.IndexOf('#');
            if (hash >= 0)
            {
                tlsName = address[(hash + 1)..];
                address = address[..hash];
                if (!DnsName.TryParse(tlsName, DnsName.Root, out _, out _) || tlsName.Length == 0)
                    throw new FormatException($"'{text}': '{tlsName}' is not a certificate name");
            }
        }
        else if (text.Contains("://", StringComparison.Ordinal) || text.Contains('#'))
        {
            throw new FormatException($"'{text}' is not a server (ADDRESS, ADDRESS:PORT, [IPv6]:PORT, or tls://ADDRESS[:PORT]#NAME)");
        }
        IPEndPoint endPoint;
        if (IPAddress.TryParse(address, out var bare) && !address.StartsWith('['))
            endPoint = new IPEndPoint(bare, port);
        else if (IPEndPoint.TryParse(address, out var parsed) && (parsed.Port != 0 || address.StartsWith('[')))
            endPoint = parsed.Port == 0 ? new IPEndPoint(parsed.Address, port) : parsed;
        else
            throw new FormatException($"'{text}' is not a server (ADDRESS, ADDRESS:PORT, [IPv6]:PORT, or tls://ADDRESS[:PORT]#NAME)");
        return (endPoint, text.StartsWith("tls://", StringComparison.OrdinalIgnoreCase) ? tlsName ?? endPoint.Address.ToString() : null);
    }
}

/// <summary>
/// <c>[[forward]]</c> or <c>[[stub]]</c>: an array of tables, each with <c>zone</c>, <c>servers</c> and <c>first</c>
/// (iterate when the servers fail). Only forwarders may be reached over TLS: a stub zone's servers are authorities.
/// A file that declares any replaces the whole list, as for any other key.
/// </summary>
public sealed class ZoneRoutesKey(string name, bool allowsTls, string doc, Func<ServerConfig, List<ZoneRouteConfig>> get, Action<ServerConfig, List<ZoneRouteConfig>> set)
    : ConfigKey(name, "tables of `zone`, `servers`, `first`", "[]", ReloadEffect.Recursor, doc)
{
    /// <summary><c>forward = [{ zone = "...", servers = [...] }]</c>, the inline form (and the defaults' <c>[]</c>).</summary>
    public override void Apply(ServerConfig config, ValueSyntax value)
    {
        if (value is not ArraySyntax array) throw new FormatException($"expected [[{Name}]] tables, not {ConfigValues.Describe(value)}");
        var routes = new List<ZoneRouteConfig>();
        foreach (var item in array.Items)
        {
            if (item.Value is not InlineTableSyntax table) throw new FormatException($"expected a table, not {ConfigValues.Describe(item.Value)}");
            var pairs = new List<KeyValueSyntax>();
            foreach (var member in table.Items) if (member.KeyValue is { } kv) pairs.Add(kv);
            routes.Add(Read(pairs, $"{Name}[{routes.Count}]"));
        }
        set(config, routes);
    }

    /// <summary>Adds one <c>[[NAME]]</c> table's route; <paramref name="first"/>: the file's first one, which replaces the list.</summary>
    public void ApplyTable(ServerConfig config, TableArraySyntax table, bool first)
    {
        var routes = first ? [] : get(config);
        var pairs = new List<KeyValueSyntax>();
        foreach (var item in table.Items) if (item is KeyValueSyntax kv) pairs.Add(kv);
        routes.Add(Read(pairs, $"{Name}[{routes.Count}]"));
        set(config, routes);
    }

    private ZoneRouteConfig Read(List<KeyValueSyntax> pairs, string qualified)
    {
        string? zone = null;
        List<string>? servers = null;
        bool first = false;
        foreach (var kv in pairs)
        {
            string key = kv.Key?.Key is BareKeySyntax bare ? bare.Key?.Text ?? "" : kv.Key?.Key is StringValueSyntax s ? s.Value ?? "" : "";
            int line = kv.Span.Start.Line + 1;
            string itemKey = $"{qualified}.{key}";
            ConfigValues.Parse<object?>(() =>
            {
                switch (key)
                {
                    case "zone":
                        string text = ConfigValues.String(kv.Value!);
                        zone = DnsName.TryParse(text, null, out var parsed, out var error) && text.Length > 0 ? parsed.ToString() : throw new FormatException($"'{text}' is not a domain name: {error}");
                        break;
                    case "servers":
                        servers = ConfigValues.List(kv.Value!, itemKey, s => ParseServer(s).Item2 is null || allowsTls ? s
                            : throw new FormatException($"'{s}': a stub zone's servers are authorities, asked over UDP and TCP"));
                        if (servers.Count == 0) throw new FormatException("no server given");
                        if (servers.Count > 32) throw new FormatException($"{servers.Count} servers; at most 32");
                        break;
                    case "first":
                        first = ConfigValues.Boolean(kv.Value!);
                        break;
                    default:
                        throw new FormatException("unknown key (known: zone, servers, first)");
                }
                return null;
            }, itemKey, line);
        }
        if (zone is null) throw new ConfigValues.KeyedFormatException($"{qualified}.zone", null, "missing (the zone's name)");
        if (servers is null) throw new ConfigValues.KeyedFormatException($"{qualified}.servers", null, "missing (the zone's servers)");
        return new ZoneRouteConfig(zone, servers, first);
    }

    private static (IPEndPoint, string?) ParseServer(string text) => ZoneRouteConfig.ParseServer(text);

    public override object Value(ServerConfig config) => string.Join("; ", get(config));

    public override void Copy(ServerConfig from, ServerConfig to) => set(to, [.. get(from)]);
}

using System.Net;
using System.Text;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Scenarios.Messages;
using Ananas.Scenarios.Parsing;
using Ananas.Server.Listeners;

namespace Ananas.Fuzz;

/// <summary>
/// Seed corpora, built from the repository's own test data: our .rpl scenarios (and the messages their
/// entries describe), the test zone files, the shipped TOML configurations. afl-fuzz mutates from these.
/// </summary>
public static class Seeds
{
    public static int Write(string target, string directory)
    {
        Directory.CreateDirectory(directory);
        var root = RepositoryRoot();
        var seeds = target switch
        {
            "wire" => Messages(root).Select(m => m.ToArray()),
            "query" => Queries(root).Select(q => q.ToArray()),
            "zone" => Files(root, "tests/Ananas.Dns.Tests/Zones", "*"),
            "config" => Files(root, "src/Ananas.Server/Configuration", "*.toml").Concat(Files(root, "bench/peers", "*.toml")).Concat(TomlTables(root)),
            "proxy" => ProxyHeaders(),
            "doh" => DohRequests(root),
            "rpl" => Files(root, "tests/scenarios", "*.rpl"),
            _ => [],
        };
        int count = 0;
        var seen = new HashSet<string>();
        foreach (var seed in seeds)
        {
            // afl-fuzz works best from small, distinct seeds.
            if (seed.Length == 0 || seed.Length > 8192 || !seen.Add(Convert.ToHexString(seed))) continue;
            File.WriteAllBytes(Path.Combine(directory, $"seed-{count++:D4}"), seed);
            if (count == 64) break;
        }
        return count;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Ananas.slnx"))) return dir.FullName;
        throw new InvalidOperationException("run from inside the repository (no Ananas.slnx above the current directory)");
    }

    private static IEnumerable<byte[]> Files(string root, string relative, string pattern) =>
        Directory.EnumerateFiles(Path.Combine(root, relative), pattern).Order(StringComparer.Ordinal).Select(File.ReadAllBytes);

    /// <summary>Every message the entries of our .rpl scenarios describe (queries and answers, with EDNS).</summary>
    private static IEnumerable<DnsMessage> Messages(string root)
    {
        foreach (var path in Directory.EnumerateFiles(Path.Combine(root, "tests/scenarios"), "*.rpl").Order(StringComparer.Ordinal))
        {
            var scenario = ScenarioParser.ParseFile(path);
            foreach (var entry in scenario.AllEntries())
            {
                DnsMessage? m = null;
                try
                {
                    m = EntryMessageBuilder.Build(entry, scenario.Dialect).Message;
                }
                catch (UnsupportedRecordException)
                {
                }
                if (m is not null) yield return m;
            }
        }
    }

    /// <summary>The questions of our scenarios as client queries: plain, with EDNS and DO, with CD and a cookie.</summary>
    private static IEnumerable<DnsMessage> Queries(string root)
    {
        foreach (var m in Messages(root))
        {
            if (m.Questions.Count != 1) continue;
            var q = m.Questions[0];
            yield return DnsMessage.CreateQuery(0x1234, q.Name, q.Type);
            yield return DnsMessage.CreateQuery(0x1234, q.Name, q.Type, dnssecOk: true);
            var withCookie = DnsMessage.CreateQuery(0x4321, q.Name, q.Type, dnssecOk: true);
            withCookie.Set(HeaderFlags.CD);
            withCookie.Edns!.Options.Add(new CookieOption([1, 2, 3, 4, 5, 6, 7, 8]));
            yield return withCookie;
        }
    }

    /// <summary>Each [table] of the shipped defaults on its own: small seeds that each reach one part of the loader.</summary>
    private static IEnumerable<byte[]> TomlTables(string root)
    {
        var text = File.ReadAllText(Path.Combine(root, "src/Ananas.Server/Configuration/defaults.toml"));
        var table = new StringBuilder();
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith('[') && table.Length > 0)
            {
                yield return Encoding.UTF8.GetBytes(table.ToString());
                table.Clear();
            }
            table.Append(line).Append('\n');
        }
        if (table.Length > 0) yield return Encoding.UTF8.GetBytes(table.ToString());
    }

    private static IEnumerable<byte[]> ProxyHeaders()
    {
        var v4 = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 53000);
        var v4d = new IPEndPoint(IPAddress.Parse("198.51.100.2"), 853);
        var v6 = new IPEndPoint(IPAddress.Parse("2001:db8::1"), 53000);
        var v6d = new IPEndPoint(IPAddress.Parse("2001:db8::2"), 443);
        yield return ProxyProtocol.Build(v4, v4d);
        yield return ProxyProtocol.Build(v6, v6d);
        // Type-length-value extensions (PP2_TYPE_ALPN, PP2_TYPE_AUTHORITY) after the addresses.
        yield return ProxyProtocol.Build(v4, v4d, [0x01, 0x00, 0x02, (byte)'h', (byte)'2', 0x02, 0x00, 0x03, (byte)'d', (byte)'n', (byte)'s']);
        var local = ProxyProtocol.Build(v4, v4d);
        local[12] = 0x20; // LOCAL command: the connection's own address stands
        yield return local;
    }

    private static IEnumerable<byte[]> DohRequests(string root)
    {
        foreach (var q in Queries(root).Take(24))
        {
            var encoded = Convert.ToBase64String(q.ToArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            yield return Encoding.UTF8.GetBytes($"\0\ndns={encoded}");
            yield return Encoding.UTF8.GetBytes($"\u0004\nname={q.Questions[0].Name}&type={q.Questions[0].Type}&do=1&cd=1");
        }
        yield return Encoding.UTF8.GetBytes("\u0001application/dns-message; charset=binary\n");
        yield return Encoding.UTF8.GetBytes("\0\nname=example.com&type=65");
    }
}

using System.Globalization;
using System.Reflection;
using Ananas.Server.Pipeline;
using Ananas.Server.Scheduling;
using Microsoft.Extensions.Logging;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Ananas.Server.Configuration;

/// <summary>
/// Reads TOML configuration onto a <see cref="ServerConfig"/>: the embedded defaults first, then a file. Every
/// key is known and checked; an error names the file, the line and the key
/// (<c>config.toml:12: listen[1]: unknown scheme 'udpx'</c>).
/// </summary>
public static class ConfigLoader
{
    private delegate void Setter(ServerConfig config, ValueSyntax value, string key);

    private static readonly Dictionary<string, Setter> Setters = new(StringComparer.Ordinal)
    {
        ["listen"] = (c, v, k) => c.Listen = Items(v, k).Select((s, i) => Parse(() => ListenAddress.Parse(s.Text), $"{k}[{i}]", s.Line)).ToList(),
        ["root-hints"] = (c, v, k) => c.RootHints = String(v, k),
        ["cache.size"] = (c, v, k) => c.CacheSizeBytes = v is IntegerValueSyntax ? Integer(v, k, 1 << 20, long.MaxValue) : Parse(() => ParseSize(String(v, k)), k),
        ["access.allow"] = (c, v, k) => c.Allow = Items(v, k).Select((s, i) => { Parse(() => AccessList.ParseNetwork(s.Text), $"{k}[{i}]", s.Line); return s.Text; }).ToList(),
        ["resolver.qname-minimisation"] = (c, v, k) => c.QnameMinimisation = Boolean(v, k),
        ["resolver.ipv6"] = (c, v, k) => c.IPv6 = Boolean(v, k),
        ["resolver.query-localhost"] = (c, v, k) => c.QueryLocalhost = Boolean(v, k),
        ["resolver.query-timeout"] = (c, v, k) => c.QueryTimeout = Duration(v, k),
        ["resolver.case-randomisation"] = (c, v, k) => c.CaseRandomisation = Boolean(v, k),
        ["resolver.upstream-timeout"] = (c, v, k) => c.UpstreamTimeout = DurationBetween(v, k, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(30)),
        ["dnssec.validation"] = (c, v, k) => c.DnssecValidation = String(v, k) switch
        {
            "on" => true,
            "off" => false,
            var other => throw new FormatException($"'{other}' is not one of on, off"),
        },
        ["dnssec.trust-anchor"] = (c, v, k) => c.TrustAnchorFile = String(v, k),
        ["resolver.local-zones"] = (c, v, k) => c.LocalZones = Items(v, k).Select((s, i) => Parse(() => ParseLocalZone(s.Text), $"{k}[{i}]", s.Line)).ToList(),
        ["dnssec.negative-trust-anchors"] = (c, v, k) => c.NegativeTrustAnchors = Items(v, k).Select((s, i) => Parse(() => ParseName(s.Text), $"{k}[{i}]", s.Line)).ToList(),
        ["udp.max-payload"] = (c, v, k) => c.UdpMaxPayload = (int)Integer(v, k, 512, 65535),
        ["udp.sockets"] = (c, v, k) => c.UdpSockets = (int)Integer(v, k, 1, 256),
        ["udp.threads-per-socket"] = (c, v, k) => c.UdpThreadsPerSocket = (int)Integer(v, k, 1, 256),
        ["udp.batch-size"] = (c, v, k) => c.UdpBatchSize = (int)Integer(v, k, 1, 1024),
        ["tcp.idle-timeout"] = (c, v, k) => c.TcpIdleTimeout = Duration(v, k),
        ["tcp.max-connections"] = (c, v, k) => c.TcpMaxConnections = (int)Integer(v, k, 1, 1_000_000),
        ["tcp.max-connections-per-client"] = (c, v, k) => c.TcpMaxConnectionsPerClient = (int)Integer(v, k, 1, 1_000_000),
        ["tcp.max-outstanding-per-connection"] = (c, v, k) => c.TcpMaxOutstanding = (int)Integer(v, k, 1, 65535),
        ["proxy.trusted-sources"] = (c, v, k) => c.ProxyTrustedSources = Items(v, k).Select((s, i) => { Parse(() => AccessList.ParseNetwork(s.Text), $"{k}[{i}]", s.Line); return s.Text; }).ToList(),
        ["tls.certificate"] = (c, v, k) => c.TlsCertificate = String(v, k),
        ["tls.key"] = (c, v, k) => c.TlsKey = String(v, k),
        ["control.listen"] = (c, v, k) => c.ControlListen = String(v, k) is var m && m.Length > 0 ? Parse(() => { Listeners.MetricsListener.ParseAddress(m); return m; }, k) : "",
        ["metrics.listen"] = (c, v, k) => c.MetricsListen = String(v, k) is var m && m.Length > 0 ? Parse(() => { Listeners.MetricsListener.ParseAddress(m); return m; }, k) : "",
        ["scheduler.group-prefix-v4"] = (c, v, k) => c.GroupPrefixV4 = (int)Integer(v, k, 0, 32),
        ["scheduler.group-prefix-v6"] = (c, v, k) => c.GroupPrefixV6 = (int)Integer(v, k, 0, 128),
        ["scheduler.max-in-flight"] = (c, v, k) => c.MaxInFlight = (int)Integer(v, k, 1, 1_000_000),
        ["scheduler.max-in-flight-per-group"] = (c, v, k) => c.MaxInFlightPerGroup = (int)Integer(v, k, 1, 1_000_000),
        ["scheduler.max-queued"] = (c, v, k) => c.MaxQueued = (int)Integer(v, k, 1, 10_000_000),
        ["scheduler.max-queued-per-group"] = (c, v, k) => c.MaxQueuedPerGroup = (int)Integer(v, k, 1, 10_000_000),
        ["scheduler.shed"] = (c, v, k) => c.Shed = String(v, k) switch
        {
            "refuse" => ShedAction.Refuse,
            "drop" => ShedAction.Drop,
            "truncate" => ShedAction.Truncate,
            var other => throw new FormatException($"'{other}' is not one of refuse, drop, truncate"),
        },
        ["log.query-log"] = (c, v, k) => c.QueryLog = String(v, k),
        ["log.level"] = (c, v, k) => c.LogLevel = String(v, k) switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "information" or "info" => LogLevel.Information,
            "warning" => LogLevel.Warning,
            "error" => LogLevel.Error,
            var other => throw new FormatException($"'{other}' is not one of trace, debug, information, warning, error"),
        },
    };

    /// <summary>The embedded defaults, parsed once per call (a fresh object every time).</summary>
    public static ServerConfig Defaults()
    {
        using var stream = typeof(ConfigLoader).Assembly.GetManifestResourceStream("Ananas.Server.defaults.toml")
            ?? throw new InvalidOperationException("embedded defaults.toml is missing");
        using var reader = new StreamReader(stream);
        return Apply(new ServerConfig(), reader.ReadToEnd(), "defaults.toml");
    }

    /// <summary>The defaults with <paramref name="path"/> applied on top.</summary>
    public static ServerConfig LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{path}: cannot read: {e.Message}");
        }
        return Apply(Defaults(), text, Path.GetFileName(path));
    }

    /// <summary>Applies the TOML <paramref name="text"/> to a copy of <paramref name="baseConfig"/>. Throws <see cref="ConfigException"/> listing every error.</summary>
    public static ServerConfig Apply(ServerConfig baseConfig, string text, string sourceName)
    {
        var config = baseConfig.Copy();
        var document = SyntaxParser.Parse(text, sourceName, true);
        var errors = new List<string>();
        foreach (var message in document.Diagnostics)
            if (message.Kind == DiagnosticMessageKind.Error) errors.Add($"{sourceName}:{message.Span.Start.Line + 1}: {message.Message}");
        if (errors.Count == 0)
        {
            foreach (var kv in document.KeyValues) Set(config, "", kv, sourceName, errors);
            // A file that declares plugins replaces the whole list (as for any other key), so that removing a
            // [[plugin]] from the file removes the plugin.
            bool pluginsDeclared = false;
            foreach (var table in document.Tables)
            {
                string tableName = KeyText(table.Name);
                if (IsPluginTable(table, tableName))
                {
                    if (!pluginsDeclared) config.Plugins = [];
                    pluginsDeclared = true;
                    ApplyPluginTable(config, table, tableName, sourceName, errors);
                    continue;
                }
                if (table is not TableSyntax)
                {
                    errors.Add($"{sourceName}:{table.Span.Start.Line + 1}: [[{tableName}]]: arrays of tables are not used here");
                    continue;
                }
                foreach (var item in table.Items)
                    if (item is KeyValueSyntax kv) Set(config, tableName, kv, sourceName, errors);
            }
            if (pluginsDeclared) CheckPlugins(config, sourceName, errors);
        }
        if (errors.Count > 0) throw new ConfigException(string.Join(Environment.NewLine, errors));
        return config;
    }

    private static void Set(ServerConfig config, string table, KeyValueSyntax kv, string sourceName, List<string> errors)
    {
        string key = table.Length == 0 ? KeyText(kv.Key) : $"{table}.{KeyText(kv.Key)}";
        int line = kv.Span.Start.Line + 1;
        if (!Setters.TryGetValue(key, out var setter))
        {
            errors.Add($"{sourceName}:{line}: {key}: unknown key");
            return;
        }
        try
        {
            setter(config, kv.Value!, key);
        }
        catch (KeyedFormatException e)
        {
            errors.Add($"{sourceName}:{e.Line ?? line}: {e.Key}: {e.Message}");
        }
        catch (FormatException e)
        {
            errors.Add($"{sourceName}:{line}: {key}: {e.Message}");
        }
    }

    #region [[plugin]] (docs/plugins.md, "Limits and configuration")

    private delegate void PluginSetter(PluginConfig plugin, ValueSyntax value, string key);

    private static readonly Dictionary<string, PluginSetter> PluginSetters = new(StringComparer.Ordinal)
    {
        ["name"] = (p, v, k) => p.Name = PluginName(String(v, k)),
        ["module"] = (p, v, k) => p.Module = String(v, k) is { Length: > 0 } m ? m : throw new FormatException("the path of the .wasm module is empty"),
        ["args"] = (p, v, k) => p.Args = String(v, k),
        ["memory-limit"] = (p, v, k) => p.MemoryLimitBytes = v is IntegerValueSyntax ? Integer(v, k, 1 << 16, 4L << 30) : ParsePluginMemory(String(v, k)),
        ["cpu-budget"] = (p, v, k) => p.CpuBudget = Duration(v, k) is var d && d <= TimeSpan.FromSeconds(1) ? d : throw new FormatException($"{d.TotalMilliseconds} ms is more than the 1s a callback may take"),
        ["max-instances"] = (p, v, k) => p.MaxInstances = (int)Integer(v, k, 1, 1024),
        ["quarantine-after"] = (p, v, k) => p.QuarantineAfter = (int)Integer(v, k, 1, 1_000_000),
    };

    private static bool IsPluginTable(TableSyntaxBase table, string name) =>
        (table is TableArraySyntax && name == "plugin") || (table is TableSyntax && name == "plugin.data");

    /// <summary><c>[[plugin]]</c> starts a plugin; <c>[plugin.data]</c> holds the data tables of the last one.</summary>
    private static void ApplyPluginTable(ServerConfig config, TableSyntaxBase table, string tableName, string sourceName, List<string> errors)
    {
        int line = table.Span.Start.Line + 1;
        if (table is TableArraySyntax)
        {
            config.Plugins.Add(new PluginConfig { Source = $"{sourceName}:{line}" });
            foreach (var item in table.Items)
            {
                if (item is not KeyValueSyntax kv) continue;
                string key = KeyText(kv.Key);
                string qualified = $"plugin[{config.Plugins.Count - 1}].{key}";
                if (!PluginSetters.TryGetValue(key, out var setter))
                {
                    errors.Add($"{sourceName}:{kv.Span.Start.Line + 1}: {qualified}: unknown key (known: {string.Join(", ", PluginSetters.Keys)}, and a [plugin.data] table)");
                    continue;
                }
                try
                {
                    setter(config.Plugins[^1], kv.Value!, qualified);
                }
                catch (FormatException e)
                {
                    errors.Add($"{sourceName}:{kv.Span.Start.Line + 1}: {qualified}: {e.Message}");
                }
            }
            return;
        }
        if (config.Plugins.Count == 0)
        {
            errors.Add($"{sourceName}:{line}: [plugin.data]: no [[plugin]] before it");
            return;
        }
        var plugin = config.Plugins[^1];
        foreach (var item in table.Items)
        {
            if (item is not KeyValueSyntax kv) continue;
            string name = KeyText(kv.Key);
            string qualified = $"plugin[{config.Plugins.Count - 1}].data.{name}";
            try
            {
                plugin.Data[PluginName(name)] = String(kv.Value!, qualified) is { Length: > 0 } path ? path : throw new FormatException("the file of the table is empty");
            }
            catch (FormatException e)
            {
                errors.Add($"{sourceName}:{kv.Span.Start.Line + 1}: {qualified}: {e.Message}");
            }
        }
    }

    /// <summary>Every plugin has a unique name and a module.</summary>
    private static void CheckPlugins(ServerConfig config, string sourceName, List<string> errors)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < config.Plugins.Count; i++)
        {
            var plugin = config.Plugins[i];
            if (plugin.Name.Length == 0) errors.Add($"{plugin.Source}: plugin[{i}].name: missing");
            else if (!seen.Add(plugin.Name)) errors.Add($"{plugin.Source}: plugin[{i}].name: '{plugin.Name}' is already the name of another plugin");
            if (plugin.Module.Length == 0) errors.Add($"{plugin.Source}: plugin[{i}].module: missing (the path of the .wasm module)");
        }
    }

    /// <summary>Plugin and table names: letters, digits, '-', '_' (they appear in metrics labels and URLs).</summary>
    private static string PluginName(string name)
    {
        if (name.Length is 0 or > 64) throw new FormatException($"'{name}' must be 1–64 characters");
        foreach (char c in name)
            if (!char.IsAsciiLetterOrDigit(c) && c is not '-' and not '_')
                throw new FormatException($"'{name}' may contain only letters, digits, '-' and '_'");
        return name;
    }

    /// <summary>"16MiB", "512KiB", or bytes; between 64 KiB (one WebAssembly page) and 4 GiB.</summary>
    private static long ParsePluginMemory(string text) =>
        ParseBytes(text, 1 << 16, 4L << 30) is var bytes and > 0 ? bytes : throw new FormatException($"'{text}' is not a memory limit between 64KiB and 4GiB (e.g. 16MiB)");

    #endregion

    private static string KeyText(KeySyntax? key)
    {
        if (key is null) return "";
        var parts = new List<string> { Simple(key.Key) };
        foreach (var dot in key.DotKeys) parts.Add(Simple(dot.Key));
        return string.Join('.', parts);
    }

    private static string Simple(BareKeyOrStringValueSyntax? key) => key switch
    {
        BareKeySyntax bare => bare.Key?.Text ?? "",
        StringValueSyntax s => s.Value ?? "",
        _ => "",
    };

    private sealed class KeyedFormatException(string key, int? line, string message) : FormatException(message)
    {
        public string Key { get; } = key;
        public int? Line { get; } = line;
    }

    private static T Parse<T>(Func<T> parse, string key, int? line = null)
    {
        try
        {
            return parse();
        }
        catch (FormatException e) when (e is not KeyedFormatException)
        {
            throw new KeyedFormatException(key, line, e.Message);
        }
    }

    private static string String(ValueSyntax value, string key) =>
        value is StringValueSyntax s ? s.Value ?? "" : throw new FormatException($"expected a string, not {Describe(value)}");

    private static bool Boolean(ValueSyntax value, string key) =>
        value is BooleanValueSyntax b ? b.Value : throw new FormatException($"expected true or false, not {Describe(value)}");

    private static long Integer(ValueSyntax value, string key, long min, long max)
    {
        if (value is not IntegerValueSyntax i) throw new FormatException($"expected an integer, not {Describe(value)}");
        if (i.Value < min || i.Value > max) throw new FormatException($"{i.Value} is out of range ({min}–{max})");
        return i.Value;
    }

    private static List<(string Text, int Line)> Items(ValueSyntax value, string key)
    {
        if (value is not ArraySyntax array) throw new FormatException($"expected an array of strings, not {Describe(value)}");
        var list = new List<(string, int)>();
        int index = 0;
        foreach (var item in array.Items)
        {
            if (item.Value is not StringValueSyntax s)
                throw new KeyedFormatException($"{key}[{index}]", item.Span.Start.Line + 1, $"expected a string, not {Describe(item.Value)}");
            list.Add((s.Value ?? "", item.Span.Start.Line + 1));
            index++;
        }
        return list;
    }

    private static TimeSpan Duration(ValueSyntax value, string key) => ParseDuration(String(value, key));

    private static TimeSpan DurationBetween(ValueSyntax value, string key, TimeSpan min, TimeSpan max) =>
        Duration(value, key) is var d && d >= min && d <= max ? d
            : throw new FormatException($"'{String(value, key)}' is out of range: between {Show(min)} and {Show(max)}");

    private static string Show(TimeSpan t) => t.TotalSeconds >= 1 ? $"{t.TotalSeconds:0.###}s" : $"{t.TotalMilliseconds:0}ms";

    private static string Describe(ValueSyntax? value) => value switch
    {
        StringValueSyntax => "a string",
        IntegerValueSyntax => "an integer",
        BooleanValueSyntax => "a boolean",
        ArraySyntax => "an array",
        InlineTableSyntax => "a table",
        null => "nothing",
        _ => "another kind of value",
    };

    /// <summary>A domain name as written in the file, returned as given (it is parsed again where it is used).</summary>
    private static string ParseName(string text) =>
        Ananas.Dns.DnsName.TryParse(text, null, out _, out var error) && text.Length > 0 ? text : throw new FormatException($"'{text}' is not a domain name: {error}");

    /// <summary>One of the special-use zones <see cref="Resolver.LocalZones"/> can serve, returned as given.</summary>
    private static string ParseLocalZone(string text) => Resolver.LocalZones.IsSupported(text) ? text
        : throw new FormatException($"'{text}' is not a special-use zone Ananas serves (one of {string.Join(", ", Resolver.LocalZones.Supported)})");

    /// <summary>"5s", "1500ms", "2m", "1h".</summary>
    public static TimeSpan ParseDuration(string text)
    {
        text = text.Trim();
        (string unit, double scale) = text.EndsWith("ms", StringComparison.Ordinal) ? ("ms", 1.0)
            : text.EndsWith('s') ? ("s", 1000.0)
            : text.EndsWith('m') ? ("m", 60_000.0)
            : text.EndsWith('h') ? ("h", 3_600_000.0)
            : throw new FormatException($"'{text}' is not a duration (e.g. 5s, 1500ms, 2m)");
        if (!double.TryParse(text[..^unit.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out double n) || n <= 0)
            throw new FormatException($"'{text}' is not a positive duration (e.g. 5s, 1500ms, 2m)");
        return TimeSpan.FromMilliseconds(n * scale);
    }

    /// <summary>"256MiB", "1GiB", "512KiB", or a plain number of bytes; at least 1 MiB.</summary>
    public static long ParseSize(string text)
    {
        long bytes = ParseBytes(text, 1, long.MaxValue);
        if (bytes < 0) throw new FormatException($"'{text.Trim()}' is not a size (e.g. 256MiB, 1GiB)");
        if (bytes < 1 << 20) throw new FormatException("the cache needs at least 1MiB");
        return bytes;
    }

    /// <summary>A size with an optional KiB/MiB/GiB (or K/M/G) suffix, in bytes; -1 if it is not one or is outside [min, max].</summary>
    private static long ParseBytes(string text, long min, long max)
    {
        text = text.Trim();
        long scale = 1;
        foreach (var (suffix, factor) in new[] { ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("K", 1L << 10), ("M", 1L << 20), ("G", 1L << 30) })
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                scale = factor;
                text = text[..^suffix.Length].Trim();
                break;
            }
        }
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0 || n > long.MaxValue / scale) return -1;
        long bytes = n * scale;
        return bytes >= min && bytes <= max ? bytes : -1;
    }
}

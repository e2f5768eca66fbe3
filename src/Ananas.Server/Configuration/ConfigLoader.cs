using Tomlyn.Parsing;
using Tomlyn.Syntax;
using static Ananas.Server.Configuration.ConfigValues;

namespace Ananas.Server.Configuration;

/// <summary>
/// Reads TOML configuration onto a <see cref="ServerConfig"/>: the embedded defaults first, then a file. Every
/// key is known and checked; an error names the file, the line and the key
/// (<c>config.toml:12: listen[1]: unknown scheme 'udpx'</c>).
/// </summary>
public static class ConfigLoader
{
    private static readonly string DefaultsText = ConfigDocument.DefaultsToml();

    /// <summary>The defaults declared in <see cref="ConfigKeys"/>, as a fresh object every time.</summary>
    public static ServerConfig Defaults() => Apply(new ServerConfig(), DefaultsText, "defaults.toml");

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
        DocumentSyntax document;
        try
        {
            document = SyntaxParser.Parse(text, sourceName, true);
        }
        catch (Exception e) when (e is ArgumentException or Tomlyn.TomlException)
        {
            // Tomlyn throws, instead of reporting, on a backslash ending a multi-line string and on arrays nested
            // deeper than 64: that is invalid TOML, and a configuration error like any other.
            throw new ConfigException($"{sourceName}: not valid TOML: {e.Message}");
        }
        var errors = new List<string>();
        foreach (var message in document.Diagnostics)
            if (message.Kind == DiagnosticMessageKind.Error) errors.Add($"{sourceName}:{message.Span.Start.Line + 1}: {message.Message}");
        if (errors.Count == 0)
        {
            foreach (var kv in document.KeyValues) Set(config, "", kv, sourceName, errors);
            // A file that declares plugins replaces the whole list (as for any other key), so that removing a
            // [[plugin]] from the file removes the plugin.
            bool pluginsDeclared = false;
            var routesDeclared = new HashSet<string>(StringComparer.Ordinal);
            foreach (var table in document.Tables)
            {
                string tableName = KeyText(table.Name);
                if (table is TableArraySyntax routeTable && ConfigKeys.Find(tableName) is ZoneRoutesKey routes)
                {
                    ApplyRouteTable(config, routes, routeTable, routesDeclared.Add(tableName), sourceName, errors);
                    continue;
                }
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
        if (ConfigKeys.Find(key) is not { } declared)
        {
            errors.Add($"{sourceName}:{line}: {key}: unknown key");
            return;
        }
        try
        {
            declared.Apply(config, kv.Value!);
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

    private static void ApplyRouteTable(ServerConfig config, ZoneRoutesKey routes, TableArraySyntax table, bool first, string sourceName, List<string> errors)
    {
        int line = table.Span.Start.Line + 1;
        try
        {
            routes.ApplyTable(config, table, first);
        }
        catch (KeyedFormatException e)
        {
            errors.Add($"{sourceName}:{e.Line ?? line}: {e.Key}: {e.Message}");
        }
        catch (FormatException e)
        {
            errors.Add($"{sourceName}:{line}: [[{routes.Name}]]: {e.Message}");
        }
    }

    #region [[plugin]] (docs/plugins.md, "Limits and configuration")

    private delegate void PluginSetter(PluginConfig plugin, ValueSyntax value, string key);

    private static readonly Dictionary<string, PluginSetter> PluginSetters = new(StringComparer.Ordinal)
    {
        ["name"] = (p, v, k) => p.Name = PluginName(String(v)),
        ["module"] = (p, v, k) => p.Module = String(v) is { Length: > 0 } m ? m : throw new FormatException("the path of the .wasm module is empty"),
        ["args"] = (p, v, k) => p.Args = String(v),
        // Between 64 KiB (one WebAssembly page) and 4 GiB.
        ["memory-limit"] = (p, v, k) => p.MemoryLimitBytes = Size(v, 1 << 16, 4L << 30),
        ["cpu-budget"] = (p, v, k) => p.CpuBudget = Duration(v, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1)),
        ["max-instances"] = (p, v, k) => p.MaxInstances = (int)Integer(v, 1, 1024),
        ["quarantine-after"] = (p, v, k) => p.QuarantineAfter = (int)Integer(v, 1, 1_000_000),
        ["hpke-aead"] = (p, v, k) => p.HpkeAead = String(v) is "aes-128-gcm" or "chacha20-poly1305" ? String(v) : throw new FormatException($"'{String(v)}' is not an HPKE AEAD (aes-128-gcm or chacha20-poly1305)"),
        ["hpke-key-rotation"] = (p, v, k) => p.HpkeKeyRotation = Duration(v, TimeSpan.Zero, TimeSpan.FromDays(365)) is var d && (d == TimeSpan.Zero || d >= TimeSpan.FromMinutes(1)) ? d : throw new FormatException("a rotation interval is 0 (never) or at least 1m"),
        ["hpke-key-grace"] = (p, v, k) => p.HpkeKeyGrace = Duration(v, TimeSpan.Zero, TimeSpan.FromDays(7)),
        ["hpke-key-seed"] = (p, v, k) => p.HpkeKeySeed = String(v) is { Length: >= 64 } seed && seed.All(char.IsAsciiHexDigit) ? seed : throw new FormatException("a key seed is at least 32 bytes in hex"),
        ["http-allow"] = (p, v, k) => p.HttpAllow = Items(v, k).Select(i => HttpOrigin(i.Text)).ToList(),
        ["socket-allow"] = (p, v, k) => p.SocketAllow = Items(v, k).Select(i => SocketDestination(i.Text)).ToList(),
        ["socket-bytes"] = (p, v, k) => p.SocketBytesPerCallback = (int)Size(v, 1, 16L << 20),
        ["socket-timeout"] = (p, v, k) => p.SocketTimeout = Duration(v, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(60)),
    };

    /// <summary>A socket destination: <c>udp://ip:port</c> or <c>tcp://ip:port</c> (an address, not a name: nothing to resolve per call).</summary>
    private static string SocketDestination(string text)
    {
        int scheme = text.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0 && text[..scheme] is "udp" or "tcp" && System.Net.IPEndPoint.TryParse(text[(scheme + 3)..], out var endPoint) && endPoint.Port != 0)
            return $"{text[..scheme]}://{endPoint}";
        throw new FormatException($"'{text}' is not udp://ip:port or tcp://ip:port");
    }

    /// <summary>An origin a plugin may send HTTP requests to: <c>https://host[:port]</c> without a path.</summary>
    private static string HttpOrigin(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" && uri.AbsolutePath == "/" && uri.Query.Length == 0 && uri.UserInfo.Length == 0
            ? $"{uri.Scheme}://{uri.Authority}"
            : throw new FormatException($"'{text}' is not an origin (https://host[:port], no path)");

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
                plugin.Data[PluginName(name)] = String(kv.Value!) is { Length: > 0 } path ? path : throw new FormatException("the file of the table is empty");
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

    /// <summary>"256MiB", "1GiB", or a number of bytes, for <c>--cache-size</c>: the range of <c>cache.size</c>.</summary>
    public static long ParseSize(string text)
    {
        var config = new ServerConfig();
        ConfigKeys.Find("cache.size")!.Apply(config, new StringValueSyntax(text));
        return config.CacheSizeBytes;
    }

    /// <summary>ADDR or ADDR:PORT ([v6]:PORT with a port), <paramref name="defaultPort"/> without one.</summary>
    public static System.Net.IPEndPoint ParseEndPoint(string text, int defaultPort)
    {
        if (System.Net.IPAddress.TryParse(text, out var address)) return new System.Net.IPEndPoint(address, defaultPort);
        if (System.Net.IPEndPoint.TryParse(text, out var endPoint) && endPoint.Port != 0) return endPoint;
        throw new FormatException($"'{text}' is not ADDRESS or ADDRESS:PORT (e.g. 127.0.0.1:53, [::1]:53)");
    }
}

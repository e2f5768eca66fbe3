using Tomlyn.Syntax;

namespace Ananas.Server.Configuration;

/// <summary>What a running server does when a reload changes a key.</summary>
public enum ReloadEffect
{
    /// <summary>Read again on every reload (pipeline options, scheduler bounds, log level).</summary>
    Live,
    /// <summary>A new recursor over the same caches.</summary>
    Recursor,
    /// <summary>New addresses bound, removed ones drained and closed.</summary>
    Listeners,
    /// <summary>Built into long-lived objects: the running value stays until a restart (event 1006 names the key).</summary>
    Restart,
}

/// <summary>
/// One configuration key, declared once in <see cref="ConfigKeys.All"/>: its name, type and range, default (as TOML
/// text), what a reload does with it, and its documentation. The loader, the reload diff, <c>defaults.toml</c> and
/// the key table in docs/SERVER.md all come from these declarations.
/// </summary>
public abstract class ConfigKey(string name, string type, string @default, ReloadEffect reload, string doc)
{
    /// <summary>Dotted name: <c>section.key</c>, or a bare top-level key.</summary>
    public string Name { get; } = name;

    /// <summary>The kind of value and its range, as the docs show it (<c>duration, 50ms–30s</c>).</summary>
    public string Type { get; } = type;

    /// <summary>The default as a TOML value (<c>"5s"</c>, <c>1232</c>, <c>["a", "b"]</c>).</summary>
    public string Default { get; } = @default;

    public ReloadEffect Reload { get; } = reload;

    public string Doc { get; } = doc;

    /// <summary>The section (<c>resolver</c>), empty for a top-level key.</summary>
    public string Section => Name.LastIndexOf('.') is var dot and >= 0 ? Name[..dot] : "";

    /// <summary>The name within its section.</summary>
    public string Leaf => Name[(Name.LastIndexOf('.') + 1)..];

    /// <summary>Reads <paramref name="value"/> and stores it; throws <see cref="FormatException"/> (out of range, wrong type).</summary>
    public abstract void Apply(ServerConfig config, ValueSyntax value);

    /// <summary>The value in <paramref name="config"/>, in a form whose equality says whether two configurations differ.</summary>
    public abstract object Value(ServerConfig config);

    /// <summary>Sets <paramref name="to"/>'s value to <paramref name="from"/>'s (a reload keeping a restart-only key).</summary>
    public abstract void Copy(ServerConfig from, ServerConfig to);
}

/// <summary>A key whose value is a <typeparamref name="T"/> read by <paramref name="read"/> (given the key's name for errors).</summary>
public sealed class ConfigKey<T>(string name, string type, string @default, ReloadEffect reload, string doc,
    Func<ValueSyntax, string, T> read, Func<ServerConfig, T> get, Action<ServerConfig, T> set) : ConfigKey(name, type, @default, reload, doc)
    where T : notnull
{
    public override void Apply(ServerConfig config, ValueSyntax value) => set(config, read(value, Name));

    public override object Value(ServerConfig config) => get(config) is var value && value is System.Collections.IEnumerable items and not string
        ? string.Join(", ", items.Cast<object>())
        : value;

    public override void Copy(ServerConfig from, ServerConfig to)
    {
        var value = get(from);
        // Lists are copied so that the two configurations never share one.
        if (value is List<string> strings) set(to, (T)(object)new List<string>(strings));
        else if (value is List<ListenAddress> addresses) set(to, (T)(object)new List<ListenAddress>(addresses));
        else set(to, value);
    }
}

using System.Text;

namespace Ananas.Server.Configuration;

/// <summary>
/// Renders <see cref="ConfigKeys.All"/> as the defaults file (what <see cref="ConfigLoader.Defaults"/> loads, and
/// the checked-in <c>defaults.toml</c> operators read) and as the key table of docs/SERVER.md.
/// <c>ananas check-config --print-defaults</c> and <c>--print-key-table</c> print them.
/// </summary>
public static class ConfigDocument
{
    /// <summary>Where the generated table sits in docs/SERVER.md.</summary>
    public const string TableBegin = "<!-- config-keys: generated from ConfigKeys.cs by `ananas check-config --print-key-table` -->";
    public const string TableEnd = "<!-- end of config-keys -->";

    public static string DefaultsToml()
    {
        var text = new StringBuilder();
        text.Append("""
            # Ananas server configuration: the defaults `ananas serve` runs with; a --config file only needs the keys it
            # changes. Generated from src/Ananas.Server/Configuration/ConfigKeys.cs (`ananas check-config --print-defaults`):
            # change the declarations there, not this file. docs/SERVER.md describes every key.

            """);
        string section = "";
        foreach (var key in ConfigKeys.All)
        {
            if (key.Section != section)
            {
                section = key.Section;
                text.Append('\n').Append('[').Append(section).Append("]\n");
            }
            else
            {
                text.Append('\n');
            }
            foreach (var line in Wrap($"{key.Doc}. ({key.Type}; {Describe(key.Reload)})", 116)) text.Append("# ").Append(line).Append('\n');
            text.Append(key.Leaf).Append(" = ").Append(key.Default).Append('\n');
        }
        return text.ToString();
    }

    public static string KeyTable()
    {
        var text = new StringBuilder();
        text.Append(TableBegin).Append('\n');
        text.Append("| key | type and range | default | on reload | meaning |\n|---|---|---|---|---|\n");
        foreach (var key in ConfigKeys.All)
            text.Append($"| `{key.Name}` | {key.Type} | `{key.Default}` | {Describe(key.Reload)} | {key.Doc} |\n");
        text.Append(TableEnd).Append('\n');
        return text.ToString();
    }

    public static string Describe(ReloadEffect reload) => reload switch
    {
        ReloadEffect.Live => "live",
        ReloadEffect.Recursor => "live (new recursor)",
        ReloadEffect.Listeners => "live (listeners)",
        _ => "restart",
    };

    private static IEnumerable<string> Wrap(string text, int width)
    {
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString();
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        if (line.Length > 0) yield return line.ToString();
    }
}

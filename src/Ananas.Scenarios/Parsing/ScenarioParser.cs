using System.Globalization;
using System.Net;
using Ananas.Dns;
using Ananas.Scenarios.Model;

namespace Ananas.Scenarios.Parsing;

/// <summary>
/// Parses both <c>.rpl</c> dialects (FORMAT.md §1 and §2) into a <see cref="Scenario"/>: the dialect and the config
/// block here, the body (RANGEs, STEPs, ENTRYs) in <see cref="ScenarioBodyParser"/>, with the line helpers below.
/// Unsupported content becomes a <see cref="SkipReason"/>; only structural errors raise <see cref="ScenarioParseException"/>.
/// </summary>
public static class ScenarioParser
{
    private static readonly string[] UnboundClauseHeaders = ["server:", "stub-zone:", "forward-zone:"];

    public static Scenario ParseFile(string path, ScenarioDialect? dialect = null) =>
        Parse(File.ReadAllText(path), path, dialect);

    /// <summary>Parses file text. <paramref name="dialect"/> null means auto-detect (see <see cref="DetectDialect"/>).</summary>
    public static Scenario Parse(string text, string path, ScenarioDialect? dialect = null)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        int configEnd = Array.FindIndex(lines, l => FirstToken(StripComment(l)) == "CONFIG_END");
        int scenarioBegin = Array.FindIndex(lines, l => FirstToken(StripComment(l)) == "SCENARIO_BEGIN");
        if (scenarioBegin < 0) throw new ScenarioParseException(path, lines.Length, "no SCENARIO_BEGIN");
        if (configEnd > scenarioBegin) throw new ScenarioParseException(path, configEnd + 1, "CONFIG_END after SCENARIO_BEGIN");
        int configLines = configEnd < 0 ? 0 : configEnd;

        var scenario = new Scenario(path, dialect ?? DetectDialect(lines.AsSpan(0, configLines), path));
        if (scenario.Dialect == ScenarioDialect.Deckard) ParseDeckardConfig(lines, configLines, scenario);
        else ParseUnboundConfig(lines, configLines, scenario);
        new ScenarioBodyParser(scenario, lines, configEnd + 1).Run();
        return scenario;
    }

    /// <summary>Unbound when the config block has a clause header line, or the file sits under a folder named <c>unbound</c>.</summary>
    public static ScenarioDialect DetectDialect(ReadOnlySpan<string> configLines, string path)
    {
        foreach (var raw in configLines)
        {
            var line = raw.Trim();
            foreach (var header in UnboundClauseHeaders)
                if (line.StartsWith(header, StringComparison.Ordinal) && StripHash(line[header.Length..]).Trim().Length == 0)
                    return ScenarioDialect.Unbound;
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        while (!string.IsNullOrEmpty(dir))
        {
            if (string.Equals(Path.GetFileName(dir), "unbound", StringComparison.OrdinalIgnoreCase)) return ScenarioDialect.Unbound;
            dir = Path.GetDirectoryName(dir);
        }
        return ScenarioDialect.Deckard;
    }

    private static void ParseDeckardConfig(string[] lines, int count, Scenario s)
    {
        for (int i = 0; i < count; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith(';')) continue;
            // Deckard keeps ';' inside values but '#' starts a comment (FORMAT.md §1.2).
            line = StripHash(line).Trim();
            if (line.Length == 0) continue;
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                s.SkipReasons.Add(new SkipReason($"config line without 'key:': '{line}'", i + 1));
                continue;
            }
            s.Config.Add(new ConfigEntry(line[..colon].Trim(), Unquote(line[(colon + 1)..].Trim()), i + 1));
        }
    }

    private static void ParseUnboundConfig(string[] lines, int count, Scenario s)
    {
        ConfigClause? clause = null;
        for (int i = 0; i < count; i++)
        {
            var line = StripHash(lines[i]).Trim();
            if (line.Length == 0 || line.StartsWith(';')) continue;
            var first = FirstToken(line);
            switch (first)
            {
                case "COMMANDLINE":
                    s.SkipReasons.Add(new SkipReason("COMMANDLINE options are not supported", i + 1));
                    continue;
                case "AUTOTRUST_FILE":
                    s.SkipReasons.Add(new SkipReason("needs RFC 5011 autotrust (AUTOTRUST_FILE)", i + 1));
                    i = SkipBlock(lines, i, count, "AUTOTRUST_END", s.Path);
                    continue;
                case "TEMPFILE_NAME":
                    s.SkipReasons.Add(new SkipReason("uses TEMPFILE files", i + 1));
                    continue;
                case "TEMPFILE_CONTENTS":
                    s.SkipReasons.Add(new SkipReason("uses TEMPFILE files", i + 1));
                    i = SkipBlock(lines, i, count, "TEMPFILE_END", s.Path);
                    continue;
            }
            var pairs = SplitUnboundLine(line);
            if (pairs.Count == 0)
            {
                s.SkipReasons.Add(new SkipReason($"config line without 'key:': '{line}'", i + 1));
                continue;
            }
            foreach (var (key, value) in pairs)
            {
                if (value.Length == 0)
                {
                    clause = new ConfigClause(key, i + 1);
                    s.Clauses.Add(clause);
                    continue;
                }
                if (clause is null)
                {
                    // Testbound would reject this too; treat it as a server: option.
                    clause = new ConfigClause("server", i + 1);
                    s.Clauses.Add(clause);
                }
                var entry = new ConfigEntry(key, Unquote(value), i + 1, clause.Name);
                clause.Entries.Add(entry);
                s.Config.Add(entry);
            }
        }
    }

    /// <summary>
    /// Splits an unbound.conf line into <c>key: value</c> pairs; one line may hold several
    /// (<c>forward-zone: name: "." forward-addr: 1.2.3.4</c>). A key with an empty value opens a clause.
    /// </summary>
    private static List<(string Key, string Value)> SplitUnboundLine(string line)
    {
        var tokens = new List<string>();
        int p = 0;
        while (p < line.Length)
        {
            if (char.IsWhiteSpace(line[p])) { p++; continue; }
            int start = p;
            if (line[p] == '"' || line[p] == '\'')
            {
                char quote = line[p];
                p = line.IndexOf(quote, p + 1);
                p = p < 0 ? line.Length : p + 1;
            }
            else
            {
                while (p < line.Length && !char.IsWhiteSpace(line[p])) p++;
            }
            tokens.Add(line[start..p]);
        }
        var pairs = new List<(string, string)>();
        string? key = null;
        var value = new List<string>();
        foreach (var t in tokens)
        {
            if (t.Length > 1 && t[^1] == ':' && t[0] is not ('"' or '\''))
            {
                if (key is not null) pairs.Add((key, string.Join(' ', value)));
                key = t[..^1];
                value.Clear();
            }
            else if (key is null) return [];
            else value.Add(t);
        }
        if (key is not null) pairs.Add((key, string.Join(' ', value)));
        return pairs;
    }

    private static int SkipBlock(string[] lines, int start, int count, string end, string path)
    {
        for (int j = start + 1; j < count; j++)
            if (FirstToken(lines[j]) == end) return j;
        throw new ScenarioParseException(path, start + 1, $"no {end} for this block");
    }

    internal static string Unquote(string value)
    {
        if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0]) return value[1..^1];
        return value;
    }

    /// <summary>Removes a <c>;</c> comment, leaving <c>;</c> inside double quotes alone (TXT data).</summary>
    internal static string StripComment(string line) => StripFrom(line, ';');

    private static string StripHash(string line) => StripFrom(line, '#');

    private static string StripFrom(string line, char marker)
    {
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c == '\\') { i++; continue; }
            if (c == '"') quoted = !quoted;
            else if (c == marker && !quoted) return line[..i];
        }
        return line;
    }

    internal static string FirstToken(string line)
    {
        var span = line.AsSpan().TrimStart();
        int end = 0;
        while (end < span.Length && !char.IsWhiteSpace(span[end])) end++;
        return span[..end].ToString();
    }

    internal static string[] Tokens(string line) =>
        line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    internal static bool TryParseAddress(string text, out IPAddress address)
    {
        // Unbound allows ip@port; the port is irrelevant to an in-process replay.
        int at = text.IndexOf('@', StringComparison.Ordinal);
        return IPAddress.TryParse(at >= 0 ? text[..at] : text, out address!);
    }
}

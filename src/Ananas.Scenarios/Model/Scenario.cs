namespace Ananas.Scenarios.Model;

/// <summary>A parsed <c>.rpl</c> file. Parsing never fails on unsupported content: it lands in <see cref="SkipReasons"/>.</summary>
public sealed class Scenario(string path, ScenarioDialect dialect)
{
    public string Path { get; } = path;

    public ScenarioDialect Dialect { get; } = dialect;

    public string Title { get; set; } = "";

    /// <summary>Every config line in file order (for unbound, each tagged with its clause).</summary>
    public List<ConfigEntry> Config { get; } = [];

    /// <summary>Unbound clauses (server, stub-zone, forward-zone, …) in file order; empty for deckard.</summary>
    public List<ConfigClause> Clauses { get; } = [];

    public List<ScenarioRange> Ranges { get; } = [];

    public List<ScenarioStep> Steps { get; } = [];

    /// <summary>Unsupported keywords, elements and directives met while parsing.</summary>
    public List<SkipReason> SkipReasons { get; } = [];

    /// <summary>File name without folders, for reports.</summary>
    public string Name => System.IO.Path.GetFileName(Path);

    /// <summary>All values of a (deckard, or unbound <c>server:</c>) config key, in order.</summary>
    public IEnumerable<string> ConfigValues(string key) =>
        Config.Where(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase) && e.Clause is null or "server")
              .Select(e => e.Value);

    public string? ConfigValue(string key) => ConfigValues(key).LastOrDefault();

    public IEnumerable<ScenarioEntry> AllEntries() =>
        Ranges.SelectMany(r => r.Entries).Concat(Steps.Where(s => s.Entry is not null).Select(s => s.Entry!));
}

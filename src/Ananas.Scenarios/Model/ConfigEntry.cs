namespace Ananas.Scenarios.Model;

/// <summary>One <c>key: value</c> line of the config block. <see cref="Clause"/> is the unbound.conf clause it sits in (null for deckard).</summary>
public sealed record ConfigEntry(string Key, string Value, int Line, string? Clause = null);

/// <summary>An unbound.conf clause (<c>server:</c>, <c>stub-zone:</c>, <c>forward-zone:</c>, ...) and its entries in order.</summary>
public sealed class ConfigClause(string name, int line)
{
    public string Name { get; } = name;

    public int Line { get; } = line;

    public List<ConfigEntry> Entries { get; } = [];

    /// <summary>All values of a key in this clause, in order.</summary>
    public IEnumerable<string> Values(string key) =>
        Entries.Where(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase)).Select(e => e.Value);

    public string? Value(string key) => Values(key).LastOrDefault();
}

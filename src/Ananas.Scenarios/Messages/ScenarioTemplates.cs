using Ananas.Scenarios.Model;

namespace Ananas.Scenarios.Messages;

/// <summary>Every entry of a scenario built into a <see cref="MessageTemplate"/> up front, so a record the library cannot parse skips the scenario before it starts.</summary>
public sealed class ScenarioTemplates
{
    private readonly Dictionary<ScenarioEntry, MessageTemplate> _byEntry = new(ReferenceEqualityComparer.Instance);

    private ScenarioTemplates() { }

    public MessageTemplate this[ScenarioEntry entry] => _byEntry[entry];

    /// <summary>Builds all templates; throws <see cref="UnsupportedRecordException"/> on the first unparseable record.</summary>
    public static ScenarioTemplates Build(Scenario scenario)
    {
        var t = new ScenarioTemplates();
        foreach (var entry in scenario.AllEntries()) t._byEntry[entry] = EntryMessageBuilder.Build(entry, scenario.Dialect);
        return t;
    }
}

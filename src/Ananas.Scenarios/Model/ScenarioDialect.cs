namespace Ananas.Scenarios.Model;

/// <summary>The two flavours of the <c>.rpl</c> format (FORMAT.md §1 and §2).</summary>
public enum ScenarioDialect
{
    /// <summary>CZ.NIC deckard: <c>key: value</c> config, first-match ranges, unmatched query = failure.</summary>
    Deckard,

    /// <summary>Unbound testbound: unbound.conf config, reverse-order ranges with fall-through.</summary>
    Unbound,
}

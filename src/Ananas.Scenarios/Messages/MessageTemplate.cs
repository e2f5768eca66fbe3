using Ananas.Dns.Messages;
using Ananas.Scenarios.Model;

namespace Ananas.Scenarios.Messages;

/// <summary>An entry turned into a message (or raw wire bytes), built once per scenario run.</summary>
public sealed class MessageTemplate(ScenarioEntry entry, DnsMessage message, byte[]? raw)
{
    public ScenarioEntry Entry { get; } = entry;

    /// <summary>The built message (from REPLY and SECTIONs); for RAW entries, whatever else the entry says (used for MATCH).</summary>
    public DnsMessage Message { get; } = message;

    /// <summary>Wire bytes to send instead of <see cref="Message"/> (deckard RAW, unbound HEX_ANSWER).</summary>
    public byte[]? Raw { get; } = raw;
}

using Ananas.Dns;

namespace Ananas.Scenarios.Model;

/// <summary>
/// One record (or question) line of an ENTRY section, kept as text with its line number; it is turned into
/// a record by <see cref="Dns.Zones.RecordText"/> only when the scenario runs, so that a type the parser
/// cannot read yet makes the scenario skipped rather than unparseable.
/// </summary>
public sealed record RecordLine(string Text, int Line, DnsName Origin, uint DefaultTtl);

/// <summary>A <c>SECTION</c> of an entry.</summary>
public enum EntrySectionKind
{
    Question,
    Answer,
    Authority,
    Additional,
}

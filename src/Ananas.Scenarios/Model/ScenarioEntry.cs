namespace Ananas.Scenarios.Model;

/// <summary>
/// An <c>ENTRY_BEGIN … ENTRY_END</c> block: a message template plus the rules for matching and adjusting it.
/// MATCH/ADJUST/REPLY tokens are kept as written (already validated against the dialect's vocabulary).
/// </summary>
public sealed class ScenarioEntry(int line)
{
    /// <summary>Line of <c>ENTRY_BEGIN</c>.</summary>
    public int Line { get; } = line;

    /// <summary>Whether a MATCH line was present: an entry without one never matches a query (FORMAT.md §1.4).</summary>
    public bool HasMatch { get; set; }

    public List<string> Match { get; } = [];

    public List<string> Adjust { get; } = [];

    /// <summary>REPLY (alias FLAGS) tokens: header flags, DO/CO, rcode and (unbound) opcode.</summary>
    public List<string> Reply { get; } = [];

    public List<RecordLine> Question { get; } = [];

    public List<RecordLine> Answer { get; } = [];

    public List<RecordLine> Authority { get; } = [];

    public List<RecordLine> Additional { get; } = [];

    /// <summary>Wire bytes from <c>RAW</c> (deckard) or <c>HEX_ANSWER_BEGIN</c> (unbound), used instead of a built message.</summary>
    public byte[]? Raw { get; set; }

    /// <summary>Unbound <c>HEX_EDNSDATA_BEGIN … END</c>: the exact OPT RDATA.</summary>
    public byte[]? EdnsData { get; set; }

    public bool Mandatory { get; set; }

    /// <summary><c>TSIG keyname secret</c>, kept but not applied.</summary>
    public string? Tsig { get; set; }

    /// <summary>Unbound <c>EXTRA_PACKET</c> count (multi-packet replies are not supported).</summary>
    public int ExtraPackets { get; set; }

    public bool HasMatchElement(string element) => Match.Contains(element, StringComparer.OrdinalIgnoreCase);

    public bool HasAdjust(string element) => Adjust.Contains(element, StringComparer.OrdinalIgnoreCase);

    public bool HasReplyToken(string token) => Reply.Contains(token, StringComparer.OrdinalIgnoreCase);

    public List<RecordLine> Section(EntrySectionKind kind) => kind switch
    {
        EntrySectionKind.Question => Question,
        EntrySectionKind.Answer => Answer,
        EntrySectionKind.Authority => Authority,
        _ => Additional,
    };
}

using Ananas.Scenarios.Model;

namespace Ananas.Scenarios.Parsing;

/// <summary>The MATCH/ADJUST/REPLY words each dialect accepts, and which of them the runner implements (FORMAT.md §1.3–1.5, §2.2).</summary>
public static class Vocabulary
{
    public static readonly IReadOnlySet<string> HeaderFlagTokens = Set("QR", "AA", "TC", "RD", "RA", "AD", "CD");

    public static readonly IReadOnlySet<string> RcodeTokens = Set(
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "NOTIMPL", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
        "NOTAUTH", "NOTZONE", "BADVERS", "BADSIG", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC", "BADCOOKIE");

    public static readonly IReadOnlySet<string> OpcodeTokens = Set("QUERY", "IQUERY", "STATUS", "NOTIFY", "UPDATE");

    private static readonly IReadOnlySet<string> DeckardMatch = Set(
        "opcode", "qtype", "qname", "qcase", "subdomain", "flags", "rcode", "question", "answer", "authority", "additional", "all", "edns");

    /// <summary>Unbound elements the runner implements (relaxed where FORMAT.md §2.3 suggests).</summary>
    private static readonly IReadOnlySet<string> UnboundMatch = Set(
        "opcode", "qtype", "qname", "subdomain", "all", "all_noedns", "ttl", "DO", "noedns", "UDP", "TCP", "question", "answer", "rcode");

    private static readonly IReadOnlySet<string> DeckardAdjust = Set("copy_id", "copy_query", "raw_id", "do_not_answer");

    private static readonly IReadOnlySet<string> UnboundAdjust = Set("copy_id", "copy_query");

    public static bool IsSupportedMatch(ScenarioDialect dialect, string element) =>
        (dialect == ScenarioDialect.Deckard ? DeckardMatch : UnboundMatch).Contains(element) ||
        (dialect == ScenarioDialect.Unbound && IsEde(element));

    /// <summary>Unbound <c>ede=N</c> (an Extended DNS Error with INFO-CODE N) or <c>ede=any</c>.</summary>
    public static bool IsEde(string element) =>
        element.StartsWith("ede=", StringComparison.OrdinalIgnoreCase) &&
        (element[4..].Equals("any", StringComparison.OrdinalIgnoreCase) || ushort.TryParse(element[4..], out _));

    /// <summary>Whether an ADJUST element is implemented; unbound's sleep=N/packet_sleep=N only delay, so they are accepted as no-ops.</summary>
    public static bool IsSupportedAdjust(ScenarioDialect dialect, string element) =>
        dialect == ScenarioDialect.Deckard
            ? DeckardAdjust.Contains(element)
            : UnboundAdjust.Contains(element) || element.StartsWith("sleep=", StringComparison.Ordinal) ||
              element.StartsWith("packet_sleep=", StringComparison.Ordinal);

    public static bool IsReplyToken(ScenarioDialect dialect, string token) =>
        HeaderFlagTokens.Contains(token) || RcodeTokens.Contains(token) || token.Equals("DO", StringComparison.OrdinalIgnoreCase) ||
        (dialect == ScenarioDialect.Unbound && (OpcodeTokens.Contains(token) || token.Equals("CO", StringComparison.OrdinalIgnoreCase)));

    private static HashSet<string> Set(params string[] items) => new(items, StringComparer.OrdinalIgnoreCase);
}

using System.Globalization;
using System.Net;
using Ananas.Dns;
using Ananas.Scenarios.Model;
using static Ananas.Scenarios.Parsing.ScenarioParser;

namespace Ananas.Scenarios.Parsing;

/// <summary>The scenario body: RANGEs, STEPs and ENTRYs, from the line after CONFIG_END.</summary>
internal sealed class ScenarioBodyParser(Scenario s, string[] lines, int start)
{
    private int _i;
    private ScenarioStep? _awaitingEntry;
    private DnsName _origin = DnsName.Root;
    private uint _defaultTtl = 3600;

    private int LineNo => _i + 1;

    private ScenarioParseException Error(string problem) => new(s.Path, LineNo, problem);

    public void Run()
    {
        bool begun = false, ended = false;
        ScenarioRange? range = null;
        for (_i = start; _i < lines.Length && !ended; _i++)
        {
            var line = StripComment(lines[_i]).Trim();
            if (line.Length == 0) continue;
            var t = Tokens(line);
            var kw = t[0];
            if (!begun)
            {
                if (kw != "SCENARIO_BEGIN") throw Error($"expected SCENARIO_BEGIN, found '{kw}'");
                s.Title = line["SCENARIO_BEGIN".Length..].Trim();
                begun = true;
                continue;
            }
            switch (kw)
            {
                case "SCENARIO_END":
                    if (range is not null) throw Error($"SCENARIO_END inside the RANGE opened at line {range.Line}");
                    ended = true;
                    break;
                case "RANGE_BEGIN":
                    if (range is not null) throw Error($"RANGE_BEGIN inside the RANGE opened at line {range.Line}");
                    if (t.Length < 3 || !TryInt(t[1], out int from) || !TryInt(t[2], out int to))
                        throw Error("RANGE_BEGIN needs two step ids");
                    range = new ScenarioRange(from, to, LineNo);
                    if (t.Length > 3) AddAddress(range, t[3]);
                    _awaitingEntry = null;
                    break;
                case "RANGE_END":
                    if (range is null)
                    {
                        // Testbound tolerates a stray RANGE_END (autotrust_probefail.rpl has one); deckard does not.
                        if (s.Dialect == ScenarioDialect.Unbound) break;
                        throw Error("RANGE_END without RANGE_BEGIN");
                    }
                    s.Ranges.Add(range);
                    range = null;
                    break;
                case "ADDRESS":
                    if (range is null) throw Error("ADDRESS outside a RANGE");
                    if (t.Length < 2) throw Error("ADDRESS needs an IP address");
                    AddAddress(range, t[1]);
                    break;
                case "STEP":
                    if (range is not null) throw Error($"STEP inside the RANGE opened at line {range.Line}");
                    ParseStep(t, line);
                    break;
                case "ENTRY_BEGIN":
                    var entry = ParseEntry();
                    if (range is not null) range.Entries.Add(entry);
                    else if (_awaitingEntry is not null) { _awaitingEntry.Entry = entry; _awaitingEntry = null; }
                    else throw new ScenarioParseException(s.Path, entry.Line, "ENTRY outside a RANGE and not after a STEP that takes one");
                    break;
                case "FILE_BEGIN":
                    SkipUntil("FILE_END");
                    break;
                case "$ORIGIN" when s.Dialect == ScenarioDialect.Unbound:
                    if (t.Length < 2 || !DnsName.TryParse(t[1], DnsName.Root, out var o, out _)) throw Error("bad $ORIGIN");
                    _origin = o;
                    break;
                case "$TTL" when s.Dialect == ScenarioDialect.Unbound:
                    if (t.Length < 2 || !uint.TryParse(t[1], NumberStyles.None, CultureInfo.InvariantCulture, out _defaultTtl)) throw Error("bad $TTL");
                    break;
                default:
                    if (kw is "ENTRY_END" or "CONFIG_END" or "SCENARIO_BEGIN") throw Error($"unexpected {kw}");
                    s.SkipReasons.Add(new SkipReason($"unknown keyword '{kw}'", LineNo));
                    break;
            }
        }
        if (!begun) throw Error("no SCENARIO_BEGIN");
        if (range is not null) throw new ScenarioParseException(s.Path, range.Line, "RANGE_BEGIN without RANGE_END");
        if (!ended) throw new ScenarioParseException(s.Path, lines.Length, "no SCENARIO_END");
        foreach (var step in s.Steps)
            if (step.Entry is null && step.Kind is StepKind.Query or StepKind.CheckAnswer or StepKind.Reply)
                throw new ScenarioParseException(s.Path, step.Line, $"STEP {step.Id} {step.Kind} has no ENTRY");
    }

    private void AddAddress(ScenarioRange range, string text)
    {
        if (!TryParseAddress(text, out var address)) throw Error($"bad IP address '{text}'");
        // Unbound keeps one address per range: a later ADDRESS overwrites (FORMAT.md §2.2).
        if (s.Dialect == ScenarioDialect.Unbound) range.Addresses.Clear();
        range.Addresses.Add(address);
    }

    private void SkipUntil(string end)
    {
        int begin = LineNo;
        for (_i++; _i < lines.Length; _i++)
            if (FirstToken(lines[_i]) == end) return;
        throw new ScenarioParseException(s.Path, begin, $"no {end}");
    }

    private void ParseStep(string[] t, string line)
    {
        if (t.Length < 3 || !TryInt(t[1], out int id)) throw Error("STEP needs an id and a type");
        StepKind? kind = t[2] switch
        {
            "QUERY" => StepKind.Query,
            "CHECK_ANSWER" => StepKind.CheckAnswer,
            "TIME_PASSES" => StepKind.TimePasses,
            "REPLY" => StepKind.Reply,
            "CHECK_OUT_QUERY" => StepKind.CheckOutQuery,
            "NOTHING" => StepKind.Nothing,
            "TIMEOUT" => StepKind.Timeout,
            "ERROR" => StepKind.Error,
            "TRAFFIC" => StepKind.Traffic,
            "ASSIGN" => StepKind.Assign,
            "CHECK_AUTOTRUST" => StepKind.CheckAutotrust,
            "CHECK_TEMPFILE" => StepKind.CheckTempfile,
            "INFRA_RTT" => StepKind.InfraRtt,
            "FLUSH_MESSAGE" => StepKind.FlushMessage,
            "EXPIRE_MESSAGE" => StepKind.ExpireMessage,
            _ => null,
        };
        if (kind is null)
        {
            s.SkipReasons.Add(new SkipReason($"unknown step type '{t[2]}'", LineNo));
            _awaitingEntry = null;
            return;
        }
        var step = new ScenarioStep(id, kind.Value, LineNo) { Arguments = string.Join(' ', t.Skip(3)) };
        if (s.Steps.Count > 0 && s.Dialect == ScenarioDialect.Unbound && id <= s.Steps[^1].Id)
            throw Error($"step id {id} does not increase (previous {s.Steps[^1].Id})");
        for (int k = 3; k < t.Length; k++)
        {
            switch (t[k])
            {
                case "ELAPSE" when k + 1 < t.Length:
                    if (!double.TryParse(t[++k], NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || seconds < 0)
                        throw Error($"bad ELAPSE '{t[k]}'");
                    step.Elapse = seconds;
                    break;
                case "EVAL":
                    s.SkipReasons.Add(new SkipReason("TIME_PASSES EVAL expressions are not supported", LineNo));
                    k = t.Length;
                    break;
                case "ADDRESS" when k + 1 < t.Length:
                    if (!TryParseAddress(t[++k], out var address)) throw Error($"bad IP address '{t[k]}'");
                    step.Address = address;
                    break;
                default:
                    if (kind is StepKind.Query or StepKind.CheckAnswer or StepKind.TimePasses or StepKind.Reply or StepKind.CheckOutQuery)
                        s.SkipReasons.Add(new SkipReason($"unknown STEP option '{t[k]}'", LineNo));
                    k = t.Length;
                    break;
            }
        }
        if (kind == StepKind.TimePasses && step.Elapse is null && !line.Contains("EVAL", StringComparison.Ordinal))
            throw Error("TIME_PASSES needs ELAPSE <seconds>");
        s.Steps.Add(step);
        _awaitingEntry = kind is StepKind.Query or StepKind.CheckAnswer or StepKind.Reply or StepKind.CheckOutQuery ? step : null;
    }

    private ScenarioEntry ParseEntry()
    {
        var entry = new ScenarioEntry(LineNo);
        // Testbound keeps one zone-file parse state for the whole file: $ORIGIN and $TTL, in or outside an entry,
        // hold until the next one (testpkts.c read_entry's sldns_file_parse_state). Deckard's are per entry.
        bool carry = s.Dialect == ScenarioDialect.Unbound;
        var origin = carry ? _origin : DnsName.Root;
        uint defaultTtl = carry ? _defaultTtl : 3600;
        EntrySectionKind? section = null;
        bool raw = false;
        bool discard = false; // after EXTRA_PACKET: records of the extra packets are not kept
        for (_i++; _i < lines.Length; _i++)
        {
            var line = StripComment(lines[_i]).Trim();
            if (line.Length == 0) continue;
            var t = Tokens(line);
            switch (t[0])
            {
                case "ENTRY_END":
                    if (carry) (_origin, _defaultTtl) = (origin, defaultTtl);
                    return entry;
                case "MATCH":
                    entry.HasMatch = true;
                    foreach (var e in t.Skip(1))
                    {
                        if (!Vocabulary.IsSupportedMatch(s.Dialect, e)) s.SkipReasons.Add(new SkipReason($"unsupported MATCH element '{e}'", LineNo));
                        entry.Match.Add(e);
                    }
                    break;
                case "ADJUST":
                    foreach (var e in t.Skip(1))
                    {
                        if (!Vocabulary.IsSupportedAdjust(s.Dialect, e)) s.SkipReasons.Add(new SkipReason($"unsupported ADJUST element '{e}'", LineNo));
                        entry.Adjust.Add(e);
                    }
                    break;
                case "REPLY" or "FLAGS":
                    foreach (var e in t.Skip(1))
                    {
                        if (!Vocabulary.IsReplyToken(s.Dialect, e)) s.SkipReasons.Add(new SkipReason($"unsupported REPLY token '{e}'", LineNo));
                        if (!discard) entry.Reply.Add(e);
                    }
                    break;
                case "SECTION":
                    if (t.Length < 2) throw Error("SECTION needs a name");
                    section = t[1].ToUpperInvariant() switch
                    {
                        "QUESTION" => EntrySectionKind.Question,
                        "ANSWER" => EntrySectionKind.Answer,
                        "AUTHORITY" => EntrySectionKind.Authority,
                        "ADDITIONAL" => EntrySectionKind.Additional,
                        _ => throw Error($"unknown SECTION '{t[1]}'"),
                    };
                    raw = false;
                    break;
                case "MANDATORY":
                    entry.Mandatory = true;
                    break;
                case "TSIG":
                    entry.Tsig = string.Join(' ', t.Skip(1));
                    s.SkipReasons.Add(new SkipReason("TSIG is not supported", LineNo));
                    break;
                case "RAW":
                    raw = true;
                    section = null;
                    break;
                case "HEX_ANSWER_BEGIN":
                    entry.Raw = ReadHex("HEX_ANSWER_END");
                    break;
                case "HEX_EDNSDATA_BEGIN":
                    entry.EdnsData = ReadHex("HEX_EDNSDATA_END");
                    break;
                case "EXTRA_PACKET":
                    entry.ExtraPackets++;
                    s.SkipReasons.Add(new SkipReason("EXTRA_PACKET (multi-packet replies) is not supported", LineNo));
                    discard = true;
                    section = null;
                    break;
                case "$ORIGIN":
                    if (t.Length < 2 || !DnsName.TryParse(t[1], DnsName.Root, out origin, out var why)) throw Error("bad $ORIGIN");
                    _ = why;
                    break;
                case "$TTL":
                    if (t.Length < 2 || !uint.TryParse(t[1], NumberStyles.None, CultureInfo.InvariantCulture, out defaultTtl)) throw Error("bad $TTL");
                    break;
                case "ENTRY_BEGIN" or "RANGE_END" or "STEP" or "SCENARIO_END" or "RANGE_BEGIN":
                    throw Error($"{t[0]} inside the ENTRY opened at line {entry.Line} (missing ENTRY_END?)");
                default:
                    if (raw)
                    {
                        entry.Raw = Concat(entry.Raw, ParseHex(line));
                    }
                    else if (section is { } k)
                    {
                        if (!discard) entry.Section(k).Add(new RecordLine(line, LineNo, origin, defaultTtl));
                    }
                    else if (IsUpperKeyword(t[0]))
                    {
                        s.SkipReasons.Add(new SkipReason($"unknown entry keyword '{t[0]}'", LineNo));
                    }
                    else
                    {
                        throw Error($"record line outside a SECTION: '{line}'");
                    }
                    break;
            }
        }
        throw new ScenarioParseException(s.Path, entry.Line, "ENTRY_BEGIN without ENTRY_END");
    }

    private byte[] ReadHex(string end)
    {
        int begin = LineNo;
        var bytes = Array.Empty<byte>();
        for (_i++; _i < lines.Length; _i++)
        {
            var line = StripComment(lines[_i]).Trim();
            if (line.Length == 0) continue;
            if (FirstToken(line) == end) return bytes;
            bytes = Concat(bytes, ParseHex(line));
        }
        throw new ScenarioParseException(s.Path, begin, $"no {end}");
    }

    private byte[] ParseHex(string line)
    {
        var hex = string.Concat(line.Where(c => !char.IsWhiteSpace(c)));
        try { return Convert.FromHexString(hex); }
        catch (FormatException) { throw Error($"bad hex '{line}'"); }
    }

    private static byte[] Concat(byte[]? a, byte[] b) => a is null || a.Length == 0 ? b : [.. a, .. b];

    private static bool IsUpperKeyword(string token) =>
        token.Length > 1 && token.All(c => char.IsAsciiLetterUpper(c) || c == '_');

    private static bool TryInt(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}

using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver;
using Ananas.Scenarios.Model;
using Ananas.Scenarios.Parsing;

namespace Ananas.Scenarios.Messages;

/// <summary>
/// Applies an entry's MATCH elements to a message (FORMAT.md §1.4). Used both to pick mock replies for the
/// resolver's queries and to check the resolver's answers. Sections are multisets; TTLs are ignored unless
/// the unbound <c>ttl</c> element is present; owners compare case-insensitively; RDATA by canonical form.
/// For the unbound dialect <c>all</c> is relaxed to header, rcode and ANSWER (FORMAT.md §2.3/§4.3).
/// </summary>
public static class MessageComparer
{
    /// <summary>The header flags <c>flags</c> compares. DO is not a header flag and is not compared.</summary>
    public const HeaderFlags ComparedFlags =
        HeaderFlags.QR | HeaderFlags.AA | HeaderFlags.TC | HeaderFlags.RD | HeaderFlags.RA | HeaderFlags.AD | HeaderFlags.CD;

    private static readonly string[] DeckardAll = ["opcode", "qtype", "qname", "flags", "rcode", "answer", "authority", "additional"];

    private static readonly string[] UnboundAll = ["opcode", "qtype", "qname", "flags", "rcode", "answer"];

    /// <summary>
    /// True when every MATCH element passes. An entry without MATCH matches any query in Unbound's testbound (its
    /// match flags are all off: nothing to check); deckard's entries always say what they match, so there one
    /// without MATCH never matches.
    /// </summary>
    public static bool Matches(MessageTemplate expected, DnsMessage got, ScenarioDialect dialect, UpstreamTransport? transport = null) =>
        (expected.Entry.HasMatch || dialect == ScenarioDialect.Unbound) && Compare(expected, got, dialect, transport, stopAtFirst: true).Count == 0;

    /// <summary>Every failing MATCH element, in the order written.</summary>
    public static List<Mismatch> Compare(MessageTemplate expected, DnsMessage got, ScenarioDialect dialect,
                                         UpstreamTransport? transport = null, bool stopAtFirst = false)
    {
        var result = new List<Mismatch>();
        var entry = expected.Entry;
        var exp = expected.Message;
        bool compareTtl = dialect == ScenarioDialect.Unbound && entry.HasMatchElement("ttl");
        foreach (var element in Expand(entry.Match, dialect))
        {
            var m = CompareElement(element, exp, got, dialect, transport, compareTtl);
            if (m is null) continue;
            result.Add(m);
            if (stopAtFirst) break;
        }
        return result;
    }

    private static IEnumerable<string> Expand(List<string> elements, ScenarioDialect dialect)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var e in elements)
        {
            IEnumerable<string> parts = e.ToLowerInvariant() switch
            {
                "all" or "all_noedns" => dialect == ScenarioDialect.Deckard ? DeckardAll : UnboundAll,
                "question" => dialect == ScenarioDialect.Deckard ? ["qtype", "qname"] : ["qtype", "qname", "qclass"],
                _ => [e],
            };
            foreach (var p in parts)
                if (seen.Add(p)) yield return p;
        }
    }

    private static Mismatch? CompareElement(string element, DnsMessage exp, DnsMessage got, ScenarioDialect dialect,
                                            UpstreamTransport? transport, bool compareTtl)
    {
        switch (element.ToLowerInvariant())
        {
            case "opcode":
                return exp.Opcode == got.Opcode ? null : new Mismatch(element, exp.Opcode.ToString(), got.Opcode.ToString());
            case "qtype":
                if (exp.Questions.Count == 0 && got.Questions.Count == 0) return null;
                if (exp.Questions.Count == 0 || got.Questions.Count == 0 || exp.Question.Type != got.Question.Type)
                    return new Mismatch(element, QText(exp, q => RRTypeText.ToText(q.Type)), QText(got, q => RRTypeText.ToText(q.Type)));
                return null;
            case "qclass":
                if (exp.Questions.Count == 0 && got.Questions.Count == 0) return null;
                if (exp.Questions.Count == 0 || got.Questions.Count == 0 || exp.Question.Class != got.Question.Class)
                    return new Mismatch(element, QText(exp, q => RRClassText.ToText(q.Class)), QText(got, q => RRClassText.ToText(q.Class)));
                return null;
            case "qname":
                if (exp.Questions.Count == 0 && got.Questions.Count == 0) return null;
                if (exp.Questions.Count == 0 || got.Questions.Count == 0 || !exp.Question.Name.Equals(got.Question.Name))
                    return new Mismatch(element, QText(exp, q => q.Name.ToString()), QText(got, q => q.Name.ToString()));
                return null;
            case "qcase":
                if (exp.Questions.Count == 0 && got.Questions.Count == 0) return null;
                if (exp.Questions.Count == 0 || got.Questions.Count == 0 || !exp.Question.Name.EqualsExactCase(got.Question.Name))
                    return new Mismatch(element, QText(exp, q => q.Name.ToString()), QText(got, q => q.Name.ToString()));
                return null;
            case "subdomain":
                if (exp.Questions.Count == 0) return null;
                var gotName = got.Questions.Count > 0 ? got.Question.Name : DnsName.Root;
                return gotName.IsSubdomainOf(exp.Question.Name) ? null
                    : new Mismatch(element, "a name at or below " + exp.Question.Name, gotName.ToString());
            case "flags":
                return (exp.Flags & ComparedFlags) == (got.Flags & ComparedFlags) ? null
                    : new Mismatch(element, FlagsText(exp.Flags), FlagsText(got.Flags));
            case "rcode":
                return exp.Rcode == got.Rcode ? null : new Mismatch(element, RcodeText.ToText(exp.Rcode), RcodeText.ToText(got.Rcode));
            case "answer":
                return CompareSection(element, exp.Answers, got.Answers, compareTtl);
            case "authority":
                return CompareSection(element, exp.Authority, got.Authority, compareTtl);
            case "additional":
                return CompareSection(element, exp.Additional, got.Additional, compareTtl);
            case "edns":
                if (exp.Edns is null && got.Edns is null) return null;
                if (exp.Edns is null || got.Edns is null || exp.Edns.Version != got.Edns.Version || exp.Edns.UdpPayloadSize != got.Edns.UdpPayloadSize)
                    return new Mismatch(element, EdnsText(exp.Edns), EdnsText(got.Edns));
                return null;
            case "do":
                return got.Edns is { DnssecOk: true } ? null : new Mismatch(element, "DO set", "DO clear");
            case "noedns":
                return got.Edns is null ? null : new Mismatch(element, "no EDNS", EdnsText(got.Edns));
            case "tcp":
                return transport is null or UpstreamTransport.Tcp ? null : new Mismatch(element, "TCP", transport.Value.ToString());
            case "udp":
                return transport is null or UpstreamTransport.Udp ? null : new Mismatch(element, "UDP", transport.Value.ToString());
            case "ttl":
                return null; // a modifier of the section comparisons
            case var ede when Vocabulary.TryParseEde(ede, out int? code):
            {
                var found = got.Edns?.Options.OfType<ExtendedErrorOption>().Select(o => (int)o.InfoCode).ToList() ?? [];
                bool ok = code is null ? found.Count > 0 : found.Contains(code.Value);
                return ok ? null : new Mismatch("ede", code is null ? "an EDE" : $"EDE {code}", found.Count == 0 ? "no EDE" : "EDE " + string.Join(",", found));
            }
            default:
                // Unsupported elements were reported as skip reasons while parsing; never match on them.
                return new Mismatch(element, "(unsupported element)", "");
        }
    }

    /// <summary>Multiset comparison of two sections; TSIG records are not part of the comparison.</summary>
    public static Mismatch? CompareSection(string element, IReadOnlyList<ResourceRecord> expected, IReadOnlyList<ResourceRecord> got, bool compareTtl = false)
    {
        var remaining = got.Where(r => r.Type != RRType.TSIG).ToList();
        var missing = new List<ResourceRecord>();
        foreach (var e in expected)
        {
            if (e.Type == RRType.TSIG) continue;
            int k = remaining.FindIndex(g => g.SameData(e) && (!compareTtl || g.Ttl == e.Ttl));
            if (k >= 0) remaining.RemoveAt(k);
            else missing.Add(e);
        }
        if (missing.Count == 0 && remaining.Count == 0) return null;
        var exp = missing.Count == 0 ? "(all present)" : "missing " + string.Join("; ", missing);
        var act = remaining.Count == 0 ? "(nothing extra)" : "unexpected " + string.Join("; ", remaining);
        return new Mismatch(element, exp, act);
    }

    public static string FlagsText(HeaderFlags flags)
    {
        var names = new[] { HeaderFlags.QR, HeaderFlags.AA, HeaderFlags.TC, HeaderFlags.RD, HeaderFlags.RA, HeaderFlags.AD, HeaderFlags.CD }
            .Where(f => (flags & f) == f).Select(f => f.ToString());
        var text = string.Join(' ', names);
        return text.Length == 0 ? "(none)" : text;
    }

    private static string QText(DnsMessage m, Func<Question, string> part) => m.Questions.Count == 0 ? "(no question)" : part(m.Question);

    private static string EdnsText(Edns? e) => e is null ? "no EDNS" : $"EDNS{e.Version} payload {e.UdpPayloadSize}";
}

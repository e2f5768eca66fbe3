using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Authoritative.Tests;

/// <summary>Compares two answers to one question: header flags, RCODE and each section as a sorted set of records (OPT aside).</summary>
internal static class AnswerComparison
{
    private const HeaderFlags Compared = HeaderFlags.QR | HeaderFlags.AA | HeaderFlags.TC | HeaderFlags.RD | HeaderFlags.RA | HeaderFlags.AD | HeaderFlags.CD;

    /// <returns>Null when equal (or, for ANY, when ours is one RRset of theirs), else what differs.</returns>
    public static string? Difference(RRType type, DnsMessage? reference, DnsMessage? ours)
    {
        if (reference is null || ours is null) return $"no answer from {(reference is null ? "NSD" : "us")}";
        if (reference.Rcode != ours.Rcode) return $"rcode {reference.Rcode} vs {ours.Rcode}";
        if ((reference.Flags & Compared) != (ours.Flags & Compared)) return $"flags {reference.Flags & Compared} vs {ours.Flags & Compared}";
        var sections = new[] { ("answer", reference.Answers, ours.Answers), ("authority", reference.Authority, ours.Authority), ("additional", reference.Additional, ours.Additional) };
        foreach (var (name, theirs, mine) in sections)
        {
            var a = Normalize(theirs);
            var b = Normalize(mine);
            if (type == RRType.ANY && name == "answer" && !a.SequenceEqual(b))
            {
                // RFC 8482 §4.2 lets each server pick the one RRset it sends (NSD the first in its zone file, we
                // the first by type): the caller checks ours against NSD's answer for our type.
                if ((a.Count == 0) != (b.Count == 0) || mine.Select(r => r.Type).Distinct().Count() > 1) return $"ANY: [{string.Join(" | ", a)}] vs one RRset [{string.Join(" | ", b)}]";
                continue;
            }
            if (!a.SequenceEqual(b)) return $"{name}: NSD [{string.Join(" | ", a)}] vs ours [{string.Join(" | ", b)}]";
        }
        return null;
    }

    /// <summary>Null when the answer sections hold the same records.</summary>
    public static string? AnswerDifference(DnsMessage? reference, DnsMessage? ours)
    {
        if (reference is null || ours is null) return "no answer";
        var a = Normalize(reference.Answers);
        var b = Normalize(ours.Answers);
        return a.SequenceEqual(b) ? null : $"answer: NSD [{string.Join(" | ", a)}] vs ours [{string.Join(" | ", b)}]";
    }

    private static List<string> Normalize(List<ResourceRecord> records) =>
        records.Where(r => r.Type != RRType.OPT).Select(r => r.ToString().ToLowerInvariant()).Order(StringComparer.Ordinal).ToList();
}

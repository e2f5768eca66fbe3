using System.Globalization;
using System.Text;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Server.Shadow;

/// <summary>What differs between two answers to one question (respdiff's fields). Several can differ at once.</summary>
[Flags]
public enum Difference
{
    None = 0,
    /// <summary>One side answered, the other did not (timeout or network error).</summary>
    Timeout = 1,
    Rcode = 2,
    /// <summary>AA, TC, RD, RA, AD or CD.</summary>
    Flags = 4,
    /// <summary>The set of record types in the answer section.</summary>
    AnswerTypes = 8,
    /// <summary>The answer section's records (owner, type, data; TTLs ignored), RRSIGs included.</summary>
    AnswerRrsets = 16,
    /// <summary>The Extended DNS Error codes (RFC 8914).</summary>
    Ede = 32,
}

/// <summary>
/// Compares a target's answer with a reference resolver's, field by field as respdiff does (TTLs and record order
/// are ignored, names compared without case: resolvers may echo the 0x20 case they received).
/// </summary>
public static class AnswerComparison
{
    /// <summary>Every field, in report order.</summary>
    public static readonly Difference[] Fields =
        [Difference.Timeout, Difference.Rcode, Difference.Flags, Difference.AnswerTypes, Difference.AnswerRrsets, Difference.Ede];

    private const HeaderFlags Compared = HeaderFlags.AA | HeaderFlags.TC | HeaderFlags.RD | HeaderFlags.RA | HeaderFlags.AD | HeaderFlags.CD;

    /// <summary>The differing fields; <see cref="Difference.None"/> when both agree or neither answered.</summary>
    public static Difference Compare(DnsMessage? target, DnsMessage? reference)
    {
        if (target is null || reference is null) return target is null == reference is null ? Difference.None : Difference.Timeout;
        var d = Difference.None;
        if (target.Rcode != reference.Rcode) d |= Difference.Rcode;
        if ((target.Flags & Compared) != (reference.Flags & Compared)) d |= Difference.Flags;
        if (!AnswerTypes(target).SetEquals(AnswerTypes(reference))) d |= Difference.AnswerTypes;
        if (!AnswerRecords(target).SetEquals(AnswerRecords(reference))) d |= Difference.AnswerRrsets;
        if (!EdeCodes(target).SetEquals(EdeCodes(reference))) d |= Difference.Ede;
        return d;
    }

    /// <summary>The field's name in reports and metrics labels.</summary>
    public static string Name(Difference field) => field switch
    {
        Difference.Timeout => "timeout",
        Difference.Rcode => "rcode",
        Difference.Flags => "flags",
        Difference.AnswerTypes => "answertypes",
        Difference.AnswerRrsets => "answerrrsets",
        Difference.Ede => "ede",
        _ => field.ToString().ToLowerInvariant(),
    };

    /// <summary>"rcode,answerrrsets".</summary>
    public static string Names(Difference differences)
    {
        var sb = new StringBuilder();
        foreach (var field in Fields)
        {
            if ((differences & field) == 0) continue;
            if (sb.Length > 0) sb.Append(',');
            sb.Append(Name(field));
        }
        return sb.ToString();
    }

    /// <summary>One line for a report: rcode, flags, EDEs and the answer records (or "no answer").</summary>
    public static string Summary(DnsMessage? message)
    {
        if (message is null) return "no answer";
        var sb = new StringBuilder(RcodeText.ToText(message.Rcode));
        foreach (var flag in new[] { HeaderFlags.AA, HeaderFlags.TC, HeaderFlags.RD, HeaderFlags.RA, HeaderFlags.AD, HeaderFlags.CD })
            if (message.Has(flag)) sb.Append(' ').Append(flag.ToString().ToLowerInvariant());
        foreach (var code in EdeCodes(message)) sb.Append(CultureInfo.InvariantCulture, $" ede={code}");
        var records = AnswerRecords(message).ToList();
        records.Sort(StringComparer.Ordinal);
        if (records.Count > 0) sb.Append(" | ").AppendJoin("; ", records);
        return sb.ToString();
    }

    private static HashSet<RRType> AnswerTypes(DnsMessage message)
    {
        var types = new HashSet<RRType>();
        foreach (var rr in message.Answers) types.Add(rr.Type);
        return types;
    }

    private static HashSet<string> AnswerRecords(DnsMessage message)
    {
        var records = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rr in message.Answers)
            records.Add($"{rr.Name} {RRTypeText.ToText(rr.Type)} {rr.Data}".ToLowerInvariant());
        return records;
    }

    private static HashSet<int> EdeCodes(DnsMessage message)
    {
        var codes = new HashSet<int>();
        if (message.Edns is { } edns)
            foreach (var option in edns.Options)
                if (option is ExtendedErrorOption ede) codes.Add((int)ede.InfoCode);
        return codes;
    }
}

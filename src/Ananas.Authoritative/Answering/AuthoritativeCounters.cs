using System.Globalization;
using System.Text;
using Ananas.Dns;

namespace Ananas.Authoritative.Answering;

/// <summary>
/// What the answerer did, for <c>/metrics</c> (<c>ananas_auth_*</c>). Incremented without locks. A reply-cache hit is
/// counted once, by the cache (by rcode), and added in here when exported: an answer with no store read.
/// </summary>
public sealed class AuthoritativeCounters
{
    /// <summary>Answers by RCODE (index = RCODE, 0–23).</summary>
    public readonly long[] ByRcode = new long[24];

    /// <summary>Queries by store reads made: index 0..4, the last one "4 or more".</summary>
    public readonly long[] ByReads = new long[5];

    public long Reads;
    public long Referrals;
    public long Wildcards;
    public long Corrupt;

    public void Count(Rcode rcode, int reads)
    {
        Interlocked.Increment(ref ByRcode[(int)rcode % ByRcode.Length]);
        Interlocked.Increment(ref ByReads[Math.Min(reads, ByReads.Length - 1)]);
        Interlocked.Add(ref Reads, reads);
    }

    /// <param name="replies">The reply cache whose hits are answers too (null: none).</param>
    public void AppendPrometheus(StringBuilder sb, int zones, ulong generation, ReplyCache? replies = null)
    {
        sb.Append("# HELP ananas_auth_answers_total Authoritative answers by rcode.\n# TYPE ananas_auth_answers_total counter\n");
        for (int i = 0; i < ByRcode.Length; i++)
        {
            long n = Volatile.Read(ref ByRcode[i]) + (replies?.HitsWith(i) ?? 0);
            if (n > 0) sb.Append(CultureInfo.InvariantCulture, $"ananas_auth_answers_total{{rcode=\"{Ananas.Dns.Messages.RcodeText.ToText((Rcode)i)}\"}} {n}\n");
        }
        sb.Append("# HELP ananas_auth_store_reads_total Edge store reads made by queries.\n# TYPE ananas_auth_store_reads_total counter\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_auth_store_reads_total {Volatile.Read(ref Reads)}\n");
        sb.Append("# HELP ananas_auth_queries_by_reads_total Queries by the number of store reads they needed (4 means 4 or more).\n# TYPE ananas_auth_queries_by_reads_total counter\n");
        for (int i = 0; i < ByReads.Length; i++)
            sb.Append(CultureInfo.InvariantCulture, $"ananas_auth_queries_by_reads_total{{reads=\"{i}\"}} {Volatile.Read(ref ByReads[i]) + (i == 0 ? replies?.Hits ?? 0 : 0)}\n");
        sb.Append("# HELP ananas_auth_referrals_total Referrals to a delegated child.\n# TYPE ananas_auth_referrals_total counter\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_auth_referrals_total {Volatile.Read(ref Referrals)}\n");
        sb.Append("# HELP ananas_auth_wildcard_answers_total Answers synthesized from a wildcard (RFC 4592).\n# TYPE ananas_auth_wildcard_answers_total counter\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_auth_wildcard_answers_total {Volatile.Read(ref Wildcards)}\n");
        sb.Append("# HELP ananas_auth_corrupt_values_total Store values that could not be read (answered SERVFAIL).\n# TYPE ananas_auth_corrupt_values_total counter\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_auth_corrupt_values_total {Volatile.Read(ref Corrupt)}\n");
        sb.Append("# HELP ananas_auth_zones Zones in the store.\n# TYPE ananas_auth_zones gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_auth_zones {zones}\n");
        sb.Append("# HELP ananas_auth_store_generation The store's change counter as last seen.\n# TYPE ananas_auth_store_generation gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"ananas_auth_store_generation {generation}\n");
    }
}

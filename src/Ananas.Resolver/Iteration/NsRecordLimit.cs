using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Iteration;

/// <summary>
/// Unbound <c>iter-scrub-ns</c> (default 20): an NS RRset in an upstream response keeps at most that many records,
/// the first ones in packet order; the rest are dropped before the response is used. This bounds the work (and the
/// address lookups) one referral or answer can cause.
/// </summary>
public static class NsRecordLimit
{
    /// <summary>Trims every NS RRset in the answer and authority sections to <paramref name="max"/> records; returns how many went.</summary>
    public static int Apply(DnsMessage message, int max)
    {
        if (max <= 0) return 0;
        return Apply(message.Answers, max) + Apply(message.Authority, max);
    }

    private static int Apply(List<ResourceRecord> records, int max)
    {
        Dictionary<(DnsName, RRClass), int>? counts = null;
        int removed = 0, write = 0;
        for (int i = 0; i < records.Count; i++)
        {
            var r = records[i];
            if (r.Type == RRType.NS)
            {
                counts ??= [];
                var key = (r.Name, r.Class);
                int seen = counts.GetValueOrDefault(key);
                counts[key] = seen + 1;
                if (seen >= max) { removed++; continue; }
            }
            records[write++] = r;
        }
        if (removed > 0) records.RemoveRange(write, removed);
        return removed;
    }
}

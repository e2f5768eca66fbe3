using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Pipeline.Api;

namespace Ananas.Pipeline.Records;

/// <summary>
/// The <c>ananas zone check</c> rules (<see cref="ZoneChecker"/>) applied to API changes: a whole zone (create,
/// import) may have no errors; a change to some names may add no error the records around them did not already
/// have (CNAME beside other data, a second SOA or CNAME, SOA off the apex, the apex left without SOA or NS, an
/// in-zone name server left without an address).
/// </summary>
public static class ZoneRules
{
    /// <summary>Records one RRset may hold: every record of an owner is in one edge store value, read whole per answer.</summary>
    public const int MaxRecordsPerRRset = 4096;

    public static List<ApiError> Errors(DnsName apex, IReadOnlyList<ResourceRecord> records) =>
        [.. Check(apex, records).Select(ToError)];

    /// <param name="before">The records around the change (the apex, the changed owners, related name servers and addresses) before it.</param>
    /// <param name="after">The same set after it.</param>
    public static List<ApiError> NewErrors(DnsName apex, IReadOnlyList<ResourceRecord> before, IReadOnlyList<ResourceRecord> after)
    {
        var existing = new HashSet<string>(Check(apex, before), StringComparer.Ordinal);
        return [.. Check(apex, after).Where(m => !existing.Contains(m)).Select(ToError)];
    }

    private static IEnumerable<string> Check(DnsName apex, IReadOnlyList<ResourceRecord> records)
    {
        var zoneRecords = new List<ZoneRecord>(records.Count);
        for (int i = 0; i < records.Count; i++) zoneRecords.Add(new ZoneRecord(records[i], "zone", i + 1, 1));
        var report = ZoneChecker.Check(zoneRecords, apex, "zone");
        foreach (var issue in report.Issues)
            if (issue.Severity == ZoneIssueSeverity.Error) yield return issue.Message;
        // The edge store's bounds: RRsets per owner (the applier's limit) and records per RRset.
        foreach (var owner in records.GroupBy(r => r.Name))
        {
            var types = owner.GroupBy(r => r.Type).ToList();
            if (types.Count > Authoritative.Changes.EdgeChangeApplier.MaxRRsetsPerOwner)
                yield return $"{owner.Key} has more than {Authoritative.Changes.EdgeChangeApplier.MaxRRsetsPerOwner} RRsets";
            foreach (var rrset in types)
                if (rrset.Count() > MaxRecordsPerRRset) yield return $"{owner.Key} {RRTypeText.ToText(rrset.Key)} has more than {MaxRecordsPerRRset} records";
        }
    }

    private static ApiError ToError(string message) => message.Contains("CNAME", StringComparison.Ordinal)
        ? new ApiError(ErrorCodes.CnameConflict, message, "type")
        : new ApiError(ErrorCodes.ZoneCheck, message);
}

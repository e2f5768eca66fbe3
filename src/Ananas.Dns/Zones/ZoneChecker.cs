using Ananas.Dns.Records;

namespace Ananas.Dns.Zones;

/// <summary>Counts and findings for one zone.</summary>
public sealed class ZoneCheckReport
{
    public required DnsName Origin { get; init; }

    public int Records { get; init; }

    public int RRsets { get; init; }

    public int Names { get; init; }

    /// <summary>Records per type, keyed by mnemonic, sorted.</summary>
    public SortedDictionary<string, int> TypeCounts { get; } = new(StringComparer.Ordinal);

    public List<ZoneIssue> Issues { get; } = [];

    public int ErrorCount => Issues.Count(i => i.Severity == ZoneIssueSeverity.Error);

    public int WarningCount => Issues.Count(i => i.Severity == ZoneIssueSeverity.Warning);
}

/// <summary>
/// Operator checks on a parsed zone, the mistakes that make a zone misbehave once served: CNAME beside
/// other data (RFC 1034 §3.6.2, RRSIG and NSEC excepted per RFC 4035 §2.5), a missing or repeated SOA,
/// no apex NS, data outside the zone, NS targets inside the zone without addresses (missing glue), and
/// data hidden below a delegation or DNAME (occluded).
/// </summary>
public static class ZoneChecker
{
    public static ZoneCheckReport Check(IReadOnlyList<ZoneRecord> records, DnsName origin, string file)
    {
        var byName = new Dictionary<DnsName, Dictionary<RRType, List<ZoneRecord>>>();
        var rrsets = new HashSet<(DnsName, RRType, RRClass)>();
        var issues = new List<ZoneIssue>();
        var typeCounts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var zr in records)
        {
            var rr = zr.Record;
            var typeName = RRTypeText.ToText(rr.Type);
            typeCounts[typeName] = typeCounts.GetValueOrDefault(typeName) + 1;
            rrsets.Add((rr.Name, rr.Type, rr.Class));
            if (!rr.Name.IsSubdomainOf(origin))
            {
                issues.Add(Issue(ZoneIssueSeverity.Warning, zr, $"out-of-zone data: {rr.Name} is not in {origin} (ignored)"));
                continue;
            }
            if (!byName.TryGetValue(rr.Name, out var types)) byName[rr.Name] = types = [];
            if (!types.TryGetValue(rr.Type, out var list)) types[rr.Type] = list = [];
            list.Add(zr);
        }

        var report = new ZoneCheckReport
        {
            Origin = origin,
            Records = records.Count,
            RRsets = rrsets.Count,
            Names = records.Select(r => r.Record.Name).Distinct().Count(),
        };
        foreach (var kv in typeCounts) report.TypeCounts[kv.Key] = kv.Value;

        CheckApex(byName, origin, file, issues);
        CheckCnames(byName, issues);
        CheckDelegations(byName, origin, issues);

        report.Issues.AddRange(issues);
        return report;
    }

    private static ZoneIssue Issue(ZoneIssueSeverity severity, ZoneRecord at, string message) =>
        new(severity, at.File, at.Line, at.Column, message);

    private static List<ZoneRecord> Get(Dictionary<DnsName, Dictionary<RRType, List<ZoneRecord>>> byName, DnsName name, RRType type) =>
        byName.TryGetValue(name, out var types) && types.TryGetValue(type, out var list) ? list : [];

    private static void CheckApex(Dictionary<DnsName, Dictionary<RRType, List<ZoneRecord>>> byName, DnsName origin, string file, List<ZoneIssue> issues)
    {
        var apexSoa = Distinct(Get(byName, origin, RRType.SOA));
        if (apexSoa.Count == 0) issues.Add(new ZoneIssue(ZoneIssueSeverity.Error, file, 1, 1, $"no SOA record at the zone apex {origin}"));
        for (int i = 1; i < apexSoa.Count; i++)
            issues.Add(Issue(ZoneIssueSeverity.Error, apexSoa[i], $"more than one SOA record at {origin}"));
        foreach (var (name, types) in byName)
        {
            if (name.Equals(origin) || !types.TryGetValue(RRType.SOA, out var soas)) continue;
            foreach (var soa in soas) issues.Add(Issue(ZoneIssueSeverity.Error, soa, $"SOA record at {name}, which is not the zone apex {origin}"));
        }
        if (Get(byName, origin, RRType.NS).Count == 0)
        {
            var at = apexSoa.Count > 0 ? apexSoa[0] : null;
            issues.Add(at is null
                ? new ZoneIssue(ZoneIssueSeverity.Error, file, 1, 1, $"no NS records at the zone apex {origin}")
                : Issue(ZoneIssueSeverity.Error, at, $"no NS records at the zone apex {origin}"));
        }
    }

    /// <summary>Records with identical data (same owner, class, RDATA) counted once.</summary>
    private static List<ZoneRecord> Distinct(List<ZoneRecord> list)
    {
        var result = new List<ZoneRecord>();
        foreach (var zr in list)
            if (!result.Any(r => r.Record.SameData(zr.Record))) result.Add(zr);
        return result;
    }

    private static void CheckCnames(Dictionary<DnsName, Dictionary<RRType, List<ZoneRecord>>> byName, List<ZoneIssue> issues)
    {
        foreach (var (name, types) in byName)
        {
            if (!types.TryGetValue(RRType.CNAME, out var cnames)) continue;
            var others = types.Keys.Where(t => t is not (RRType.CNAME or RRType.RRSIG or RRType.NSEC)).Select(RRTypeText.ToText).Order().ToList();
            if (others.Count > 0)
                issues.Add(Issue(ZoneIssueSeverity.Error, cnames[0], $"CNAME at {name} beside other data ({string.Join(", ", others)})"));
            var distinct = Distinct(cnames);
            for (int i = 1; i < distinct.Count; i++)
                issues.Add(Issue(ZoneIssueSeverity.Error, distinct[i], $"more than one CNAME record at {name}"));
        }
    }

    private static void CheckDelegations(Dictionary<DnsName, Dictionary<RRType, List<ZoneRecord>>> byName, DnsName origin, List<ZoneIssue> issues)
    {
        var delegations = new HashSet<DnsName>();
        var dnames = new HashSet<DnsName>();
        var nsTargets = new HashSet<DnsName>();
        foreach (var (name, types) in byName)
        {
            if (types.TryGetValue(RRType.NS, out var ns))
            {
                if (!name.Equals(origin)) delegations.Add(name);
                foreach (var zr in ns) nsTargets.Add(((NameData)zr.Record.Data).Target);
            }
            if (types.ContainsKey(RRType.DNAME)) dnames.Add(name);
        }

        // The nearest delegation strictly above a name (between it and the apex), if any.
        DnsName? CutAbove(DnsName name, HashSet<DnsName> cuts)
        {
            for (var n = name; n.LabelCount > origin.LabelCount;)
            {
                n = n.Parent;
                if (n.LabelCount > origin.LabelCount && cuts.Contains(n)) return n;
            }
            return null;
        }

        foreach (var (name, types) in byName)
        {
            var cut = CutAbove(name, delegations);
            bool atCut = delegations.Contains(name);
            foreach (var (type, list) in types)
            {
                bool glue = type is RRType.A or RRType.AAAA && nsTargets.Contains(name);
                if (cut is not null && !glue)
                    issues.Add(Issue(ZoneIssueSeverity.Warning, list[0], $"occluded: {name} {RRTypeText.ToText(type)} is below the delegation point {cut}"));
                else if (cut is null && atCut && !glue && type is not (RRType.NS or RRType.DS or RRType.RRSIG or RRType.NSEC))
                    issues.Add(Issue(ZoneIssueSeverity.Warning, list[0], $"occluded: {name} {RRTypeText.ToText(type)} is at the delegation point {name} (only NS, DS, NSEC, RRSIG and glue belong there)"));
                else if (cut is null && CutAbove(name, dnames) is { } dname)
                    issues.Add(Issue(ZoneIssueSeverity.Warning, list[0], $"occluded: {name} {RRTypeText.ToText(type)} is below the DNAME at {dname}"));
            }

            if (!types.TryGetValue(RRType.NS, out var nsRecords)) continue;
            foreach (var zr in nsRecords)
            {
                var target = ((NameData)zr.Record.Data).Target;
                if (!target.IsSubdomainOf(origin)) continue;
                bool hasAddress = Get(byName, target, RRType.A).Count > 0 || Get(byName, target, RRType.AAAA).Count > 0;
                if (hasAddress) continue;
                var targetCut = delegations.Contains(target) ? target : CutAbove(target, delegations);
                issues.Add(Issue(ZoneIssueSeverity.Error, zr, targetCut is not null
                    ? $"glue needed but missing: NS target {target} is at or below the delegation point {targetCut} and has no A or AAAA record in the zone"
                    : $"NS target {target} is in the zone but has no A or AAAA record"));
            }
        }
    }
}

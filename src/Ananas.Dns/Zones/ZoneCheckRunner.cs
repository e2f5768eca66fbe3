namespace Ananas.Dns.Zones;

/// <summary>
/// <c>ananas zone check</c>: reads a zone file, prints counts and every parse error and operator finding
/// as <c>file:line:column: severity: message</c>. Lives in the library so tests can run it in-process.
/// </summary>
public static class ZoneCheckRunner
{
    /// <returns>0 when the zone is usable (warnings allowed), 1 on parse errors or check errors.</returns>
    public static int Run(string path, DnsName? origin, TextWriter output)
    {
        // The zone's name: --origin, else the SOA owner; before any $ORIGIN, relative names need some origin,
        // and the file name without ".zone" is the usual convention.
        DnsName? initialOrigin = origin ?? OriginFromFileName(path);
        if (!File.Exists(path))
        {
            output.WriteLine($"{path}: error: no such file");
            return 1;
        }
        var zone = ZoneFileReader.Load(path, initialOrigin);
        foreach (var e in zone.Errors) output.WriteLine($"{e.File}:{e.Line}:{e.Column}: error: {e.Detail}");

        var soaOwner = zone.Records.FirstOrDefault(r => r.Record.Type == RRType.SOA)?.Record.Name;
        var zoneOrigin = origin ?? soaOwner ?? zone.FirstOrigin ?? initialOrigin;
        if (zoneOrigin is null)
        {
            output.WriteLine($"{path}: error: cannot tell the zone's origin (no SOA record); use --origin");
            return 1;
        }

        var report = ZoneChecker.Check(zone.Records, zoneOrigin, path);
        output.WriteLine($"zone {report.Origin}: {report.Records} records, {report.RRsets} RRsets, {report.Names} names");
        foreach (var (type, count) in report.TypeCounts) output.WriteLine($"  {type,-10} {count}");
        foreach (var issue in report.Issues) output.WriteLine(issue.ToString());
        int errors = zone.Errors.Count + report.ErrorCount;
        output.WriteLine(errors == 0
            ? $"OK ({report.WarningCount} warning{(report.WarningCount == 1 ? "" : "s")})"
            : $"FAILED: {errors} error{(errors == 1 ? "" : "s")}, {report.WarningCount} warning{(report.WarningCount == 1 ? "" : "s")}");
        return errors == 0 ? 0 : 1;
    }

    /// <summary>The zone name a file called NAME.zone implies (null for other file names).</summary>
    public static DnsName? OriginFromFileName(string path)
    {
        var name = Path.GetFileName(path);
        if (name.EndsWith(".zone", StringComparison.OrdinalIgnoreCase)) name = name[..^5];
        else return null;
        return name.Length > 0 && DnsName.TryParse(name.TrimEnd('.') + ".", null, out var n, out _) ? n : null;
    }
}

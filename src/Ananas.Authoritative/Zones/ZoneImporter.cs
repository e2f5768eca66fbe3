using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;

namespace Ananas.Authoritative.Zones;

/// <summary>
/// <c>ananas auth import</c>: zone files through our parser and the <c>ananas zone check</c> rules into the
/// store. Every file is read and checked first; one error anywhere (reported with its file and line) and the
/// store is left exactly as it was. Otherwise all zones go in with one write transaction.
/// </summary>
public static class ZoneImporter
{
    /// <returns>0 when every zone was imported, 1 when nothing was (errors written to <paramref name="output"/>).</returns>
    public static int Import(EdgeStore store, IReadOnlyList<string> paths, DnsName? origin, TextWriter output)
    {
        // A directory stands for every file in it (not its subdirectories), in name order: one process and one
        // transaction for any number of zones, where a shell's argument list would have to be split.
        var expanded = new List<string>(paths.Count);
        foreach (var path in paths)
        {
            if (!Directory.Exists(path))
            {
                expanded.Add(path);
                continue;
            }
            var inside = Directory.GetFiles(path);
            if (inside.Length == 0)
            {
                output.WriteLine($"{path}: error: no files in this directory");
                output.WriteLine("FAILED: 1 error; the store is unchanged");
                return 1;
            }
            Array.Sort(inside, StringComparer.Ordinal);
            expanded.AddRange(inside);
        }
        paths = expanded;
        if (origin is not null && paths.Count > 1)
        {
            output.WriteLine("error: --origin names one zone; give one file with it");
            return 1;
        }
        var images = new List<ZoneImage>();
        int errors = 0;
        var seen = new HashSet<DnsName>();
        foreach (var path in paths)
        {
            if (!File.Exists(path))
            {
                output.WriteLine($"{path}: error: no such file");
                errors++;
                continue;
            }
            var image = Read(path, origin, output, ref errors);
            if (image is null) continue;
            if (!seen.Add(image.Apex))
            {
                output.WriteLine($"{path}: error: zone {image.Apex} is given twice");
                errors++;
                continue;
            }
            images.Add(image);
        }
        if (errors > 0)
        {
            output.WriteLine($"FAILED: {errors} error{(errors == 1 ? "" : "s")}; the store is unchanged");
            return 1;
        }
        ZoneWriter.Replace(store, images);
        foreach (var image in images)
            output.WriteLine($"zone {image.Apex}: {image.RecordCount} records, {image.Nodes.Count} names imported");
        return 0;
    }

    private static ZoneImage? Read(string path, DnsName? origin, TextWriter output, ref int errors)
    {
        var initial = origin ?? ZoneCheckRunner.OriginFromFileName(path);
        var zone = ZoneFileReader.Load(path, initial);
        foreach (var e in zone.Errors) output.WriteLine($"{e.File}:{e.Line}:{e.Column}: error: {e.Detail}");
        errors += zone.Errors.Count;
        var apex = origin ?? zone.Records.FirstOrDefault(r => r.Record.Type == RRType.SOA)?.Record.Name ?? zone.FirstOrigin ?? initial;
        if (apex is null)
        {
            output.WriteLine($"{path}: error: cannot tell the zone's origin (no SOA record); use --origin");
            errors++;
            return null;
        }
        var report = ZoneChecker.Check(zone.Records, apex, path);
        foreach (var issue in report.Issues)
        {
            if (issue.Severity == ZoneIssueSeverity.Error) output.WriteLine(issue.ToString());
        }
        errors += report.ErrorCount;
        var served = new List<ResourceRecord>(zone.Records.Count);
        foreach (var record in zone.Records)
        {
            if (!record.Record.Name.IsSubdomainOf(apex)) continue;
            if (record.Record.Class != RRClass.IN)
            {
                output.WriteLine($"{record.Location}: error: class {record.Record.Class} is not served (IN only)");
                errors++;
                continue;
            }
            served.Add(record.Record);
        }
        if (zone.Errors.Count > 0 || report.ErrorCount > 0) return null;
        return ZoneImage.Build(apex, served);
    }
}

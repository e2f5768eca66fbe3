using System.CommandLine;
using Ananas.Dns;
using Ananas.Dns.Zones;

namespace Ananas.Cli;

/// <summary><c>ananas zone check FILE [--origin NAME]</c>: parses a zone file and runs operator checks.</summary>
internal static class ZoneCommand
{
    public static Command Create()
    {
        var zone = new Command("zone", "Work with zone files (RFC 1035 master files).");
        zone.Subcommands.Add(CreateCheck());
        return zone;
    }

    private static Command CreateCheck()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "The zone file to check." };
        var origin = new Option<string?>("--origin") { Description = "The zone's name (default: the SOA owner, else the file name without .zone)." };
        var check = new Command("check",
            "Parse a zone file and report counts, parse errors and operator problems (CNAME beside other data, " +
            "SOA/NS at the apex, out-of-zone data, missing glue, occluded data). Exit code 0 when usable, 1 on errors.");
        check.Arguments.Add(file);
        check.Options.Add(origin);
        check.SetAction(parse =>
        {
            DnsName? originName = null;
            var originText = parse.GetValue(origin);
            if (originText is not null)
            {
                if (!DnsName.TryParse(originText.EndsWith('.') ? originText : originText + ".", null, out var n, out var error))
                {
                    Console.Error.WriteLine($"ananas zone check: bad --origin '{originText}': {error}");
                    return 1;
                }
                originName = n;
            }
            // FileInfo.ToString() is the path as typed, which reads better in messages than the full path.
            return ZoneCheckRunner.Run(parse.GetValue(file)!.ToString(), originName, Console.Out);
        });
        return check;
    }
}

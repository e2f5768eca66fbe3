using Ananas.Dns;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Tests;

public class ZoneCheckTests
{
    private static string ZonePath(string name) => Path.Combine(AppContext.BaseDirectory, "Zones", name);

    private const string Apex = """
        $ORIGIN example.
        $TTL 300
        @    SOA ns1 hostmaster 1 7200 3600 1209600 300
             NS  ns1
        ns1  A   192.0.2.1

        """;

    private static ZoneCheckReport Check(string body)
    {
        var zone = ZoneFileReader.Parse(Apex + body, "check.zone");
        Assert.Empty(zone.Errors);
        return ZoneChecker.Check(zone.Records, DnsName.Parse("example."), "check.zone");
    }

    private static ZoneIssue Single(ZoneCheckReport report, ZoneIssueSeverity severity, string fragment)
    {
        var issue = Assert.Single(report.Issues);
        Assert.Equal(severity, issue.Severity);
        Assert.Contains(fragment, issue.Message);
        return issue;
    }

    [Fact]
    public void A_clean_zone_has_no_issues()
    {
        var report = Check("www A 192.0.2.2\nsub NS ns.sub\nns.sub A 192.0.2.3\nsub DS 1 8 2 00AA\n");
        Assert.Empty(report.Issues);
        Assert.Equal((7, 7, 5), (report.Records, report.RRsets, report.Names));
        Assert.Equal(3, report.TypeCounts["A"]);
    }

    [Fact]
    public void Cname_beside_other_data()
    {
        var issue = Single(Check("www CNAME elsewhere.test.\nwww MX 10 mail.test.\n"), ZoneIssueSeverity.Error, "CNAME at www.example. beside other data (MX)");
        Assert.Equal(("check.zone", 6, 1), (issue.File, issue.Line, issue.Column));
    }

    [Fact]
    public void Cname_beside_RRSIG_and_NSEC_is_fine()
    {
        var report = Check("www CNAME elsewhere.test.\nwww RRSIG CNAME 8 2 300 20250101000000 20240101000000 1 example. AAAA\nwww NSEC z.example. CNAME RRSIG NSEC\n");
        Assert.Empty(report.Issues);
    }

    [Fact]
    public void Missing_and_repeated_SOA()
    {
        var noSoa = ZoneFileReader.Parse("$ORIGIN example.\n$TTL 60\n@ NS ns.test.\n", "x.zone");
        var report = ZoneChecker.Check(noSoa.Records, DnsName.Parse("example."), "x.zone");
        Single(report, ZoneIssueSeverity.Error, "no SOA record at the zone apex");

        var issue = Single(Check("@ SOA ns1 other 2 7200 3600 1209600 300\n"), ZoneIssueSeverity.Error, "more than one SOA");
        Assert.Equal(6, issue.Line);
        Single(Check("sub SOA ns1 hostmaster 1 2 3 4 5\n"), ZoneIssueSeverity.Error, "not the zone apex");
    }

    [Fact]
    public void Missing_apex_NS()
    {
        var zone = ZoneFileReader.Parse("$ORIGIN example.\n$TTL 60\n@ SOA ns hm 1 2 3 4 5\n", "x.zone");
        Single(ZoneChecker.Check(zone.Records, DnsName.Parse("example."), "x.zone"), ZoneIssueSeverity.Error, "no NS records at the zone apex");
    }

    [Fact]
    public void Out_of_zone_data()
    {
        var issue = Single(Check("www.other.test. A 192.0.2.9\n"), ZoneIssueSeverity.Warning, "out-of-zone data: www.other.test.");
        Assert.Equal(6, issue.Line);
    }

    [Fact]
    public void Missing_glue_below_a_delegation()
    {
        var issue = Single(Check("sub NS ns.sub\n"), ZoneIssueSeverity.Error, "glue needed but missing: NS target ns.sub.example.");
        Assert.Equal(6, issue.Line);
        // Sibling glue (under another delegation of the same zone) is needed too.
        var report = Check("a NS ns.b\nb NS ns.b\nns.b A 192.0.2.7\n");
        Assert.Empty(report.Issues);
    }

    [Fact]
    public void In_zone_NS_target_without_address()
    {
        Single(Check("@ NS ns2\n"), ZoneIssueSeverity.Error, "NS target ns2.example. is in the zone but has no A or AAAA record");
    }

    [Fact]
    public void Out_of_zone_NS_targets_need_no_glue()
    {
        Assert.Empty(Check("sub NS ns.elsewhere.test.\n").Issues);
    }

    [Fact]
    public void Occluded_data_below_a_delegation()
    {
        var report = Check("sub NS ns.sub\nns.sub A 192.0.2.3\nwww.sub A 192.0.2.4\nsub MX 10 mail.test.\n");
        Assert.Equal(2, report.Issues.Count);
        Assert.All(report.Issues, i => Assert.Equal(ZoneIssueSeverity.Warning, i.Severity));
        Assert.Contains(report.Issues, i => i.Message.Contains("www.sub.example. A is below the delegation point sub.example."));
        Assert.Contains(report.Issues, i => i.Message.Contains("sub.example. MX is at the delegation point"));
    }

    [Fact]
    public void Occluded_data_below_a_DNAME()
    {
        Single(Check("old DNAME new.test.\nx.old A 192.0.2.5\n"), ZoneIssueSeverity.Warning, "below the DNAME at old.example.");
    }

    [Fact]
    public void Runner_on_the_example_zone_succeeds()
    {
        var output = new StringWriter();
        int code = ZoneCheckRunner.Run(ZonePath("example.com.zone"), null, output);
        var text = output.ToString();
        Assert.Equal(0, code);
        Assert.Contains("zone example.com.: 36 records, 30 RRsets, 17 names", text);
        Assert.Contains("  DNSKEY     2", text);
        Assert.Contains("OK (0 warnings)", text);
    }

    [Fact]
    public void Runner_on_the_broken_zone_fails_with_positions()
    {
        var output = new StringWriter();
        var path = ZonePath("broken.zone");
        int code = ZoneCheckRunner.Run(path, null, output);
        var text = output.ToString();
        Assert.Equal(1, code);
        Assert.Contains($"{path}:5:16: error: expected an IPv4 address, found '192.0.2.300'", text);
        Assert.Contains($"{path}:7:16: error: ", text);
        Assert.Contains($"{path}:8:16: error: ", text);
        Assert.Contains($"{path}:4:9: error: NS target ns1.broken.example.", text);
        Assert.Contains("FAILED: 4 errors", text);
    }

    [Fact]
    public void Runner_uses_origin_option_and_file_name_fallback()
    {
        var dir = Directory.CreateTempSubdirectory("ananas-zone-");
        try
        {
            // No $ORIGIN: relative names are completed with the file name without ".zone".
            var path = Path.Combine(dir.FullName, "fallback.test.zone");
            File.WriteAllText(path, "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nstray.example. A 192.0.2.2\n");
            var output = new StringWriter();
            Assert.Equal(0, ZoneCheckRunner.Run(path, null, output));
            Assert.Contains("zone fallback.test.: 4 records", output.ToString());
            Assert.Contains(":5:1: warning: out-of-zone data: stray.example.", output.ToString());

            output = new StringWriter();
            // --origin names the zone and completes its relative names.
            Assert.Equal(0, ZoneCheckRunner.Run(path, DnsName.Parse("other.test."), output));
            Assert.Contains("zone other.test.: 4 records", output.ToString());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

using System.Net;
using System.Text;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Tests;

public class ZoneFileTests
{
    private static string ZonePath(string name) => Path.Combine(AppContext.BaseDirectory, "Zones", name);

    private static ZoneFile Parse(string text, DnsName? origin = null) => ZoneFileReader.Parse(text, "test.zone", origin);

    private static ResourceRecord Find(ZoneFile zone, string owner, RRType type) =>
        zone.Records.Select(r => r.Record).Single(r => r.Name == DnsName.Parse(owner) && r.Type == type);

    [Fact]
    public void Example_zone_parses_with_the_expected_counts()
    {
        var zone = ZoneFileReader.Load(ZonePath("example.com.zone"));
        Assert.Empty(zone.Errors);
        var records = zone.Records.Select(r => r.Record).ToList();
        Assert.Equal(36, records.Count);
        Assert.Equal(17, records.Select(r => r.Name).Distinct().Count());
        Assert.Equal(30, records.Select(r => (r.Name, r.Type)).Distinct().Count());
        Assert.Equal(9, records.Count(r => r.Type == RRType.A));
        Assert.Equal(4, records.Count(r => r.Type == RRType.NS));
    }

    [Fact]
    public void Example_zone_details()
    {
        var zone = ZoneFileReader.Load(ZonePath("example.com.zone"));
        var soa = (SoaData)Find(zone, "example.com.", RRType.SOA).Data;
        Assert.Equal(DnsName.Parse("ns1.example.com."), soa.PrimaryServer);
        Assert.Equal((2024010101u, 7200u, 1800u, 1209600u, 300u), (soa.Serial, soa.Refresh, soa.Retry, soa.Expire, soa.Minimum));
        Assert.Equal(3600u, Find(zone, "example.com.", RRType.SOA).Ttl); // $TTL 1h
        Assert.Equal(300u, Find(zone, "ns2.example.com.", RRType.A).Ttl);

        // Blank owners inherit the previous owner.
        Assert.Equal(IPAddress.Parse("2001:db8::1"), ((AddressData)Find(zone, "ns1.example.com.", RRType.AAAA).Data).Address);
        Assert.Equal(DnsName.Parse("example.com."), ((NameData)Find(zone, "www.example.com.", RRType.CNAME).Data).Target);

        var txts = zone.Records.Select(r => r.Record).Where(r => r.Type == RRType.TXT && r.Name == DnsName.Parse("example.com.")).ToList();
        var escaped = (TxtData)txts[1].Data;
        Assert.Equal(["quoted \"words\"", "semi;colon", "tab\tand backslash\\"], escaped.Strings.Select(s => Encoding.ASCII.GetString(s)));

        var keys = zone.Records.Select(r => r.Record).Where(r => r.Type == RRType.DNSKEY).Select(r => (DnskeyData)r.Data).ToList();
        Assert.Equal(2, keys.Count);
        Assert.True(keys[0].IsSecureEntryPoint);
        Assert.Equal(48, ((ZonemdData)Find(zone, "example.com.", RRType.ZONEMD).Data).Digest.Length);

        // Escaped dot stays inside the label; wildcard owner.
        var escapedOwner = zone.Records.Single(r => r.Record.Type == RRType.TXT && r.Record.Name.LabelCount == 3).Record;
        Assert.Equal("esc.aped", Encoding.ASCII.GetString(escapedOwner.Name.GetLabel(0)));
        Assert.Equal("unquoted text", Encoding.ASCII.GetString(((TxtData)escapedOwner.Data).Strings[0]));
        Assert.True(Find(zone, "*.wild.example.com.", RRType.A).Name.IsWildcard);

        // $INCLUDE: its $ORIGIN applies inside it only.
        Assert.Equal(DnsName.Parse("ns.lab.example.com."), ((NameData)Find(zone, "lab.example.com.", RRType.NS).Data).Target);
        Assert.Equal(60485, ((DsData)Find(zone, "lab.example.com.", RRType.DS).Data).KeyTag);
        Find(zone, "after.example.com.", RRType.A);
        var included = zone.Records.Single(r => r.Record.Type == RRType.DS);
        Assert.EndsWith("sub.include", included.File);
        Assert.Equal(4, included.Line);
    }

    [Fact]
    public void Record_locations_are_tracked()
    {
        var zone = ZoneFileReader.Load(ZonePath("example.com.zone"));
        var mail = zone.Records.Single(r => r.Record.Name == DnsName.Parse("mail.example.com."));
        Assert.Equal(32, mail.Line);
        Assert.Equal(1, mail.Column);
    }

    [Fact]
    public void Broken_zone_reports_each_error_with_line_and_column()
    {
        var zone = ZoneFileReader.Load(ZonePath("broken.zone"));
        Assert.Equal([(5, 16), (7, 16), (8, 16)], zone.Errors.Select(e => (e.Line, e.Column)));
        Assert.Contains("expected an IPv4 address, found '192.0.2.300'", zone.Errors[0].Message);
        Assert.StartsWith(ZonePath("broken.zone") + ":5:16: ", zone.Errors[0].Message);
        Assert.Contains("expected an MX preference", zone.Errors[1].Message);
        Assert.Contains("closing '\"'", zone.Errors[2].Message);
        Assert.Equal(3, zone.Records.Count); // the good records are still read
    }

    [Fact]
    public void Include_loops_are_detected()
    {
        var zone = ZoneFileReader.Load(ZonePath("loop-a.zone"));
        var error = Assert.Single(zone.Errors);
        Assert.Contains("$INCLUDE loop", error.Message);
        Assert.EndsWith("loop-b.include", error.File);
        Assert.Equal((2, 10), (error.Line, error.Column));
        Assert.Equal(2, zone.Records.Count);
    }

    [Fact]
    public void An_include_path_with_a_nul_octet_is_an_error_at_the_directive()
    {
        var zone = Parse("$ORIGIN a.\n$TTL 300\n$INCLUDE bad\\000name.zone\nb A 192.0.2.1\n");
        var error = Assert.Single(zone.Errors);
        Assert.Equal((3, 10), (error.Line, error.Column));
        Assert.Contains("expected a file name", error.Message);
        Assert.Single(zone.Records);
    }

    /// <summary>The input fuzz/run zone found (an $INCLUDE whose name holds NUL octets), which threw ArgumentException.</summary>
    [Fact]
    public void The_fuzzer_found_include_is_reported_not_thrown()
    {
        var text = Encoding.UTF8.GetString(Convert.FromHexString(
            "622041203139322e302e320d310a24494e434c55000010006f6f322e302e320d310a24494e434c554445206c6f6f702d612efa0000fa612e7a6f6e650a"));
        var zone = ZoneFileReader.Parse(text, "/nonexistent/ananas-fuzz/fuzz.zone", DnsName.Parse("example."), 3600);
        Assert.Contains(zone.Errors, e => e.Message.Contains("expected a file name"));
    }

    [Fact]
    public void Missing_include_file_is_an_error_at_the_directive()
    {
        var zone = Parse("$ORIGIN a.\n$INCLUDE does-not-exist.zone\n");
        var error = Assert.Single(zone.Errors);
        Assert.Equal((2, 10), (error.Line, error.Column));
    }

    [Fact]
    public void Ttl_units_and_inheritance()
    {
        var zone = Parse("""
            $ORIGIN example.
            a 1h30m A 192.0.2.1
            b A 192.0.2.2
            $TTL 1w2d
            c A 192.0.2.3
            d 1D IN A 192.0.2.4
            """);
        Assert.Empty(zone.Errors);
        Assert.Equal([5400u, 5400u, 777600u, 86400u], zone.Records.Select(r => r.Record.Ttl));
    }

    [Fact]
    public void Class_and_ttl_in_either_order_and_inherited_class()
    {
        var zone = Parse("$ORIGIN example.\n$TTL 60\na IN 30 A 192.0.2.1\nb 30 CH TXT x\n  TXT y\n");
        Assert.Empty(zone.Errors);
        Assert.Equal([RRClass.IN, RRClass.CH, RRClass.CH], zone.Records.Select(r => r.Record.Class));
        Assert.Equal(DnsName.Parse("b.example."), zone.Records[2].Record.Name);
    }

    [Fact]
    public void Soa_without_ttl_takes_its_minimum_when_nothing_else_is_known()
    {
        var zone = Parse("$ORIGIN example.\n@ SOA ns hm 1 2 3 4 99\nx A 192.0.2.1\n");
        Assert.Empty(zone.Errors);
        Assert.Equal(99u, zone.Records[0].Record.Ttl);
        Assert.Equal(99u, zone.Records[1].Record.Ttl);
    }

    [Theory]
    [InlineData("  A 192.0.2.1\n", 1, 3, "blank owner")]
    [InlineData("rel 60 A 192.0.2.1\n", 1, 1, "no origin")]
    [InlineData("$ORIGIN a.\n$TTL 60\nx A (192.0.2.1\n", 3, 5, "')'")]
    [InlineData("$ORIGIN a.\n$TTL 60\nx A 192.0.2.1 )\n", 3, 15, "'('")]
    [InlineData("$ORIGIN a.\n$GENERATE 1-2 x A 1.2.3.$\n", 2, 1, "$GENERATE")]
    [InlineData("$ORIGIN a.\n$TTL forever\n", 2, 6, "expected a TTL")]
    [InlineData("$ORIGIN a.\nx A 192.0.2.1\n", 2, 3, "TTL")]
    [InlineData("$ORIGIN a.\n$TTL 60\nx IN\n", 3, 5, "record type")]
    [InlineData("$ORIGIN a.\n$TTL 60\nx TXT (\n \"one\"\n  \"two\" ; c\n \"thr\\9ee\" )\n", 6, 2, "three digits")]
    public void Zone_errors_carry_positions(string text, int line, int column, string fragment)
    {
        var zone = Parse(text);
        var error = Assert.Single(zone.Errors);
        Assert.Equal((line, column), (error.Line, error.Column));
        Assert.Contains(fragment, error.Message);
        Assert.StartsWith($"test.zone:{line}:{column}: ", error.Message);
    }

    [Fact]
    public void Multi_line_records_and_comments()
    {
        var zone = Parse("""
            $ORIGIN example.
            $TTL 60
            @ IN SOA ( ns.example. ; primary
                       hostmaster.example. ; "mailbox" (not a string here)
                       1 2 3 4 5 )
            txt TXT ( "a ; not a comment"
                      "b ( not a paren" )
            """);
        Assert.Empty(zone.Errors);
        var txt = (TxtData)zone.Records[1].Record.Data;
        Assert.Equal(["a ; not a comment", "b ( not a paren"], txt.Strings.Select(s => Encoding.ASCII.GetString(s)));
    }

    [Fact]
    public void Printed_records_read_back_as_a_zone()
    {
        var zone = ZoneFileReader.Load(ZonePath("example.com.zone"));
        var text = string.Join("\n", zone.Records.Select(r => r.Record.ToString()));
        var again = Parse(text);
        Assert.Empty(again.Errors);
        Assert.Equal(zone.Records.Select(r => r.Record), again.Records.Select(r => r.Record));
    }
}

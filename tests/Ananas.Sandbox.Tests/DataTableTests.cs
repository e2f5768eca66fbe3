using System.Diagnostics;
using System.Text;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Sandbox.Data;
using Ananas.Tests.Shared;

namespace Ananas.Sandbox.Tests;

/// <summary>Host data tables: formats, suffix matching, key-value lookups, reloads, and a million names.</summary>
public class DataTableTests
{
    private static DataTableContents Parse(string text, DataTableFormat format) => DataTableContents.Parse(Encoding.UTF8.GetBytes(text), format);

    private static int Match(DataTableContents table, string name) => table.MatchSuffix(Encoding.ASCII.GetBytes(name));

    [Fact]
    public void Domain_lists_match_the_name_and_its_subdomains_only()
    {
        var table = Parse("""
            # malware
            Bad.Example.com
            *.wild.test      # the wildcard form lists the parent
            tracker.net.
            bad$char.example
            x..y
            """, DataTableFormat.Domains);

        Assert.Equal(3, table.Entries.Count);
        Assert.Equal(2, table.SkippedLines);
        Assert.Equal(3, Match(table, "bad.example.com"));
        Assert.Equal(3, Match(table, "WWW.deep.BAD.example.com"));
        Assert.Equal(3, Match(table, "a.b.bad.example.com."));
        Assert.Equal(2, Match(table, "x.wild.test"));
        Assert.Equal(2, Match(table, "tracker.net"));
        Assert.Equal(2, Match(table, "cdn.tracker.net."));
        Assert.Equal(-1, Match(table, "example.com"));
        Assert.Equal(-1, Match(table, "notbad.example.com"));
        Assert.Equal(-1, Match(table, "nottracker.net"));
        Assert.Equal(-1, Match(table, ""));
    }

    [Fact]
    public void Suffixes_are_found_whatever_their_label_count()
    {
        // MatchSuffix skips suffixes whose label count no key has; keys of one label and of 63 or more labels
        // (one shared bucket) must still be found, and a key count absent from the table must not hide others.
        string deep = string.Join('.', Enumerable.Repeat("l", 64));
        var table = Parse($"zz\n{deep}\nfour.labels.in.here\n", DataTableFormat.Domains);

        Assert.Equal(1, Match(table, "zz"));
        Assert.Equal(1, Match(table, "x.y.zz"));
        Assert.Equal(64, Match(table, deep));
        Assert.Equal(64, Match(table, "a.b.c." + deep));
        Assert.Equal(-1, Match(table, string.Join('.', Enumerable.Repeat("l", 63))));
        Assert.Equal(4, Match(table, "one.more.four.labels.in.here"));
        Assert.Equal(-1, Match(table, "labels.in.here"));
        Assert.Equal(-1, Match(table, "zz.example"));
    }

    [Fact]
    public void Hosts_files_list_every_name_after_the_address_except_local_names()
    {
        var table = Parse("""
            127.0.0.1 localhost
            ::1 localhost ip6-localhost ip6-loopback
            0.0.0.0 0.0.0.0
            0.0.0.0 ads.example.org tracker.example.org   # two names
            0.0.0.0	tabbed.example
            """, DataTableFormat.Hosts);

        Assert.Equal(3, table.Entries.Count);
        Assert.Equal(3, Match(table, "ads.example.org"));
        Assert.Equal(3, Match(table, "x.tracker.example.org"));
        Assert.Equal(2, Match(table, "tabbed.example"));
        Assert.Equal(-1, Match(table, "localhost"));
        Assert.Equal(-1, Match(table, "example.org"));
    }

    [Fact]
    public void Key_value_tables_return_the_rest_of_the_line()
    {
        var table = Parse("""
            alpha 1.2.3.4
            beta  two words   # comment
            alpha duplicate keeps the first
            """, DataTableFormat.KeyValue);

        Assert.True(table.Entries.TryGetValue("alpha"u8, out var alpha));
        Assert.Equal("1.2.3.4", Encoding.UTF8.GetString(alpha));
        Assert.True(table.Entries.TryGetValue("beta"u8, out var beta));
        Assert.Equal("two words", Encoding.UTF8.GetString(beta));
        Assert.False(table.Entries.TryGetValue("gamma"u8, out _));
    }

    [Fact]
    public void Table_specs_name_their_format()
    {
        Assert.Equal(new DataTableSpec("m", DataTableFormat.Domains, "/etc/x.txt"), DataTableSpec.Parse("m", "domains:/etc/x.txt"));
        Assert.Equal(new DataTableSpec("m", DataTableFormat.Hosts, "lists/a.txt"), DataTableSpec.Parse("m", "hosts:lists/a.txt"));
        Assert.Equal(DataTableFormat.KeyValue, DataTableSpec.Parse("m", "kv:a").Format);
        Assert.Equal(DataTableFormat.Hosts, DataTableSpec.Parse("m", "/x/blocklist.hosts").Format);
        Assert.Equal(DataTableFormat.KeyValue, DataTableSpec.Parse("m", "/x/redirects.kv").Format);
        Assert.Equal(DataTableFormat.Domains, DataTableSpec.Parse("m", "/x/list.txt").Format);
    }

    [Fact]
    public void A_million_domains_load_and_match_without_allocating()
    {
        var text = new StringBuilder();
        for (int i = 0; i < 1_000_000; i++) text.Append("host").Append(i).Append(".example").Append(i % 1000).Append(".com\n");
        var bytes = Encoding.ASCII.GetBytes(text.ToString());

        var clock = Stopwatch.StartNew();
        var table = DataTableContents.Parse(bytes, DataTableFormat.Domains);
        var loadTime = clock.Elapsed;

        Assert.Equal(1_000_000, table.Entries.Count);
        // Generous bound (CI is slow); BenchmarkDotNet measures the real figure (docs/plugins.md).
        Assert.True(loadTime < TimeSpan.FromSeconds(30), $"loading took {loadTime.TotalSeconds:F1} s");
        var listed = Encoding.ASCII.GetBytes("a.b.host123456.example456.com");
        var unlisted = Encoding.ASCII.GetBytes("a.b.host123456.example457.com");
        Assert.Equal(3, table.MatchSuffix(listed));
        Assert.Equal(-1, table.MatchSuffix(unlisted));
        Assert.Equal(0, AllocationProbe.BytesPerRound(() => { table.MatchSuffix(listed); table.MatchSuffix(unlisted); }));
    }

    [Fact]
    public async Task A_guest_matches_against_a_table_that_reloads_when_its_file_changes()
    {
        string dir = Directory.CreateTempSubdirectory("ananas-sandbox-").FullName;
        try
        {
            string list = Path.Combine(dir, "blocked.txt");
            await File.WriteAllTextAsync(list, "blocked.example\n");
            using var host = new PluginHost(new ListLogger());
            host.DataPollInterval = TimeSpan.FromMilliseconds(200);
            await host.LoadAsync(Guests.Definition("answer") with { DataTables = [DataTableSpec.Parse("blocked", "domains:" + list)] });

            var blocked = Queries.Context("www.blocked.example", RRType.A);
            Assert.Equal(PluginVerdict.Answer, await host.InvokeAsync(PluginPhase.Request, blocked));
            var record = Assert.Single(blocked.Response!.Answers);
            Assert.Equal("www.blocked.example.\t60\tIN\tA\t0.0.0.0", record.ToString());
            var ede = Assert.Single(blocked.Response.Edns!.Options.OfType<ExtendedErrorOption>());
            Assert.Equal(EdeCode.Blocked, ede.InfoCode);
            Assert.Equal("blocked by test", ede.ExtraText);
            Assert.Equal(PluginVerdict.Continue, await host.InvokeAsync(PluginPhase.Request, Queries.Context("other.example", RRType.A)));

            // Replace the file (write then rename, as list updaters do): the table follows within a bounded wait.
            string staged = Path.Combine(dir, "blocked.txt.new");
            await File.WriteAllTextAsync(staged, "other.example\n");
            File.Move(staged, list, overwrite: true);
            bool switched = false;
            for (int i = 0; i < 100 && !switched; i++)
            {
                await Task.Delay(100);
                switched = await host.InvokeAsync(PluginPhase.Request, Queries.Context("other.example", RRType.A)) == PluginVerdict.Answer;
            }
            Assert.True(switched, "the table did not reload within 10 s");
            Assert.Equal(PluginVerdict.Continue, await host.InvokeAsync(PluginPhase.Request, Queries.Context("www.blocked.example", RRType.A)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_missing_table_file_refuses_the_load()
    {
        using var host = new PluginHost(new ListLogger());
        var e = await Assert.ThrowsAsync<PluginLoadException>(() => host.LoadAsync(Guests.Definition("answer") with
        {
            DataTables = [DataTableSpec.Parse("blocked", "/nonexistent/ananas/list.txt")],
        }));
        Assert.Equal("plugin answer: data table 'blocked': file /nonexistent/ananas/list.txt does not exist", e.Message);
    }
}

using Ananas.Authoritative.Store;
using Ananas.Authoritative.Zones;
using Ananas.Dns;
using Ananas.Dns.Messages;
using LightningDB;

namespace Ananas.Authoritative.Tests;

public sealed class StoreTests
{
    private const string Zone = StoreFixture.ExampleZone;

    [Fact]
    public void A_corrupt_value_is_answered_SERVFAIL_and_counted_and_the_next_query_still_works()
    {
        using var store = StoreFixture.With(Zone);
        Overwrite(store.Store, "www.example.com.", [0x94, 0xC4, 0xFF]); // an array of 4 whose first bin claims 255 octets
        var reply = store.Ask("www.example.com.", RRType.A);
        Assert.Equal(Rcode.ServFail, reply.Rcode);
        Assert.Equal(1, store.Answerer.Counters.Corrupt);
        Assert.Equal(Rcode.NoError, store.Ask("ns1.example.com.", RRType.A).Rcode);
    }

    [Fact]
    public void A_broken_zone_file_is_rejected_with_its_line_and_the_store_is_left_unchanged()
    {
        using var store = StoreFixture.With(Zone);
        var dir = StoreFixture.TempDirectory();
        Directory.CreateDirectory(dir);
        var good = Path.Combine(dir, "good.test.zone");
        var bad = Path.Combine(dir, "example.com.zone");
        File.WriteAllText(good, "$ORIGIN good.test.\n@ 300 IN SOA ns1 h 1 2 3 4 5\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.9\n");
        File.WriteAllText(bad, "$ORIGIN example.com.\n@ 300 IN SOA ns1 h 1 2 3 4 5\n@ 300 IN NS ns1\nwww 300 IN A 192.0.2.300\n");
        ulong before = store.Store.ReadGeneration();
        var output = new StringWriter();
        Assert.Equal(1, ZoneImporter.Import(store.Store, [good, bad], null, output));
        Assert.Contains("example.com.zone:4:", output.ToString());
        Assert.Equal(before, store.Store.ReadGeneration());
        Assert.False(store.Answerer.Refresh());
        Assert.Equal("192.0.2.80", Assert.Single(store.Ask("www.example.com.", RRType.A).Answers).Data.ToString());
        Assert.Equal(Rcode.Refused, store.Ask("ns1.good.test.", RRType.A).Rcode);
    }

    [Fact]
    public async Task A_zone_imported_by_another_process_is_served_after_a_refresh_without_restarting()
    {
        using var store = StoreFixture.With(Zone);
        Assert.Equal(Rcode.Refused, store.Ask("www.other.test.", RRType.A).Rcode);
        var file = Path.Combine(store.Directory, "other.test.zone");
        await File.WriteAllTextAsync(file, "$ORIGIN other.test.\n@ 60 IN SOA ns h 1 2 3 4 5\n@ 60 IN NS ns\nns 60 IN A 192.0.2.43\nwww 60 IN A 192.0.2.44\n");
        var import = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "ananas.dll"), "auth", "import", file, "--store", store.Directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        await import.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(import.ExitCode == 0, await import.StandardError.ReadToEndAsync() + await import.StandardOutput.ReadToEndAsync());
        Assert.True(store.Answerer.Refresh());
        Assert.Equal("192.0.2.44", Assert.Single(store.Ask("www.other.test.", RRType.A).Answers).Data.ToString());
        // A changed name inside a known zone is seen at once: every query reads the store.
        store.Import(Zone.Replace("192.0.2.80", "192.0.2.81"));
        Assert.Equal("192.0.2.81", Assert.Single(store.Ask("www.example.com.", RRType.A).Answers).Data.ToString());
    }

    [Fact]
    public void A_directory_given_to_import_brings_in_every_zone_file_in_it_and_an_empty_one_changes_nothing()
    {
        using var store = StoreFixture.With(Zone);
        var dir = StoreFixture.TempDirectory();
        Directory.CreateDirectory(dir);
        for (int i = 0; i < 3; i++)
            File.WriteAllText(Path.Combine(dir, $"z{i}.test.zone"), $"$ORIGIN z{i}.test.\n@ 60 IN SOA ns h 1 2 3 4 5\n@ 60 IN NS ns\nns 60 IN A 192.0.2.{i + 10}\n");
        var output = new StringWriter();
        Assert.Equal(0, ZoneImporter.Import(store.Store, [dir], null, output));
        Assert.True(store.Answerer.Refresh());
        for (int i = 0; i < 3; i++)
            Assert.Equal($"192.0.2.{i + 10}", Assert.Single(store.Ask($"ns.z{i}.test.", RRType.A).Answers).Data.ToString());

        var empty = Path.Combine(dir, "empty");
        Directory.CreateDirectory(empty);
        ulong before = store.Store.ReadGeneration();
        output = new StringWriter();
        Assert.Equal(1, ZoneImporter.Import(store.Store, [empty], null, output));
        Assert.Contains("no files in this directory", output.ToString());
        Assert.Equal(before, store.Store.ReadGeneration());
    }

    [Fact]
    public void An_exported_zone_reads_back_to_the_same_records()
    {
        using var store = StoreFixture.With(Zone + "\nmail IN MX 10 www\n_s._tcp IN SRV 1 2 3 www\n*.w IN TXT \"a b\"\n");
        var text = new StringWriter();
        Assert.True(ZoneExporter.Export(store.Store, DnsName.Parse("EXAMPLE.com."), text));
        var again = Ananas.Dns.Zones.ZoneFileReader.Parse(text.ToString(), "export");
        Assert.Empty(again.Errors);
        var original = Ananas.Dns.Zones.ZoneFileReader.Parse(Zone + "\nmail IN MX 10 www\n_s._tcp IN SRV 1 2 3 www\n*.w IN TXT \"a b\"\n", "zone");
        Assert.Equal(original.Records.Select(r => r.Record.ToString()).Order(), again.Records.Select(r => r.Record.ToString()).Order());
        Assert.False(ZoneExporter.Export(store.Store, DnsName.Parse("nothere.test."), new StringWriter()));
    }

    [Fact]
    public void The_longest_matching_zone_answers_among_thousands_without_reading_the_store()
    {
        var zones = new List<string>();
        for (int i = 0; i < 2000; i++) zones.Add($"$ORIGIN z{i}.example.\n@ 60 IN SOA ns h 1 2 3 4 5\n@ 60 IN NS ns\nns 60 IN A 192.0.2.{i % 250 + 1}\n");
        zones.Add("$ORIGIN deep.z7.example.\n@ 60 IN SOA ns h 1 2 3 4 5\n@ 60 IN NS ns\nns 60 IN A 203.0.113.7\n");
        using var store = StoreFixture.With([.. zones]);
        Assert.Equal(2001, store.Answerer.Zones.Count);
        var reply = store.Ask("ns.deep.z7.example.", RRType.A, out int reads);
        Assert.Equal("203.0.113.7", Assert.Single(reply.Answers).Data.ToString());
        Assert.Equal(1, reads);
        Assert.Equal("192.0.2.8", Assert.Single(store.Ask("ns.z7.example.", RRType.A).Answers).Data.ToString());
    }

    internal static void Overwrite(EdgeStore store, string name, byte[] value)
    {
        var zone = ZoneIndex.Load(store).Find(DnsName.Parse("example.com.").Wire, out _);
        var key = new byte[NodeKey.MaxLength];
        NodeKey.WritePrefix(key, zone!.Id, NodeKey.NodeKind);
        Span<int> offsets = stackalloc int[128];
        int length = NodeKey.EncodeRelative(DnsName.Parse(name).Wire, zone.Apex.LabelCount, key.AsSpan(NodeKey.PrefixLength), offsets);
        using var txn = store.BeginWrite();
        txn.Put(store.Nodes, key.AsSpan(0, NodeKey.PrefixLength + length), value).ThrowOnError();
        txn.Commit().ThrowOnError();
    }
}

using System.Buffers.Binary;
using System.Diagnostics;
using Ananas.Authoritative.Signing;
using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Tests.Shared;
using LightningDB;

namespace Ananas.Authoritative.Tests;

/// <summary>Keys in the edge store (layout version 2), the CLI that makes them, and the cost of the signed answer path.</summary>
public sealed class SigningStoreTests
{
    [Fact]
    public void A_layout_1_store_is_upgraded_when_opened_and_a_store_of_a_newer_layout_is_refused()
    {
        using var fixture = StoreFixture.With(StoreFixture.ExampleZone);
        var dir = fixture.Directory;
        SetVersion(fixture.Store, 1);
        fixture.Store.Dispose();
        using (var reopened = new EdgeStore(dir))
        {
            Assert.Equal(EdgeStore.LayoutVersion, ReadVersion(reopened));
            Assert.Equal(1, ZoneIndex.Load(reopened).Count);
            KeyTable.Generate(reopened, DnsName.Parse("example.com."), SigningKey.Ed25519, DateTimeOffset.UtcNow);
            SetVersion(reopened, EdgeStore.LayoutVersion + 1);
        }
        var e = Assert.Throws<InvalidDataException>(() => new EdgeStore(dir));
        Assert.Contains($"layout version {EdgeStore.LayoutVersion + 1}", e.Message);
        // The refused open released its environment: LightningDB's finalizer would otherwise end the process.
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    [Fact]
    public void Keys_survive_reopening_the_store_and_a_corrupt_key_value_is_refused_clearly()
    {
        using var fixture = StoreFixture.With(StoreFixture.ExampleZone);
        var apex = DnsName.Parse("example.com.");
        var made = KeyTable.Generate(fixture.Store, apex, SigningKey.EcdsaP256Sha256, DateTimeOffset.UtcNow);
        KeyTable.Generate(fixture.Store, apex, SigningKey.Ed25519, DateTimeOffset.UtcNow);
        var read = KeyTable.Read(fixture.Store, apex);
        Assert.Equal([made.KeyTag], read.Where(k => k.Algorithm == 13).Select(k => k.KeyTag));
        Assert.Equal(2, read.Count);
        using (var txn = fixture.Store.BeginWrite())
        {
            txn.Put(fixture.Store.Keys, apex.Wire, [0x91, 0x95, 0x0D]).ThrowOnError();
            txn.Commit().ThrowOnError();
        }
        Assert.Throws<InvalidDataException>(() => KeyTable.Read(fixture.Store, apex));
    }

    [Theory]
    [InlineData("www.example.com.", RRType.A)]
    [InlineData("www.example.com.", RRType.MX)]
    [InlineData("nothere.example.com.", RRType.A)]
    [InlineData("x.wild.example.com.", RRType.A)]
    [InlineData("www.plain.example.com.", RRType.A)]
    [InlineData("example.com.", RRType.DNSKEY)]
    public void A_signed_answer_whose_signatures_are_cached_allocates_nothing(string name, RRType type)
    {
        using var zone = SignedZoneFixture.Create();
        var query = DnsMessage.CreateQuery(1, DnsName.Parse(name), type, dnssecOk: true).ToArray();
        var reply = new byte[4096];
        var answerer = zone.Answerer;
        Assert.True(answerer.Answer(query, reply, reply.Length, out _) > 0);
        long bytes = AllocationProbe.BytesPerRound(() => answerer.Answer(query, reply, reply.Length, out _));
        Assert.Equal(0, bytes);
        Assert.True(answerer.Signer.CacheHits > 1000);
    }

    [Fact]
    public async Task Keygen_makes_a_key_the_zone_is_signed_with_and_ds_prints_its_DS_records()
    {
        var dir = StoreFixture.TempDirectory();
        Directory.CreateDirectory(dir);
        var zoneFile = Path.Combine(dir, "example.test.zone");
        await File.WriteAllTextAsync(zoneFile, "$ORIGIN example.test.\n@ 60 IN SOA ns h 1 2 3 4 5\n@ 60 IN NS ns\nns 60 IN A 192.0.2.1\n");
        var store = Path.Combine(dir, "store");
        Assert.Equal(0, (await RunAsync("auth", "import", zoneFile, "--store", store)).Code);
        var keygen = await RunAsync("auth", "keygen", "example.test", "--store", store, "--algorithm", "15");
        Assert.True(keygen.Code == 0, keygen.Output);
        Assert.Matches(@"^example\.test\. 3600 IN DNSKEY 257 3 15 \S+ ; key tag (\d+)", keygen.Output);
        var tag = System.Text.RegularExpressions.Regex.Match(keygen.Output, @"key tag (\d+)").Groups[1].Value;
        Assert.Contains($"example.test. 3600 IN DS {tag} 15 2 ", keygen.Output);
        var ds = await RunAsync("auth", "ds", "example.test.", "--store", store);
        Assert.Contains($"IN DS {tag} 15 4 ", ds.Output);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(store));
        var refused = await RunAsync("auth", "keygen", "example.test", "--store", store, "--algorithm", "8");
        Assert.Equal(1, refused.Code);
        Assert.Contains("--algorithm 8 is not supported", refused.Output);
        Assert.Equal(1, (await RunAsync("auth", "keygen", "other.test", "--store", store)).Code);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task Auth_serve_names_a_malformed_metrics_address_and_exits_with_1_instead_of_crashing()
    {
        var dir = StoreFixture.TempDirectory();
        var run = await RunAsync("auth", "serve", "--store", dir, "--listen", "udp://127.0.0.1:0", "--metrics-listen", "127.0.0.1:9153");
        Assert.True(run.Code == 1, run.Output);
        Assert.Contains("--metrics-listen: '127.0.0.1:9153' is not http://", run.Output);
        Assert.DoesNotContain("Unhandled exception", run.Output);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    private static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "ananas.dll"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await output + await error);
    }

    private static int ReadVersion(EdgeStore store)
    {
        using var txn = store.BeginRead();
        var (_, _, value) = txn.Get(store.Meta, EdgeStore.VersionKey);
        return BinaryPrimitives.ReadInt32BigEndian(value.AsSpan());
    }

    private static void SetVersion(EdgeStore store, int version)
    {
        var v = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(v, version);
        using var txn = store.BeginWrite();
        txn.Put(store.Meta, EdgeStore.VersionKey, v).ThrowOnError();
        txn.Commit().ThrowOnError();
    }
}

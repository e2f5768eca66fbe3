using Ananas.Authoritative.Changes;
using Ananas.Dns;
using Ananas.Pipeline.Changes;
using Ananas.Pipeline.Database;
using Ananas.Pipeline.Records;

namespace Ananas.Pipeline.Tests;

/// <summary>The transformer: only the owners a change touched, each with its complete RRsets; whole zones for create and import.</summary>
public sealed class TransformerTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<EdgeChange> LastAsync(CentralDatabase database)
    {
        var entries = await database.UnpublishedAsync(1000, None);
        return await ChangeTransformer.TransformAsync(database, entries[^1], None);
    }

    private static string Describe(EdgeNode node) =>
        $"{node.Owner}:" + string.Join(";", node.RRsets.Select(s => $"{s.Type}/{s.Ttl}/{s.Records.Count}"));

    [Fact]
    public async Task A_record_change_carries_only_the_owners_it_touched_with_their_complete_rrsets()
    {
        var database = await TestDatabases.OpenAsync(TestDatabases.Sqlite());
        var apex = DnsName.Parse("example.com.");
        var zone = (await database.CreateZoneAsync(apex, ZoneText.NewZone(apex, ["ns1.example.net"], null).Value!, None)).Value!;
        var create = await LastAsync(database);
        Assert.Equal((EdgeChangeKind.ReplaceZone, 1L), (create.Kind, create.Sequence));
        Assert.Equal(["example.com.:NS/3600/1;SOA/3600/1"], create.Nodes.Select(Describe));

        await database.AddRecordAsync(zone.Id, new RecordInput("www", "A", "192.0.2.1", 300), None);
        await database.AddRecordAsync(zone.Id, new RecordInput("www", "TXT", "\"x\"", 300), None);
        await database.AddRecordAsync(zone.Id, new RecordInput("other", "A", "192.0.2.3", 300), None);
        var added = await database.AddRecordAsync(zone.Id, new RecordInput("www", "A", "192.0.2.2", 60), None);
        var change = await LastAsync(database);
        Assert.Equal(EdgeChangeKind.SetNodes, change.Kind);
        Assert.Equal(5, change.Sequence);
        // One owner, every RRset it has; the A RRset gets the smaller TTL of its records (one TTL per RRset, RFC 2181 §5.2).
        Assert.Equal(["www.example.com.:A/60/2;TXT/300/1"], change.Nodes.Select(Describe));

        // Moving a record to another name touches both names; the old one is left with what remains.
        await database.UpdateRecordAsync(zone.Id, added.Value!.Id, _ => new RecordInput("web", "A", "192.0.2.2", 60), None);
        change = await LastAsync(database);
        Assert.Equal(["web.example.com.:A/60/1", "www.example.com.:A/300/1;TXT/300/1"], change.Nodes.Select(Describe));

        await database.DeleteRecordAsync(zone.Id, added.Value!.Id, None);
        change = await LastAsync(database);
        Assert.Equal(["web.example.com.:"], change.Nodes.Select(Describe));

        await database.DeleteZoneAsync(zone.Id, None);
        change = await LastAsync(database);
        Assert.Equal((EdgeChangeKind.DeleteZone, apex), (change.Kind, change.Apex));
        Assert.Empty(change.Nodes);
    }

    [Fact]
    public async Task The_snapshot_holds_every_zone_whole_at_the_last_committed_sequence()
    {
        var database = await TestDatabases.OpenAsync(TestDatabases.Sqlite());
        foreach (var name in new[] { "a.test.", "b.test." })
        {
            var apex = DnsName.Parse(name);
            var zone = (await database.CreateZoneAsync(apex, ZoneText.NewZone(apex, ["ns.example.net"], null).Value!, None)).Value!;
            await database.AddRecordAsync(zone.Id, new RecordInput("www", "A", "192.0.2.1", 300), None);
        }
        var snapshot = EdgeSnapshot.Decode(( await ChangeTransformer.SnapshotAsync(database, None)).Encode());
        Assert.Equal(4, snapshot.Sequence);
        Assert.Equal(["a.test.", "b.test."], snapshot.Zones.Select(z => z.Apex.ToString()));
        Assert.All(snapshot.Zones, z => Assert.Equal((EdgeChangeKind.ReplaceZone, 4L, 2), (z.Kind, z.Sequence, z.Nodes.Count)));
    }
}

using System.CommandLine;
using Ananas.Authoritative.Changes;
using Ananas.Authoritative.Store;
using Ananas.Authoritative.Sync;
using Ananas.Pipeline.Changes;
using Ananas.Server.Configuration;

namespace Ananas.Cli;

/// <summary><c>ananas edge verify</c>: an edge store against a fresh build from the pipeline's database.</summary>
internal static class EdgeCommand
{
    public static Command Create()
    {
        var edge = new Command("edge", "Edge stores fed by the zone pipeline.");
        edge.Subcommands.Add(CreateVerify());
        return edge;
    }

    private static Command CreateVerify()
    {
        var store = new Option<DirectoryInfo>("--store") { Description = "The edge store's directory.", Required = true };
        var api = new Option<string?>("--api") { Description = "The zone API (http://HOST:PORT): its /edge/snapshot is the reference." };
        var token = new Option<string?>("--token") { Description = "An API token valid for all zones (with --api)." };
        var database = new Option<string?>("--database") { Description = "Or read the central database directly: sqlite:PATH or postgresql:CONNECTION-STRING." };
        var config = new Option<FileInfo?>("--config") { Description = "A configuration file whose api.database is the reference (instead of --database)." };
        var wait = new Option<double>("--wait") { Description = "Wait up to this many seconds for the store to reach the snapshot's sequence first.", DefaultValueFactory = _ => 0 };
        var command = new Command("verify",
            "Compare an edge store with a fresh build of every zone from the database (the edge snapshot) and list each difference " +
            "by zone, owner and type. Exit code 0 only when there is none.");
        foreach (var option in new Option[] { store, api, token, database, config, wait }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            EdgeSnapshot snapshot;
            try
            {
                snapshot = await SnapshotAsync(parse.GetValue(api), parse.GetValue(token), parse.GetValue(database), parse.GetValue(config), cancellationToken);
            }
            catch (Exception e) when (e is ConfigException or FormatException or InvalidDataException or IOException or HttpRequestException or System.Data.Common.DbException)
            {
                Console.Error.WriteLine($"ananas edge verify: {e.Message}");
                return 2;
            }
            using var edge = AuthCommand.OpenStore(parse.GetValue(store)!.FullName);
            if (edge is null) return 2;
            var deadline = DateTime.UtcNow.AddSeconds(parse.GetValue(wait));
            while (EdgeChangeApplier.AppliedSequence(edge) < snapshot.Sequence && DateTime.UtcNow < deadline)
                await Task.Delay(100, cancellationToken);
            long applied = EdgeChangeApplier.AppliedSequence(edge);
            var differences = StoreComparison.Compare(edge, snapshot.Zones);
            foreach (var difference in differences) Console.WriteLine(difference);
            string note = applied == snapshot.Sequence ? "" : $" (the store is at sequence {applied}, the database at {snapshot.Sequence}: differences may be changes in flight)";
            Console.WriteLine($"{snapshot.Zones.Count} zones, {differences.Count} difference{(differences.Count == 1 ? "" : "s")}{note}");
            return differences.Count == 0 ? 0 : 1;
        });
        return command;
    }

    private static async Task<EdgeSnapshot> SnapshotAsync(string? api, string? token, string? database, FileInfo? config, CancellationToken cancellationToken)
    {
        if (api is not null)
        {
            if (database is not null || config is not null) throw new ConfigException("give either --api (with --token) or --database/--config");
            using var source = new HttpEdgeSnapshotSource(new Uri(ConfigKeys.HttpUrl(api)), token ?? throw new ConfigException("--api needs --token"));
            return await source.FetchAsync(cancellationToken);
        }
        var settings = config is null ? ConfigLoader.Defaults() : ConfigLoader.LoadFile(config.FullName);
        if (database is not null) settings.ApiDatabase = database;
        if (settings.ApiDatabase.Length == 0 && config is null) throw new ConfigException("give --api URL --token T, or --database, or --config");
        var central = await ApiCommand.OpenDatabaseAsync(settings, cancellationToken);
        return await ChangeTransformer.SnapshotAsync(central, cancellationToken);
    }
}

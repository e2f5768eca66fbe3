using System.CommandLine;
using Ananas.Authoritative.Changes;
using Ananas.Authoritative.Store;
using Ananas.Authoritative.Sync;
using Ananas.Dns;
using Ananas.Pipeline.Api;
using Ananas.Pipeline.Changes;
using Ananas.Pipeline.Database;
using Ananas.Server.Configuration;
using Ananas.Server.Listeners;
using Microsoft.Extensions.Logging;

namespace Ananas.Cli;

/// <summary>
/// <c>ananas api serve|token create</c>: the zone pipeline's API over the central database, with the outbox publisher
/// feeding the edge stores (docs/PIPELINE.md). Without NATS, changes go into a local edge store, so that
/// <c>ananas api serve</c> beside <c>ananas auth serve --store</c> on the same directory is a whole platform.
/// </summary>
internal static class ApiCommand
{
    public static Command Create()
    {
        var api = new Command("api", "The zone API and its central database; changes flow through the outbox to the edge stores.");
        api.Subcommands.Add(CreateServe());
        var token = new Command("token", "API tokens (only their SHA-256 is stored).");
        token.Subcommands.Add(CreateToken());
        api.Subcommands.Add(token);
        return api;
    }

    private static Option<FileInfo?> ConfigOption() => new("--config") { Description = "A TOML configuration file (its [api] section; docs/SERVER.md)." };

    private static Option<string?> DatabaseOption() => new("--database")
    { Description = "The central database: sqlite:PATH or postgresql:CONNECTION-STRING (default: api.database, else SQLite in the state directory)." };

    private static Command CreateServe()
    {
        var config = ConfigOption();
        var database = DatabaseOption();
        var listen = new Option<string?>("--listen") { Description = "Serve the API at http://ADDR:PORT (default: api.listen, http://127.0.0.1:9155)." };
        var edgeStore = new Option<DirectoryInfo?>("--edge-store") { Description = "The local edge store changes are applied to (default: api.edge-store, else `edge` in the state directory)." };
        var nats = new Option<string?>("--nats") { Description = "Publish changes to this NATS server's JetStream (nats://HOST:PORT) instead of a local edge store." };
        var command = new Command("serve", "Serve the zone API; every change is published, in order, to the local edge store (or NATS).");
        foreach (var option in new Option[] { config, database, listen, edgeStore, nats }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            ServerConfig settings;
            try
            {
                settings = Settings(parse.GetValue(config), parse.GetValue(database));
                if (parse.GetValue(listen) is { } l) settings.ApiListen = l;
                if (parse.GetValue(edgeStore) is { } e) settings.ApiEdgeStore = e.FullName;
                if (parse.GetValue(nats) is { } n) settings.ApiNats = ServeCommand.Flag("--nats", () => ConfigKeys.NatsUrl(n));
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"ananas api serve: {e.Message}");
                return 1;
            }
            return await RunAsync(settings, cancellationToken);
        });
        return command;
    }

    private static Command CreateToken()
    {
        var config = ConfigOption();
        var database = DatabaseOption();
        var zone = new Option<string?>("--zone") { Description = "Limit the token to this zone (it may create the zone, and act on nothing else)." };
        var all = new Option<bool>("--all") { Description = "A token for every zone, and for the edge snapshot." };
        var command = new Command("create", "Create an API token and print it once; only its SHA-256 is stored.");
        foreach (var option in new Option[] { config, database, zone, all }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            string? zoneText = parse.GetValue(zone);
            if ((zoneText is null) == !parse.GetValue(all))
            {
                Console.Error.WriteLine("ananas api token create: give --zone NAME or --all");
                return 1;
            }
            DnsName? scope = null;
            if (zoneText is not null)
            {
                if (!DnsName.TryParse(zoneText.EndsWith('.') ? zoneText : zoneText + ".", null, out var parsed, out var error) || parsed.IsRoot)
                {
                    Console.Error.WriteLine($"ananas api token create: bad --zone '{zoneText}': {error}");
                    return 1;
                }
                scope = parsed;
            }
            try
            {
                var settings = Settings(parse.GetValue(config), parse.GetValue(database));
                var central = await OpenDatabaseAsync(settings, cancellationToken);
                var (row, secret) = await central.CreateTokenAsync(scope, cancellationToken);
                Console.Out.WriteLine(secret);
                Console.Error.WriteLine($"token {row.Id} for {(scope is null ? "all zones" : scope.ToString())}: shown once, keep it (the database holds only its SHA-256)");
                return 0;
            }
            catch (Exception e) when (e is ConfigException or FormatException or InvalidDataException or System.Data.Common.DbException or IOException)
            {
                Console.Error.WriteLine($"ananas api token create: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static ServerConfig Settings(FileInfo? config, string? database)
    {
        var settings = config is null ? ConfigLoader.Defaults() : ConfigLoader.LoadFile(config.FullName);
        if (database is not null) settings.ApiDatabase = database;
        return settings;
    }

    /// <summary>The state directory (where the control token lives): the default database and edge store go there.</summary>
    internal static string StateDirectory() => Path.GetDirectoryName(ControlToken.DefaultPath())!;

    internal static async Task<CentralDatabase> OpenDatabaseAsync(ServerConfig settings, CancellationToken cancellationToken)
    {
        SqlDialect dialect;
        try
        {
            dialect = CentralDatabase.DialectFor(settings.ApiDatabase, Path.Combine(StateDirectory(), "pipeline.db"));
        }
        catch (FormatException e)
        {
            throw new ConfigException($"api.database: {e.Message}");
        }
        return await CentralDatabase.OpenAsync(dialect, cancellationToken, settings.ApiMaxRecordsPerZone);
    }

    /// <summary>Serves until cancelled or SIGINT/SIGTERM; 1 when it cannot start.</summary>
    internal static async Task<int> RunAsync(ServerConfig settings, CancellationToken cancellationToken, Action<ApiServer>? started = null)
    {
        using var loggerFactory = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(settings.LogLevel)
            .AddSimpleConsole(console => { console.SingleLine = true; console.TimestampFormat = "HH:mm:ss "; }));
        var logger = loggerFactory.CreateLogger("Ananas.Pipeline");
        CentralDatabase central;
        System.Net.IPEndPoint endPoint;
        try
        {
            endPoint = MetricsListener.ParseAddress(settings.ApiListen);
            central = await OpenDatabaseAsync(settings, cancellationToken);
        }
        catch (Exception e) when (e is ConfigException or FormatException or InvalidDataException or System.Data.Common.DbException or IOException)
        {
            Console.Error.WriteLine($"ananas api serve: {e.Message}");
            return 1;
        }
        if (settings.ApiNats.Length > 0)
        {
            // Edges follow the stream (`auth serve --sync`); NATS deduplicates a change published again by its sequence.
            await using var stream = new NatsEdgeChangePublisher(settings.ApiNats, "ananas-api");
            return await ServeAsync(central, endPoint, settings, stream, $"the NATS stream {EdgeChangeStream.Name} at {settings.ApiNats}", logger, started, cancellationToken);
        }
        string edgePath = settings.ApiEdgeStore.Length > 0 ? settings.ApiEdgeStore : Path.Combine(StateDirectory(), "edge");
        EdgeStore edge;
        try
        {
            edge = new EdgeStore(edgePath);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or LightningDB.LightningException)
        {
            Console.Error.WriteLine($"ananas api serve: cannot open the edge store {edgePath}: {e.Message}");
            return 1;
        }
        using (edge)
        {
            var target = new LocalEdgePublisher(edge);
            var (bootstrapped, again) = await target.CatchUpAsync(central, cancellationToken);
            if (bootstrapped) logger.LogInformation(4006, "edge store {Store} was behind the outbox: loaded the database's snapshot", edgePath);
            if (again > 0) logger.LogInformation(4003, "edge store {Store} is at sequence {Sequence}: publishing {Count} changes again", edgePath, target.AppliedSequence, again);
            return await ServeAsync(central, endPoint, settings, target, $"the edge store {edgePath}", logger, started, cancellationToken);
        }
    }

    private static async Task<int> ServeAsync(CentralDatabase central, System.Net.IPEndPoint endPoint, ServerConfig settings, IEdgeChangePublisher target,
        string destination, ILogger logger, Action<ApiServer>? started, CancellationToken cancellationToken)
    {
        await using var publisher = new OutboxPublisher(central, target, settings.ApiPollInterval, logger) { Retention = settings.ApiOutboxRetention };
        await using var server = new ApiServer(central, new ApiOptions(endPoint) { MaxBodyBytes = settings.ApiMaxBodyBytes, TokenCacheLifetime = settings.ApiTokenCache }, publisher);
        // The publisher first: what committed before a restart goes out while the server starts, not behind its first requests.
        publisher.Start();
        try
        {
            await server.StartAsync();
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"ananas api serve: {e.Message}");
            return 1;
        }
        logger.LogInformation(4000, "zone API at {Address} ({Database}); changes go to {Destination}", server.BaseAddress, central.Dialect.Name, destination);
        started?.Invoke(server);
        await StopSignals.WaitAsync(cancellationToken);
        return 0;
    }
}

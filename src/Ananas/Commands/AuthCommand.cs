using System.CommandLine;
using System.Runtime.InteropServices;
using Ananas.Authoritative;
using Ananas.Authoritative.Answering;
using Ananas.Authoritative.Store;
using Ananas.Authoritative.Sync;
using Ananas.Authoritative.Transfer;
using Ananas.Cli.Plugins;
using Ananas.Authoritative.Zones;
using Ananas.Dns;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;
using Microsoft.Extensions.Logging;

namespace Ananas.Cli;

/// <summary>
/// <c>ananas auth import|export|serve</c>: the authoritative service over the edge store (docs/AUTHORITATIVE.md).
/// <c>serve</c> composes the server's listeners, frames, ACL, metrics, query log and plugins with the store as the
/// pipeline's answer source (<see cref="AnswerSourceHost"/>: no resolver is built), zone transfers out and NOTIFY.
/// </summary>
internal static class AuthCommand
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(2);

    public static Command Create()
    {
        var auth = new Command("auth", "The authoritative DNS service: zones in an LMDB edge store, one store read per answer.");
        auth.Subcommands.Add(CreateImport());
        auth.Subcommands.Add(CreateExport());
        auth.Subcommands.Add(CreateServe());
        foreach (var keys in AuthKeyCommands.Create()) auth.Subcommands.Add(keys);
        return auth;
    }

    private static Option<DirectoryInfo> StoreOption(bool required = true) =>
        new("--store") { Description = "The edge store's directory (created if missing).", Required = required };

    private static Command CreateImport()
    {
        var files = new Argument<FileInfo[]>("FILE") { Description = "Zone files (RFC 1035 master files), or directories: every file in one.", Arity = ArgumentArity.OneOrMore };
        var store = StoreOption();
        var origin = new Option<string?>("--origin") { Description = "The zone's name (one file only; default: the SOA owner, else the file name without .zone)." };
        var command = new Command("import",
            "Parse zone files, apply the `ananas zone check` rules and put the zones into the store in one transaction. " +
            "Any error (printed with its file and line) leaves the store unchanged. A zone already in the store is replaced whole.");
        command.Arguments.Add(files);
        command.Options.Add(store);
        command.Options.Add(origin);
        command.SetAction(parse =>
        {
            DnsName? originName = null;
            if (parse.GetValue(origin) is { } text && !TryParseName(text, "--origin", out originName)) return 1;
            using var edge = OpenStore(parse.GetValue(store)!.FullName);
            if (edge is null) return 1;
            return ZoneImporter.Import(edge, [.. parse.GetValue(files)!.Select(f => f.ToString())], originName, Console.Out);
        });
        return command;
    }

    private static Command CreateExport()
    {
        var zone = new Argument<string>("ZONE") { Description = "The zone's name." };
        var store = StoreOption();
        var command = new Command("export", "Write a zone from the store as a zone file to standard output.");
        command.Arguments.Add(zone);
        command.Options.Add(store);
        command.SetAction(parse =>
        {
            if (!TryParseName(parse.GetValue(zone)!, "ZONE", out var apex)) return 1;
            using var edge = OpenStore(parse.GetValue(store)!.FullName);
            if (edge is null) return 1;
            if (ZoneExporter.Export(edge, apex!, Console.Out)) return 0;
            Console.Error.WriteLine($"ananas auth export: the store holds no zone {apex}");
            return 1;
        });
        return command;
    }

    private static Command CreateServe()
    {
        var store = StoreOption(required: false);
        var config = new Option<FileInfo?>("--config") { Description = "A TOML configuration file ([authoritative], listeners, [udp], [tcp], [metrics], [log]; docs/SERVER.md)." };
        var listen = new Option<string[]>("--listen") { Description = "Listen address, repeatable: udp://ADDR:PORT, tcp://ADDR:PORT (also tls://, https://).", AllowMultipleArgumentsPerToken = false };
        var allow = new Option<string[]>("--allow") { Description = "Client network allowed to query, repeatable (default: everyone, as an authoritative server is asked by the world).", AllowMultipleArgumentsPerToken = false };
        var metrics = new Option<string?>("--metrics-listen") { Description = "Serve Prometheus metrics (ananas_auth_*) at http://ADDR:PORT/metrics." };
        var queryLog = new Option<string?>("--query-log") { Description = "Write every answer to this file (JSON lines), or 'stdout'." };
        var identity = new Option<string?>("--identity") { Description = "Answer CH TXT id.server/hostname.bind with this text (default: refused)." };
        var version = new Option<string?>("--server-version") { Description = "Answer CH TXT version.bind/version.server with this text (default: refused)." };
        var allowTransfer = new Option<string[]>("--allow-transfer") { Description = "Client network allowed zone transfers (AXFR/IXFR over TCP), repeatable (default: nobody).", AllowMultipleArgumentsPerToken = false };
        var notify = new Option<string[]>("--notify") { Description = "Secondary ADDR[:PORT] sent NOTIFY when a zone's serial changes, repeatable.", AllowMultipleArgumentsPerToken = false };
        var command = new Command("serve", "Serve the store's zones authoritatively (UDP and TCP; a store changed by `auth import` in another process is served within a second).");
        var sync = new Option<string?>("--sync") { Description = "Follow the zone pipeline's change stream on this NATS server (nats://HOST:PORT): apply every change to the store in order." };
        var edgeId = new Option<string?>("--edge-id") { Description = "This edge's name on the stream (its durable consumer; unique among edges). Default: the host name." };
        var snapshotApi = new Option<string?>("--snapshot-api") { Description = "The zone API (http://HOST:PORT) whose /edge/snapshot an empty store loads before following --sync." };
        var snapshotToken = new Option<string?>("--snapshot-token") { Description = "An API token valid for all zones, for --snapshot-api." };
        foreach (var option in new Option[] { store, config, listen, allow, metrics, queryLog, identity, version, allowTransfer, notify, sync, edgeId, snapshotApi, snapshotToken }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            ServerConfig settings;
            AuthoritativeOptions options;
            try
            {
                settings = ServeCommand.BuildConfig(parse.GetValue(config)?.FullName, parse.GetValue(listen), null, null, parse.GetValue(allow));
                if (parse.GetValue(allow) is not { Length: > 0 }) settings.Allow = ["0.0.0.0/0", "::/0"];
                if (parse.GetValue(metrics) is { } m)
                    settings.MetricsListen = ServeCommand.Flag("--metrics-listen", () => { Server.Listeners.MetricsListener.ParseAddress(m); return m; });
                if (parse.GetValue(queryLog) is { } q) settings.QueryLog = q;
                if (parse.GetValue(store) is { } s) settings.AuthoritativeStore = s.FullName;
                if (parse.GetValue(identity) is { } id) settings.AuthoritativeIdentity = id;
                if (parse.GetValue(version) is { } v) settings.AuthoritativeVersion = v;
                if (parse.GetValue(allowTransfer) is { Length: > 0 } transfer)
                {
                    foreach (var network in transfer) ServeCommand.Flag("--allow-transfer", () => Server.Pipeline.AccessList.ParseNetwork(network));
                    settings.AuthoritativeAllowTransfer = [.. transfer];
                }
                if (parse.GetValue(notify) is { Length: > 0 } secondaries)
                {
                    foreach (var secondary in secondaries) ServeCommand.Flag("--notify", () => ConfigLoader.ParseEndPoint(secondary, 53));
                    settings.AuthoritativeNotify = [.. secondaries];
                }
                if (parse.GetValue(sync) is { } url) settings.AuthoritativeSync = ServeCommand.Flag("--sync", () => ConfigKeys.NatsUrl(url));
                if (parse.GetValue(edgeId) is { } eid) settings.AuthoritativeEdgeId = ServeCommand.Flag("--edge-id", () => ConfigKeys.EdgeId(eid));
                if (parse.GetValue(snapshotApi) is { } api) settings.AuthoritativeSnapshotApi = ServeCommand.Flag("--snapshot-api", () => ConfigKeys.HttpUrl(api));
                if (parse.GetValue(snapshotToken) is { } token) settings.AuthoritativeSnapshotToken = token;
                if (settings.AuthoritativeStore.Length == 0) throw new ConfigException("--store (or [authoritative] store in --config) is required");
                options = OptionsFor(settings);
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"ananas auth serve: {e.Message}");
                return 1;
            }
            return await RunAsync(settings.AuthoritativeStore, settings, options, cancellationToken);
        });
        return command;
    }

    /// <summary>The answerer's options from the configuration's [authoritative] section.</summary>
    internal static AuthoritativeOptions OptionsFor(ServerConfig settings)
    {
        if (settings.SignatureJitter > settings.SignatureValidity / 2)
            throw new ConfigException($"authoritative.signature-jitter ({settings.SignatureJitter}) is more than half of authoritative.signature-validity ({settings.SignatureValidity})");
        return new()
        {
            Identity = settings.AuthoritativeIdentity.Length > 0 ? settings.AuthoritativeIdentity : null,
            Version = settings.AuthoritativeVersion.Length > 0 ? settings.AuthoritativeVersion : null,
            UdpPayload = (ushort)settings.UdpMaxPayload,
            ReplyCacheSize = settings.ReplyCacheSize,
            Signing = new Authoritative.Signing.SigningOptions
            {
                Enabled = settings.AuthoritativeSigning,
                Validity = settings.SignatureValidity,
                InceptionOffset = settings.SignatureInceptionOffset,
                Jitter = settings.SignatureJitter,
                CacheSize = settings.SignatureCacheSize,
                DnskeyTtl = (uint)settings.DnskeyTtl.TotalSeconds,
            },
        };
    }

    /// <summary>Serves until cancelled or SIGINT/SIGTERM; 1 when it cannot start.</summary>
    internal static async Task<int> RunAsync(string storePath, ServerConfig settings, AuthoritativeOptions options, CancellationToken cancellationToken,
        Action<AnswerSourceHost>? started = null)
    {
        using var loggerFactory = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(settings.LogLevel)
            .AddSimpleConsole(console => { console.SingleLine = true; console.TimestampFormat = "HH:mm:ss "; }));
        var logger = loggerFactory.CreateLogger("Ananas.Authoritative");
        // A store that follows the stream gets a commit lost in an OS crash again from it: one flush per commit, not two.
        using var edge = OpenStore(storePath, durableCommits: settings.AuthoritativeSync.Length == 0);
        if (edge is null) return 1;
        AuthoritativeAnswerer answerer;
        try
        {
            answerer = new AuthoritativeAnswerer(edge, options, logger);
        }
        catch (InvalidDataException e)
        {
            // A zone row or a signing key that cannot be read: refuse to start rather than serve a signed zone unsigned.
            Console.Error.WriteLine($"ananas auth serve: the store {storePath} cannot be served: {e.Message}");
            return 1;
        }
        var transfer = new ZoneTransfer(edge, AccessList.Parse(settings.AuthoritativeAllowTransfer), logger);
        var notify = settings.AuthoritativeNotify.Count == 0 ? null
            : new NotifySender([.. settings.AuthoritativeNotify.Select(s => ConfigLoader.ParseEndPoint(s, 53))], logger);
        using var source = new AuthoritativeSource(answerer, logger, transfer, notify);
        AnswerSourceHost host;
        PluginManager? plugins = null;
        try
        {
            host = new AnswerSourceHost(settings, source, loggerFactory);
            // Plugins load before the listeners open, so the first query already passes through them.
            plugins = await PluginManager.AttachAsync(host.Pipeline, settings, loggerFactory, cancellationToken);
            host.Plugins = plugins;
            await host.StartAsync();
        }
        catch (Exception e) when (e is ConfigException or ListenerBindException)
        {
            Console.Error.WriteLine($"ananas auth serve: {e.Message}");
            if (plugins is not null) await plugins.DisposeAsync();
            return 1;
        }
        logger.LogInformation("serving {Zones} zones from {Store}", source.Answerer.Zones.Count, storePath);
        await using var sync = EdgeSyncRunner.Start(edge, settings, source, loggerFactory, out var syncing, cancellationToken);
        started?.Invoke(host);
        await StopSignals.WaitAsync(cancellationToken);
        await EdgeSyncRunner.StopAsync(syncing);
        await host.StopAsync(DrainTimeout);
        if (plugins is not null) await plugins.DisposeAsync();
        return 0;
    }

    internal static EdgeStore? OpenStore(string path, bool durableCommits = true)
    {
        try
        {
            return new EdgeStore(path, durableCommits: durableCommits);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or LightningDB.LightningException or DllNotFoundException)
        {
            Console.Error.WriteLine($"ananas auth: cannot open the store {path}: {e.Message}");
            return null;
        }
    }

    internal static bool TryParseName(string text, string what, out DnsName? name)
    {
        if (DnsName.TryParse(text.EndsWith('.') ? text : text + ".", null, out var parsed, out var error))
        {
            name = parsed;
            return true;
        }
        Console.Error.WriteLine($"ananas auth: bad {what} '{text}': {error}");
        name = null;
        return false;
    }
}

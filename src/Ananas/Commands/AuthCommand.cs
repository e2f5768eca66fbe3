using System.CommandLine;
using System.Runtime.InteropServices;
using Ananas.Authoritative;
using Ananas.Authoritative.Answering;
using Ananas.Authoritative.Store;
using Ananas.Authoritative.Zones;
using Ananas.Dns;
using Ananas.Resolver;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Ananas.Server.Listeners;
using Microsoft.Extensions.Logging;

namespace Ananas.Cli;

/// <summary>
/// <c>ananas auth import|export|serve</c>: the authoritative service over the edge store (docs/AUTHORITATIVE.md).
/// <c>serve</c> composes the resolver's listeners, frames, ACL, metrics and query log with the store as the
/// pipeline's answer source.
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
        var files = new Argument<FileInfo[]>("FILE") { Description = "Zone files (RFC 1035 master files).", Arity = ArgumentArity.OneOrMore };
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
        var command = new Command("serve", "Serve the store's zones authoritatively (UDP and TCP; a store changed by `auth import` in another process is served within a second).");
        foreach (var option in new Option[] { store, config, listen, allow, metrics, queryLog, identity, version }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            ServerConfig settings;
            AuthoritativeOptions options;
            try
            {
                settings = ServeCommand.BuildConfig(parse.GetValue(config)?.FullName, parse.GetValue(listen), null, null, parse.GetValue(allow));
                if (parse.GetValue(allow) is not { Length: > 0 }) settings.Allow = ["0.0.0.0/0", "::/0"];
                if (parse.GetValue(metrics) is { } m) settings.MetricsListen = m;
                if (parse.GetValue(queryLog) is { } q) settings.QueryLog = q;
                if (parse.GetValue(store) is { } s) settings.AuthoritativeStore = s.FullName;
                if (parse.GetValue(identity) is { } id) settings.AuthoritativeIdentity = id;
                if (parse.GetValue(version) is { } v) settings.AuthoritativeVersion = v;
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
        Action<ResolverHost>? started = null)
    {
        using var loggerFactory = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(settings.LogLevel)
            .AddSimpleConsole(console => { console.SingleLine = true; console.TimestampFormat = "HH:mm:ss "; }));
        using var edge = OpenStore(storePath);
        if (edge is null) return 1;
        AuthoritativeAnswerer answerer;
        try
        {
            answerer = new AuthoritativeAnswerer(edge, options, loggerFactory.CreateLogger("Ananas.Authoritative"));
        }
        catch (InvalidDataException e)
        {
            // A zone row or a signing key that cannot be read: refuse to start rather than serve a signed zone unsigned.
            Console.Error.WriteLine($"ananas auth serve: the store {storePath} cannot be served: {e.Message}");
            return 1;
        }
        using var source = new AuthoritativeSource(answerer, loggerFactory.CreateLogger("Ananas.Authoritative"));
        ResolverHost host;
        try
        {
            // The host's recursor is never asked: the answer source answers every admitted query. The control API
            // (cache purge, resolver status) has nothing to act on here.
            host = new ResolverHost(settings with { ControlListen = "" }, NoUpstream.Instance, loggerFactory);
            host.Pipeline.AnswerSource = source;
            await host.StartAsync();
        }
        catch (Exception e) when (e is ConfigException or ListenerBindException)
        {
            Console.Error.WriteLine($"ananas auth serve: {e.Message}");
            return 1;
        }
        loggerFactory.CreateLogger("Ananas.Authoritative").LogInformation("serving {Zones} zones from {Store}", source.Answerer.Zones.Count, storePath);
        started?.Invoke(host);
        await StopSignals.WaitAsync(cancellationToken);
        await host.StopAsync(DrainTimeout);
        return 0;
    }

    internal static EdgeStore? OpenStore(string path)
    {
        try
        {
            return new EdgeStore(path);
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

    /// <summary>The exchanger of a host that never resolves: any upstream exchange is refused.</summary>
    private sealed class NoUpstream : IExchanger
    {
        public static readonly NoUpstream Instance = new();

        public ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(ExchangeResult.Failed(ExchangeStatus.Refused, request.Transport));
    }
}

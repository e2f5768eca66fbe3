using System.CommandLine;
using System.Runtime.InteropServices;
using Ananas.Cli.Plugins;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Ananas.Server.Listeners;
using Microsoft.Extensions.Logging;

namespace Ananas.Cli;

/// <summary>
/// <c>ananas serve</c>: the resolver service. Configuration (embedded defaults, then <c>--config</c>, then flags) →
/// <see cref="ResolverHost.Create"/> (upstream, resolver stack, pipeline, listeners) → plugins; SIGHUP, a file change
/// or the control API reloads; Ctrl-C or SIGTERM drains.
/// </summary>
internal static class ServeCommand
{
    /// <summary>How long a shutdown waits for queries in flight.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "A TOML configuration file (keys in docs/SERVER.md); without it the embedded defaults apply." };
        var listen = new Option<string[]>("--listen")
        {
            Description = "Listen address, repeatable: udp://ADDR:PORT, tcp://ADDR:PORT (default udp://127.0.0.1:5353 and tcp://127.0.0.1:5353; port 53 needs privileges). tls://ADDR:PORT (DNS over TLS, RFC 7858), https://ADDR:PORT (DNS over HTTPS at /dns-query, RFC 8484).",
            AllowMultipleArgumentsPerToken = false,
        };
        var rootHints = new Option<FileInfo?>("--root-hints") { Description = "Read root hints from a named.root-style file (default: built-in IANA hints)." };
        var trustAnchor = new Option<FileInfo?>("--trust-anchor") { Description = "DNSSEC trust anchors (DS or DNSKEY records) instead of the built-in root KSKs." };
        var cacheSize = new Option<string?>("--cache-size") { Description = "Answer cache size, e.g. 256MiB (the default), 1GiB." };
        var allow = new Option<string[]>("--allow")
        {
            Description = "Client network allowed to query, repeatable (default: localhost and private networks).",
            AllowMultipleArgumentsPerToken = false,
        };

        var command = new Command("serve", "Run the recursive resolver service (UDP and TCP on 127.0.0.1:5353 by default; DoT and DoH on request).");
        foreach (var option in new Option[] { config, listen, rootHints, trustAnchor, cacheSize, allow }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var configPath = parse.GetValue(config)?.FullName;
            // A reload (SIGHUP, file change, `ananas reload`) reads the file again and re-applies the same flags.
            ServerConfig Load() => BuildConfig(configPath, parse.GetValue(listen), parse.GetValue(rootHints)?.FullName, parse.GetValue(cacheSize), parse.GetValue(allow),
                parse.GetValue(trustAnchor)?.FullName);
            ServerConfig settings;
            try
            {
                settings = Load();
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"ananas serve: {e.Message}");
                return 1;
            }
            // [authoritative] store set: the same listeners answer from the edge store.
            if (settings.AuthoritativeStore.Length > 0)
            {
                Authoritative.Answering.AuthoritativeOptions options;
                try
                {
                    options = AuthCommand.OptionsFor(settings);
                }
                catch (ConfigException e)
                {
                    Console.Error.WriteLine($"ananas serve: {e.Message}");
                    return 1;
                }
                return await AuthCommand.RunAsync(settings.AuthoritativeStore, settings, options, cancellationToken);
            }
            return await RunAsync(settings, Console.Error, cancellationToken, configSource: Load, watchPath: configPath);
        });
        return command;
    }

    /// <summary>The defaults (or the file), then the flags. Throws <see cref="ConfigException"/> naming the bad flag.</summary>
    internal static ServerConfig BuildConfig(string? configPath, string[]? listen, string? rootHints, string? cacheSize, string[]? allow, string? trustAnchor = null)
    {
        var settings = configPath is null ? ConfigLoader.Defaults() : ConfigLoader.LoadFile(configPath);
        if (listen is { Length: > 0 })
            settings.Listen = listen.Select(l => Flag("--listen", () => ListenAddress.Parse(l))).ToList();
        if (rootHints is not null) settings.RootHints = rootHints;
        if (trustAnchor is not null) settings.TrustAnchorFile = trustAnchor;
        if (cacheSize is not null) settings.CacheSizeBytes = Flag("--cache-size", () => ConfigLoader.ParseSize(cacheSize));
        if (allow is { Length: > 0 })
        {
            foreach (var network in allow) Flag("--allow", () => Server.Pipeline.AccessList.ParseNetwork(network));
            settings.Allow = [.. allow];
        }
        return settings;
    }

    internal static T Flag<T>(string flag, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (FormatException e)
        {
            throw new ConfigException($"{flag}: {e.Message}");
        }
    }

    /// <summary>
    /// Serves until <paramref name="cancellationToken"/> fires, then drains. 0 on a clean stop, 1 when it cannot start.
    /// SIGHUP, a change of <paramref name="watchPath"/> and the control API's <c>POST /reload</c> reload the
    /// configuration from <paramref name="configSource"/>.
    /// </summary>
    internal static async Task<int> RunAsync(ServerConfig settings, TextWriter error, CancellationToken cancellationToken, Action<ResolverHost>? started = null,
        Func<ServerConfig>? configSource = null, string? watchPath = null)
    {
        // The level lives in a switch so that a reload can change it (log.level).
        var logLevel = new LogLevelSwitch(settings.LogLevel);
        using var loggerFactory = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(LogLevel.Trace)
            .AddFilter((_, _, level) => logLevel.Allows(level))
            .AddSimpleConsole(console => { console.SingleLine = true; console.TimestampFormat = "HH:mm:ss "; }));
        ResolverHost? host = null;
        PluginManager? plugins = null;
        Cluster.ClusterNode? cluster = null;
        try
        {
            // The whole stack comes from the configuration (ResolverHost.Create → ResolverStackBuilder), as it does for resolve and reloads.
            host = ResolverHost.Create(settings, loggerFactory, logLevel);
            host.ConfigSource = configSource;
            // Plugins load before the listeners open, so the first query already passes through them.
            plugins = await PluginManager.AttachAsync(host, loggerFactory, cancellationToken);
            // The hot paths compiled before the first client (resolver.warm-up); never stops the start.
            await host.WarmUpAsync(cancellationToken);
            await host.StartAsync();
            // [cluster]: misses go to the peer that owns the name (null when sharing is off).
            cluster = await Cluster.ClusterNode.StartAsync(settings, host.Pipeline, loggerFactory);
        }
        catch (Exception e) when (e is ConfigException or ListenerBindException)
        {
            await error.WriteLineAsync($"ananas serve: {e.Message}");
            if (plugins is not null) await plugins.DisposeAsync();
            if (cluster is not null) await cluster.DisposeAsync();
            if (host is not null) await host.DisposeAsync();
            return 1;
        }
        started?.Invoke(host);
        // SIGHUP reloads (its default would end the process). The reload logs its own outcome.
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            _ = host.ReloadAsync("SIGHUP");
        });
        using var watcher = watchPath is null ? null : new ConfigFileWatcher(watchPath, () => _ = host.ReloadAsync("file changed"));
        await StopSignals.WaitAsync(cancellationToken);
        if (cluster is not null) await cluster.DisposeAsync();
        await host.StopAsync(DrainTimeout);
        if (plugins is not null) await plugins.DisposeAsync();
        return 0;
    }
}

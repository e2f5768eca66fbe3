using System.Collections.Concurrent;
using Ananas.Sandbox;
using Ananas.Sandbox.Crypto;
using Ananas.Sandbox.Data;
using Ananas.Server;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Ananas.Server.Pipeline;
using Microsoft.Extensions.Logging;

namespace Ananas.Cli.Plugins;

/// <summary>
/// The configured plugins of a running server: loads them into a <see cref="PluginHost"/>, installs them in the
/// pipeline as one phase handler, and serves <see cref="IPluginControl"/> (list, reload one, apply a reloaded
/// configuration). Loads and reloads are serialised; queries never wait for them (hot swap).
/// </summary>
public sealed class PluginManager : IPluginControl, IAsyncDisposable
{
    private readonly PluginHost _host;
    private readonly QueryPipeline _pipeline;
    private readonly PluginPhaseHandler _handler;
    private readonly PluginFrameHandler _frames;
    // Key sets outlive plugin versions: a reload keeps the keys (clients hold their configurations) unless the
    // HPKE settings changed.
    private readonly Dictionary<string, (string Settings, HpkeKeySet Keys)> _keySets = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentDictionary<string, long> _quarantines = new(StringComparer.Ordinal);
    private Dictionary<string, PluginConfig> _configs = new(StringComparer.Ordinal);

    public PluginManager(QueryPipeline pipeline, ILoggerFactory loggerFactory, PluginHostOptions? options = null)
    {
        _pipeline = pipeline;
        _logger = loggerFactory.CreateLogger("Ananas.Plugins");
        _host = new PluginHost(loggerFactory.CreateLogger("Ananas.Sandbox"), options);
        _host.Faulted += fault =>
        {
            if (fault.Quarantined) _quarantines.AddOrUpdate(fault.Plugin, 1, (_, n) => n + 1);
        };
        _handler = new PluginPhaseHandler(_host, () => pipeline.Options.ResolveTimeout);
        _frames = new PluginFrameHandler(_host);
    }

    public PluginHost Host => _host;

    /// <summary>The HPKE key set of plugin <paramref name="name"/>, if it has one (operators rotate through it; tests too).</summary>
    public HpkeKeySet? KeysOf(string name) => _keySets.TryGetValue(name, out var kept) ? kept.Keys : null;

    /// <summary>
    /// Loads the host's configured plugins (none is fine) into its pipeline and sets <see cref="ResolverHost.Plugins"/>,
    /// so that a reload can add the first plugin as well as remove the last. Throws <see cref="ConfigException"/>
    /// naming the plugin that did not load.
    /// </summary>
    public static async Task<PluginManager> AttachAsync(ResolverHost host, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        var plugins = await AttachAsync(host.Pipeline, host.Config, loggerFactory, cancellationToken).ConfigureAwait(false);
        host.Plugins = plugins;
        return plugins;
    }

    /// <summary>Loads the configured plugins into <paramref name="pipeline"/> (the authoritative role's host has no reload).</summary>
    public static async Task<PluginManager> AttachAsync(QueryPipeline pipeline, ServerConfig config, ILoggerFactory loggerFactory,
        CancellationToken cancellationToken = default)
    {
        var configured = config.Plugins;
        var plugins = new PluginManager(pipeline, loggerFactory, HostOptions(config));
        try
        {
            await plugins.LoadAsync(configured, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await plugins.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return plugins;
    }

    /// <summary>
    /// The sandbox settings that come from the server's configuration: with <c>plugins.tls-cert-bundle</c>, guests'
    /// HTTPS requests (HTTP/2 preferred, as by default) trust that bundle's certificates instead of the system's.
    /// </summary>
    public static PluginHostOptions HostOptions(ServerConfig config)
    {
        if (config.PluginTlsCertBundle.Length == 0) return new PluginHostOptions();
        var policy = new System.Security.Cryptography.X509Certificates.X509ChainPolicy
        {
            TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust,
            RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(UpstreamSettings.LoadBundle("plugins.tls-cert-bundle", config.PluginTlsCertBundle));
        var handler = new SocketsHttpHandler
        {
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions { CertificateChainPolicy = policy },
        };
        return new PluginHostOptions
        {
            HttpClient = new HttpClient(handler) { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower },
        };
    }

    /// <summary>Loads the configured plugins at startup; the first that fails stops the start with a <see cref="ConfigException"/>.</summary>
    public async Task LoadAsync(IReadOnlyList<PluginConfig> plugins, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var plugin in plugins)
            {
                try
                {
                    await _host.LoadAsync(Definition(plugin), cancellationToken).ConfigureAwait(false);
                }
                catch (PluginLoadException e)
                {
                    throw new ConfigException($"{plugin.Source}: plugin {plugin.Name}: {e.Message}");
                }
                _configs[plugin.Name] = plugin;
            }
            Install();
        }
        finally
        {
            _gate.Release();
        }
    }

    public IReadOnlyList<PluginReport> List()
    {
        var list = new List<PluginReport>();
        foreach (var s in _host.Snapshot())
        {
            list.Add(new PluginReport(s.Name, s.Version, s.ModuleSha256, s.Instances, s.Calls, s.Faults,
                _quarantines.GetValueOrDefault(s.Name), s.Quarantined, s.TotalTime.TotalSeconds, s.Counters));
        }
        return list;
    }

    public async Task<PluginReport> ReloadAsync(string name, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_configs.TryGetValue(name, out var plugin)) throw new KeyNotFoundException(name);
            await SwapAsync(plugin, cancellationToken).ConfigureAwait(false);
            Install();
        }
        finally
        {
            _gate.Release();
        }
        return List().First(r => r.Name == name);
    }

    public async Task ReloadAsync(IReadOnlyList<PluginConfig> plugins, CancellationToken cancellationToken = default)
    {
        var errors = new List<string>();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var listed = plugins.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var name in _configs.Keys.Where(n => !listed.Contains(n)).ToList())
            {
                _host.Unload(name);
                _configs.Remove(name);
            }
            foreach (var plugin in plugins)
            {
                try
                {
                    await SwapAsync(plugin, cancellationToken).ConfigureAwait(false);
                    _configs[plugin.Name] = plugin;
                }
                catch (InvalidOperationException e)
                {
                    errors.Add(e.Message);
                }
            }
            Install();
        }
        finally
        {
            _gate.Release();
        }
        if (errors.Count > 0) throw new InvalidOperationException(string.Join(Environment.NewLine, errors));
    }

    /// <summary>Loads a new version; a failure leaves the old one serving and is reported as <see cref="InvalidOperationException"/>.</summary>
    private async Task SwapAsync(PluginConfig plugin, CancellationToken cancellationToken)
    {
        try
        {
            var status = await _host.LoadAsync(Definition(plugin), cancellationToken).ConfigureAwait(false);
            _quarantines.TryRemove(plugin.Name, out _);
            _logger.LogInformation(ServerEvents.PluginLoaded, "plugin {Plugin} is now version {Version}", plugin.Name, status.Version);
        }
        catch (PluginLoadException e)
        {
            _logger.LogError(ServerEvents.PluginLoadFailed, "plugin {Plugin}: the new version did not load, the old one keeps serving: {Error}", plugin.Name, e.Message);
            throw new InvalidOperationException($"plugin {plugin.Name}: {e.Message}", e);
        }
    }

    /// <summary>Puts the handler in the pipeline for the phases loaded plugins registered (none: no handler, no cost).</summary>
    private void Install()
    {
        _pipeline.SetHandlers(_host.Snapshot().Count > 0 ? [_handler] : []);
        _pipeline.HttpFrames = _host.HasCallbacks(PluginPhase.Frame) ? _frames : null;
    }

    /// <summary>The plugin's HPKE key set (docs/plugins.md, "Cryptography"): kept across reloads while its settings stay the same.</summary>
    private HpkeKeySet? KeysFor(PluginConfig plugin)
    {
        if (plugin.HpkeAead.Length == 0)
        {
            _keySets.Remove(plugin.Name);
            return null;
        }
        string settings = $"{plugin.HpkeAead}|{plugin.HpkeKeyRotation}|{plugin.HpkeKeyGrace}|{plugin.HpkeKeySeed}";
        if (_keySets.TryGetValue(plugin.Name, out var kept) && kept.Settings == settings) return kept.Keys;
        var aead = plugin.HpkeAead == "chacha20-poly1305" ? HpkeAead.ChaCha20Poly1305 : HpkeAead.Aes128Gcm;
        byte[]? seed = plugin.HpkeKeySeed.Length > 0 ? Convert.FromHexString(plugin.HpkeKeySeed) : null;
        HpkeKeySet keys;
        try
        {
            keys = new HpkeKeySet(aead, plugin.HpkeKeyRotation, plugin.HpkeKeyGrace, seed);
        }
        catch (ArgumentException e)
        {
            throw new PluginLoadException($"hpke-aead: {e.Message}", e);
        }
        _keySets[plugin.Name] = (settings, keys);
        return keys;
    }

    private PluginDefinition Definition(PluginConfig plugin) => new()
    {
        HpkeKeys = KeysFor(plugin),
        HttpAllowList = plugin.HttpAllow,
        SocketAllowList = plugin.SocketAllow,
        SocketBytesPerCallback = plugin.SocketBytesPerCallback,
        SocketTimeout = plugin.SocketTimeout,
        Name = plugin.Name,
        ModulePath = plugin.Module,
        Args = plugin.Args,
        MemoryLimitBytes = plugin.MemoryLimitBytes,
        CpuBudget = plugin.CpuBudget,
        MaxInstances = plugin.MaxInstances,
        QuarantineAfter = plugin.QuarantineAfter,
        DataTables = plugin.Data.Select(kv => DataTableSpec.Parse(kv.Key, kv.Value)).ToList(),
    };

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}

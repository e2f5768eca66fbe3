using Ananas.Server.Configuration;

namespace Ananas.Server.Hosting;

/// <summary>
/// What the server needs from the plugin runtime, which lives in the host (src/Ananas, on Ananas.Sandbox): list,
/// reload one, apply a new <c>[[plugin]]</c> list (a configuration reload), metrics. The server project stays
/// free of WebAssembly: it sees plugins as phase handlers plus this.
/// </summary>
public interface IPluginControl
{
    /// <summary>Every loaded plugin's current version, in the order their phases run.</summary>
    IReadOnlyList<PluginReport> List();

    /// <summary>
    /// Loads the module of plugin <paramref name="name"/> again from its configured path (a hot swap: new
    /// queries go to the new version, queries running on the old one finish there). Throws
    /// <see cref="KeyNotFoundException"/> for an unknown name and <see cref="InvalidOperationException"/> when
    /// the new version does not load (the old one keeps serving).
    /// </summary>
    Task<PluginReport> ReloadAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies a reloaded configuration's plugins: every listed plugin is (re)loaded by hot swap, plugins no
    /// longer listed are unloaded. A plugin that fails to load keeps its old version; the errors are thrown
    /// together (<see cref="InvalidOperationException"/>) after every plugin was tried.
    /// </summary>
    Task ReloadAsync(IReadOnlyList<PluginConfig> plugins, CancellationToken cancellationToken = default);
}

/// <summary>One plugin for <c>ananas plugin list</c> and metrics.</summary>
public sealed record PluginReport(
    string Name,
    int Version,
    string ModuleSha256,
    int Instances,
    long Calls,
    long Faults,
    long Quarantines,
    bool Quarantined,
    double TotalSeconds,
    IReadOnlyList<KeyValuePair<string, long>> Counters);

namespace Ananas.Server.Configuration;

/// <summary>
/// One <c>[[plugin]]</c> of the configuration (docs/plugins.md, "Limits and configuration"): a WebAssembly
/// module with its arguments, limits and host data tables. Plain data: the host (src/Ananas) turns it into a
/// loaded plugin, so this project needs no WebAssembly runtime.
/// </summary>
public sealed record PluginConfig
{
    public string Name { get; set; } = "";

    /// <summary>Path of the .wasm module.</summary>
    public string Module { get; set; } = "";

    /// <summary>Passed to the guest's start function.</summary>
    public string Args { get; set; } = "";

    public long MemoryLimitBytes { get; set; } = 16L << 20;

    /// <summary>CPU per callback invocation.</summary>
    public TimeSpan CpuBudget { get; set; } = TimeSpan.FromMilliseconds(1);

    public int MaxInstances { get; set; } = 16;

    /// <summary>Faults in a row after which the plugin is skipped until reloaded.</summary>
    public int QuarantineAfter { get; set; } = 5;

    /// <summary>Host data tables: table name → <c>format:path</c> or a path (format from the extension).</summary>
    public Dictionary<string, string> Data { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Where the <c>[[plugin]]</c> header is (for errors found when the plugin loads).</summary>
    public string Source { get; set; } = "";

    public PluginConfig Copy() => this with { Data = new Dictionary<string, string>(Data, StringComparer.Ordinal) };
}

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

    /// <summary>Gives the plugin a host-held HPKE key set with this AEAD (aes-128-gcm, chacha20-poly1305); empty: no keys.</summary>
    public string HpkeAead { get; set; } = "";

    /// <summary>A new key after this long (0: never).</summary>
    public TimeSpan HpkeKeyRotation { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long a replaced key still decrypts.</summary>
    public TimeSpan HpkeKeyGrace { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Hex seed the first key is derived from (DeriveKeyPair; test setups); empty: random.</summary>
    public string HpkeKeySeed { get; set; } = "";

    /// <summary>Origins the guest may POST to (http_post_start).</summary>
    public List<string> HttpAllow { get; set; } = [];

    /// <summary>Socket destinations the guest may open (<c>udp://ip:port</c>, <c>tcp://ip:port</c>).</summary>
    public List<string> SocketAllow { get; set; } = [];

    /// <summary>Bytes a callback may send plus receive over sockets.</summary>
    public int SocketBytesPerCallback { get; set; } = 64 * 1024;

    /// <summary>How long a callback's sockets may take in all.</summary>
    public TimeSpan SocketTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Where the <c>[[plugin]]</c> header is (for errors found when the plugin loads).</summary>
    public string Source { get; set; } = "";

    public PluginConfig Copy() => this with { Data = new Dictionary<string, string>(Data, StringComparer.Ordinal), HttpAllow = [.. HttpAllow], SocketAllow = [.. SocketAllow] };
}

using Ananas.Sandbox.Data;

namespace Ananas.Sandbox;

/// <summary>The points in a query's life where guests run (docs/plugins.md, "Phases"). 0 is reserved for the host.</summary>
public enum PluginPhase : byte
{
    Request = 1,
    CacheLookup,
    BeforeRecursion,
    Upstream,
    Resolved,
    Response,
    /// <summary>An HTTP request on the DoH listener the server does not serve itself (docs/plugins.md, "The frame phase").</summary>
    Frame,
    /// <summary>Periodic tasks registered by the start function (register_periodic), without a query.</summary>
    Background,
}

/// <summary>What the plugins decided for one phase (callback results 0–3).</summary>
public enum PluginVerdict
{
    /// <summary>No opinion: the query carries on.</summary>
    Continue = 0,
    /// <summary>Answer with <see cref="PluginCallContext.Response"/>.</summary>
    Answer = 1,
    /// <summary>Answer REFUSED.</summary>
    Refuse = 2,
    /// <summary>Send nothing.</summary>
    Drop = 3,
}

/// <summary>How a callback's CPU budget is enforced. Both are Wasmtime mechanisms; see docs/plugins.md for their cost.</summary>
public enum CpuLimiter
{
    /// <summary>Fuel: deterministic instruction counting, set before each callback.</summary>
    Fuel,
    /// <summary>Epoch interruption: a host thread ticks the engine's epoch every millisecond.</summary>
    Epoch,
}

/// <summary>Engine-wide settings of a <see cref="PluginHost"/>.</summary>
public sealed record PluginHostOptions
{
    public CpuLimiter CpuLimiter { get; init; } = CpuLimiter.Fuel;

    /// <summary>
    /// Fuel units (about one per wasm instruction) per millisecond of CPU budget. Calibrated with
    /// `Ananas.Benchmarks sandbox-budget`: a runaway loop burns about 5 million units per millisecond here.
    /// </summary>
    public long FuelPerMillisecond { get; init; } = 5_000_000;

    /// <summary>Longest timer a guest may start; longer requests get -2 (invalid argument).</summary>
    public TimeSpan MaxTimer { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Guest log lines per second per plugin version; the rest are counted and dropped.</summary>
    public int LogLinesPerSecond { get; init; } = 50;

    /// <summary>The client guests' http_post_start requests go through (tests trust their own certificate here); null: a default HTTP/2 client.</summary>
    public HttpClient? HttpClient { get; init; }

    /// <summary>
    /// Benchmark only: the design alternative to the request region, where the guest asks for each field with a
    /// hostcall (import module <c>ananas_fields</c>, see <see cref="Hostcalls.DefineFieldHostcalls"/>) and the host
    /// skips writing the region. Not part of the ABI.
    /// </summary>
    internal bool FieldHostcallsForBenchmark { get; init; }
}

/// <summary>One plugin as configured (docs/plugins.md, "Limits and configuration").</summary>
public sealed record PluginDefinition
{
    public required string Name { get; init; }

    /// <summary>Path of the .wasm module; ignored when <see cref="ModuleBytes"/> is set.</summary>
    public string? ModulePath { get; init; }

    /// <summary>The module itself (tests, or a module already read).</summary>
    public ReadOnlyMemory<byte>? ModuleBytes { get; init; }

    /// <summary>Passed to the guest's start function as UTF-8.</summary>
    public string Args { get; init; } = "";

    public long MemoryLimitBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>CPU per callback invocation, not counting time pending on host operations.</summary>
    public TimeSpan CpuBudget { get; init; } = TimeSpan.FromMilliseconds(1);

    public int MaxInstances { get; init; } = 16;

    /// <summary>Faults in a row after which the plugin is skipped until reloaded.</summary>
    public int QuarantineAfter { get; init; } = 5;

    /// <summary>Host data tables the guest reads with data_match_suffix / data_get.</summary>
    public IReadOnlyList<DataTableSpec> DataTables { get; init; } = [];

    /// <summary>The HPKE keys the guest may use by key id (hpke_* hostcalls); null: none.</summary>
    public Crypto.HpkeKeySet? HpkeKeys { get; init; }

    /// <summary>Origins (<c>https://host:port</c>) the guest may send HTTP requests to with http_post_start; empty: none.</summary>
    public IReadOnlyList<string> HttpAllowList { get; init; } = [];

    /// <summary>Destinations the guest may open sockets to, as <c>udp://ip:port</c> or <c>tcp://ip:port</c>; empty: none.</summary>
    public IReadOnlyList<string> SocketAllowList { get; init; } = [];

    /// <summary>Bytes a callback may send plus receive over its sockets; beyond, socket calls return -4.</summary>
    public int SocketBytesPerCallback { get; init; } = 64 * 1024;

    /// <summary>How long a callback's sockets live: every pending socket operation fails after this.</summary>
    public TimeSpan SocketTimeout { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>What <see cref="PluginHost.Snapshot"/> reports for one plugin (its current version).</summary>
public sealed record PluginStatus(
    string Name,
    int Version,
    string ModuleSha256,
    int Instances,
    long Calls,
    long Faults,
    bool Quarantined,
    TimeSpan TotalTime,
    IReadOnlyList<KeyValuePair<string, long>> Counters)
{
    public TimeSpan AverageTime => Calls == 0 ? TimeSpan.Zero : TotalTime / Calls;
}

/// <summary>A module the host refused to load: bad wasm, an ABI mismatch, or a start function that failed.</summary>
public sealed class PluginLoadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Raised when a plugin is quarantined or faults; for metrics and alerts.</summary>
public readonly record struct PluginFault(string Plugin, int Version, PluginPhase Phase, string Reason, int InARow, bool Quarantined);

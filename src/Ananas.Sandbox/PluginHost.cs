using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wasmtime;

namespace Ananas.Sandbox;

/// <summary>
/// Runs WebAssembly plugins (docs/plugins.md): loads and hot-swaps them, and invokes the callbacks they
/// registered for a phase. One Wasmtime engine and one linker (the hostcalls) for all plugins; each plugin
/// version compiles its module once and leases instances from its own pool. The engine, its epoch ticker and the
/// guests' HTTP client are made by the first load: a server without plugins never loads Wasmtime's native
/// library (about 8 MiB of RSS) nor, with the epoch limiter, wakes a thread every millisecond.
/// </summary>
public sealed class PluginHost : IDisposable, IAsyncDisposable
{
    /// <summary>The epoch tick when <see cref="CpuLimiter.Epoch"/> is used.</summary>
    public static readonly TimeSpan EpochTick = TimeSpan.FromMilliseconds(1);

    /// <summary>A loaded plugin: its current version (replaced by a hot swap) in load order.</summary>
    private sealed class Slot(string name)
    {
        public string Name { get; } = name;
        public volatile PluginVersion? Current;
        public int LastVersion;
    }

    /// <summary>A compiled module shared by every loaded version with the same bytes.</summary>
    private sealed class CompiledModule(Module module)
    {
        public Module Module { get; } = module;
        public int Users;
    }

    private readonly object _gate = new();
    private readonly Dictionary<string, CompiledModule> _modules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Slot> _byName = new(StringComparer.Ordinal);
    private volatile Slot[] _slots = [];
    private volatile int _phaseMask;
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private volatile WasmRuntime? _runtime;
    private HttpClient? _httpClient;
    private volatile bool _disposed;

    internal Engine Engine => Runtime.Engine;
    internal Linker Linker => Runtime.Linker;
    internal ILogger Logger { get; }
    internal PluginHostOptions Options { get; }

    /// <summary>The client of http_post_start (HTTP/2 preferred).</summary>
    internal HttpClient HttpClient => _httpClient ?? CreateHttpClient();

    /// <summary>True once the first plugin load (or a test) made the Wasmtime engine.</summary>
    internal bool EngineCreated => _runtime is not null;

    /// <summary>The engine, the linker with the hostcalls, and the epoch ticker: made once, on first use.</summary>
    private sealed class WasmRuntime(Engine engine, Linker linker, Thread? epochTicker)
    {
        public Engine Engine { get; } = engine;
        public Linker Linker { get; } = linker;
        public Thread? EpochTicker { get; } = epochTicker;
    }
    internal TimeSpan DataPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Milliseconds since the host started (the clock of the region's arrival time and monotonic_ms).</summary>
    public long MonotonicMilliseconds => (long)Stopwatch.GetElapsedTime(_startTimestamp).TotalMilliseconds;

    /// <summary>A <see cref="Stopwatch.GetTimestamp"/> value on the host's clock, in milliseconds (no clock read).</summary>
    public long MillisecondsAt(long timestamp) => (long)Stopwatch.GetElapsedTime(_startTimestamp, timestamp).TotalMilliseconds;

    /// <summary>Every fault of every plugin (also the one that quarantines it), for metrics.</summary>
    public event Action<PluginFault>? Faulted;

    public PluginHost(ILogger? logger = null, PluginHostOptions? options = null)
    {
        Logger = logger ?? NullLogger.Instance;
        Options = options ?? new PluginHostOptions();
    }

    private WasmRuntime Runtime => _runtime ?? CreateRuntime();

    private WasmRuntime CreateRuntime()
    {
        lock (_gate)
        {
            if (_runtime is { } made) return made;
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var config = new Config();
            if (Options.CpuLimiter == CpuLimiter.Fuel) config.WithFuelConsumption(true);
            else config.WithEpochInterruption(true);
            var engine = new Engine(config);
            var linker = new Linker(engine);
            Hostcalls.Define(linker);
            HpkeHostcalls.Define(linker);
            FrameHostcalls.Define(linker);
            SocketHostcalls.Define(linker);
            BackgroundHostcalls.Define(linker);
            TraceHostcalls.Define(linker);
            if (Options.FieldHostcallsForBenchmark) Hostcalls.DefineFieldHostcalls(linker);
            Thread? ticker = null;
            if (Options.CpuLimiter == CpuLimiter.Epoch)
            {
                ticker = new Thread(() => TickEpochs(engine)) { IsBackground = true, Name = "wasm epoch ticker" };
                ticker.Start();
            }
            _runtime = new WasmRuntime(engine, linker, ticker);
            return _runtime;
        }
    }

    private HttpClient CreateHttpClient()
    {
        if (Options.HttpClient is { } given) return _httpClient = given;
        var client = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower };
        var raced = Interlocked.CompareExchange(ref _httpClient, client, null);
        if (raced is null) return client;
        client.Dispose();
        return raced;
    }

    private void TickEpochs(Engine engine)
    {
        while (!_disposed)
        {
            Thread.Sleep(EpochTick);
            engine.IncrementEpoch();
        }
    }

    /// <summary>
    /// Loads a plugin, or hot-swaps it when one of that name is loaded: the new version is compiled, checked and
    /// started first; then new calls go to it while calls already running finish on the old version, which is
    /// freed after its last call. A module that fails to load leaves the old version in place.
    /// </summary>
    public async Task<PluginStatus> LoadAsync(PluginDefinition definition, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int number;
        Slot loading;
        lock (_gate)
        {
            if (!_byName.TryGetValue(definition.Name, out loading!))
            {
                loading = new Slot(definition.Name);
                _byName.Add(definition.Name, loading);
            }
            number = ++loading.LastVersion;
        }
        // Compiling is CPU work of tens of milliseconds: keep it off the caller's thread.
        PluginVersion version;
        try
        {
            version = await Task.Run(() => PluginVersion.Create(this, definition, number), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // A first load that fails leaves no trace of the name.
            lock (_gate)
            {
                if (loading.Current is null && _byName.TryGetValue(definition.Name, out var slot) && slot == loading) _byName.Remove(definition.Name);
            }
            throw;
        }
        PluginVersion? old;
        lock (_gate)
        {
            // Unloaded meanwhile: this load brings the plugin back.
            if (!_byName.TryGetValue(definition.Name, out var slot))
            {
                slot = loading;
                _byName.Add(definition.Name, slot);
            }
            old = slot.Current;
            if (old is not null && slot == loading && old.Number > number)
            {
                // Two loads raced and the later one finished first: it stays current.
                version.Release();
                Logger.LogInformation("plugin {Plugin} version {Version} discarded: version {Newer} was loaded after it", definition.Name, number, old.Number);
                return old.Status();
            }
            slot.Current = version;
            if (Array.IndexOf(_slots, slot) < 0) _slots = [.. _slots, slot];
            RecomputePhaseMask();
        }
        // Background tasks belong to the current version: the old one's stop now, the new one's start.
        old?.StopBackground();
        version.StartBackground();
        old?.Release();
        Logger.LogInformation("plugin {Plugin} version {Version} loaded (sha256 {Hash}, phases {Phases}){Swap}",
            definition.Name, number, version.Sha256[..16], PhaseList(version.PhaseMask), old is null ? "" : $"; replaced version {old.Number}");
        return version.Status();
    }

    /// <summary>Removes a plugin; calls running on it finish first. False when no plugin has that name.</summary>
    public bool Unload(string name)
    {
        PluginVersion? old;
        lock (_gate)
        {
            if (!_byName.Remove(name, out var slot)) return false;
            old = slot.Current;
            slot.Current = null;
            _slots = [.. _slots.Where(s => s != slot)];
            RecomputePhaseMask();
        }
        old?.StopBackground();
        old?.Release();
        Logger.LogInformation("plugin {Plugin} unloaded", name);
        return true;
    }

    /// <summary>Whether any loaded, unquarantined plugin has a callback for the phase (a caller skips the call otherwise).</summary>
    public bool HasCallbacks(PluginPhase phase) => (_phaseMask & (1 << (int)phase)) != 0;

    /// <summary>
    /// Runs every plugin registered for the phase, in load order, stopping at the first verdict other than
    /// <see cref="PluginVerdict.Continue"/>. Allocates nothing unless a callback awaits a host operation.
    /// Cancelling abandons pending callbacks (they count as <see cref="PluginVerdict.Continue"/>).
    /// </summary>
    public ValueTask<PluginVerdict> InvokeAsync(PluginPhase phase, PluginCallContext context, CancellationToken cancellationToken = default)
    {
        if (!HasCallbacks(phase)) return new(PluginVerdict.Continue);
        // Synchronously while every plugin completes synchronously (the usual case: no state machine); from the
        // first that awaits, the rest runs in InvokeFromAsync.
        var slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (Acquire(slots[i], phase) is not { } version) continue;
            ValueTask<PluginVerdict> running;
            try
            {
                running = version.RunAsync(phase, context, cancellationToken);
            }
            catch
            {
                version.Release();
                throw;
            }
            if (!running.IsCompleted) return InvokeFromAsync(slots, i, version, running, phase, context, cancellationToken);
            PluginVerdict verdict;
            try { verdict = running.Result; }
            finally { version.Release(); }
            if (verdict != PluginVerdict.Continue) return new(verdict);
        }
        return new(PluginVerdict.Continue);
    }

    /// <summary>The rest of <see cref="InvokeAsync"/> once plugin <paramref name="index"/> awaits (it holds a reference to its version).</summary>
    private async ValueTask<PluginVerdict> InvokeFromAsync(Slot[] slots, int index, PluginVersion version, ValueTask<PluginVerdict> running,
        PluginPhase phase, PluginCallContext context, CancellationToken cancellationToken)
    {
        while (true)
        {
            PluginVerdict verdict;
            try { verdict = await running.ConfigureAwait(false); }
            finally { version.Release(); }
            if (verdict != PluginVerdict.Continue) return verdict;
            PluginVersion? next = null;
            while (next is null && ++index < slots.Length) next = Acquire(slots[index], phase);
            if (next is null) return PluginVerdict.Continue;
            version = next;
            try
            {
                running = version.RunAsync(phase, context, cancellationToken);
            }
            catch
            {
                version.Release();
                throw;
            }
        }
    }

    /// <summary>The slot's current version with a reference taken, if it is to run for the phase; else null (nothing held).</summary>
    private static PluginVersion? Acquire(Slot slot, PluginPhase phase)
    {
        var version = slot.Current;
        // A swap can retire the version we read; its successor is already current, so read again.
        while (version is not null && !version.TryAcquire()) version = slot.Current;
        if (version is null) return null;
        if (!version.Quarantined && version.Handles(phase)) return version;
        version.Release();
        return null;
    }

    /// <summary>The current version of every loaded plugin, in load order.</summary>
    public IReadOnlyList<PluginStatus> Snapshot()
    {
        var list = new List<PluginStatus>();
        foreach (var slot in _slots)
        {
            var version = slot.Current;
            if (version is null || !version.TryAcquire()) continue;
            try { list.Add(version.Status()); }
            finally { version.Release(); }
        }
        return list;
    }

    /// <summary>
    /// The compiled module for these bytes: compiled once, shared while any version uses it, so reloading the
    /// same module with new arguments or tables (or `plugin reload` of an unchanged file) skips compilation.
    /// </summary>
    internal Module AcquireModule(string sha256, byte[] bytes, string name)
    {
        lock (_gate)
        {
            if (_modules.TryGetValue(sha256, out var cached))
            {
                cached.Users++;
                return cached.Module;
            }
        }
        var module = Module.FromBytes(Engine, name, bytes);
        lock (_gate)
        {
            if (_modules.TryGetValue(sha256, out var raced))
            {
                module.Dispose();
                raced.Users++;
                return raced.Module;
            }
            _modules[sha256] = new CompiledModule(module) { Users = 1 };
            return module;
        }
    }

    /// <summary>Distinct compiled modules held (for tests).</summary>
    internal int CompiledModuleCount
    {
        get { lock (_gate) return _modules.Count; }
    }

    internal void ReleaseModule(string sha256)
    {
        Module? unused = null;
        lock (_gate)
        {
            if (_modules.TryGetValue(sha256, out var cached) && --cached.Users == 0)
            {
                _modules.Remove(sha256);
                unused = cached.Module;
            }
        }
        unused?.Dispose();
    }

    internal void OnFault(PluginVersion version, PluginFault fault)
    {
        if (fault.Quarantined)
        {
            lock (_gate) RecomputePhaseMask();
        }
        Faulted?.Invoke(fault);
    }

    private void RecomputePhaseMask()
    {
        int mask = 0;
        foreach (var slot in _slots)
        {
            if (slot.Current is { Quarantined: false } v) mask |= v.PhaseMask;
        }
        _phaseMask = mask;
    }

    /// <summary>The phase's name in docs/plugins.md and in log lines.</summary>
    public static string PhaseName(PluginPhase phase) => phase switch
    {
        PluginPhase.Request => "request",
        PluginPhase.CacheLookup => "cache_lookup",
        PluginPhase.BeforeRecursion => "before_recursion",
        PluginPhase.Upstream => "upstream",
        PluginPhase.Resolved => "resolved",
        PluginPhase.Response => "response",
        PluginPhase.Frame => "frame",
        PluginPhase.Background => "background",
        _ => ((int)phase).ToString(),
    };

    private static string PhaseList(int mask)
    {
        var names = new List<string>();
        for (int p = 1; p <= (int)PluginPhase.Background; p++)
        {
            if ((mask & (1 << p)) != 0) names.Add(PhaseName((PluginPhase)p));
        }
        return names.Count == 0 ? "none" : string.Join(", ", names);
    }

    public void Dispose()
    {
        if (_disposed) return;
        Slot[] slots;
        lock (_gate)
        {
            _disposed = true;
            slots = _slots;
            _slots = [];
            _byName.Clear();
            _phaseMask = 0;
        }
        foreach (var slot in slots)
        {
            var old = slot.Current;
            slot.Current = null;
            old?.StopBackground();
            old?.Release();
        }
        _runtime?.EpochTicker?.Join();
        // The engine and linker stay alive until versions still serving calls are freed: the finalizers of
        // Wasmtime's handles release them once nothing references the host.
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}

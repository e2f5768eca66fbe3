using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Ananas.Sandbox.Data;
using Microsoft.Extensions.Logging;
using Wasmtime;

namespace Ananas.Sandbox;

/// <summary>
/// One loaded version of a plugin: its compiled module (shared with other versions of the same bytes), its data tables, its pool of instances, its
/// statistics and fault state. Reference-counted: the host holds one reference while the version is current
/// and every call holds one while it runs, so a version replaced by a hot swap is freed after its last call.
/// </summary>
internal sealed partial class PluginVersion
{
    private readonly Module _module;
    private readonly WatchedDataTable[] _tables;
    private readonly int[][] _callbacks = new int[(int)PluginPhase.Background + 1][];
    // The pool: a lease per running call (at most MaxInstances), and idle instances in slots taken and returned
    // with one atomic exchange each (a call holds a lease, so there is always a free slot to return to).
    private readonly LeaseGate _leases;
    private readonly PluginInstance?[] _idle;
    private int _live;
    private int _references = 1;
    private long _calls, _faults, _ticks, _logWindow, _logCount, _logDropped;
    private int _faultsInARow;
    private volatile bool _quarantined;

    public PluginHost Host { get; }

    public PluginDefinition Definition { get; }

    public int Number { get; }

    public string Sha256 { get; }

    public GuestCounters Counters { get; } = new();

    /// <summary>The tracing span names this version used (span_start).</summary>
    internal SpanNames SpanNames { get; } = new();

    /// <summary>Bit n set: the plugin registered a callback for phase n.</summary>
    public int PhaseMask { get; }

    public long FuelPerCallback { get; }

    public long EpochTicksPerCallback { get; }

    public bool Quarantined => _quarantined;

    private PluginVersion(PluginHost host, PluginDefinition definition, int number, byte[] bytes)
    {
        Host = host;
        Definition = definition;
        Number = number;
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        double budgetMs = Math.Max(definition.CpuBudget.TotalMilliseconds, 0.001);
        FuelPerCallback = Math.Max(1, (long)(budgetMs * host.Options.FuelPerMillisecond));
        EpochTicksPerCallback = (long)Math.Ceiling(budgetMs / PluginHost.EpochTick.TotalMilliseconds) + 1;
        _leases = new LeaseGate(Math.Max(1, definition.MaxInstances));
        _idle = new PluginInstance?[Math.Max(1, definition.MaxInstances)];

        try
        {
            _module = host.AcquireModule(Sha256, bytes, definition.Name);
        }
        catch (WasmtimeException e)
        {
            throw new PluginLoadException($"plugin {definition.Name}: not a valid WebAssembly module: {FirstLine(e.Message)}", e);
        }
        var problems = AbiCheck.Problems(_module, host.Options.FieldHostcallsForBenchmark);
        if (problems.Count > 0)
        {
            host.ReleaseModule(Sha256);
            throw new PluginLoadException($"plugin {definition.Name}: the module does not match ABI v{AbiCheck.Version}: {string.Join("; ", problems)}");
        }

        var tables = new List<WatchedDataTable>();
        try
        {
            foreach (var spec in definition.DataTables) tables.Add(new WatchedDataTable(definition.Name, spec, host.Logger, host.DataPollInterval));
            _tables = [.. tables];

            PluginInstance first;
            try
            {
                first = new PluginInstance(this, host.Engine, host.Linker, _module);
            }
            catch (Exception e) when (e is PluginLoadException or WasmtimeException)
            {
                throw new PluginLoadException($"plugin {definition.Name}: the first instance failed to start: {Describe(e)}", e);
            }
            int mask = 0;
            for (int phase = 1; phase < _callbacks.Length; phase++)
            {
                var ids = new List<int>();
                foreach (var (p, id) in first.Registrations)
                {
                    if ((int)p == phase) ids.Add(id);
                }
                _callbacks[phase] = [.. ids];
                if (ids.Count > 0) mask |= 1 << phase;
            }
            _callbacks[0] = [];
            PhaseMask = mask;
            Periodic = [.. first.Periodic];
            _live = 1;
            _idle[0] = first;
        }
        catch
        {
            foreach (var t in tables) t.Dispose();
            host.ReleaseModule(Sha256);
            throw;
        }
    }

    /// <summary>Compiles, checks and starts a version; <see cref="PluginLoadException"/> says what is wrong.</summary>
    public static PluginVersion Create(PluginHost host, PluginDefinition definition, int number)
    {
        byte[] bytes;
        if (definition.ModuleBytes is { } given) bytes = given.ToArray();
        else if (definition.ModulePath is { } path)
        {
            try { bytes = File.ReadAllBytes(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new PluginLoadException($"plugin {definition.Name}: cannot read module {path}: {e.Message}", e);
            }
        }
        else throw new PluginLoadException($"plugin {definition.Name}: no module (set a module path or bytes)");
        return new PluginVersion(host, definition, number, bytes);
    }

    public WatchedDataTable? FindTable(ReadOnlySpan<byte> name)
    {
        foreach (var t in _tables)
        {
            if (name.SequenceEqual(t.NameUtf8)) return t;
        }
        return null;
    }

    internal IReadOnlyList<WatchedDataTable> Tables => _tables;

    public bool Handles(PluginPhase phase) => (PhaseMask & (1 << (int)phase)) != 0;

    // ---- References (hot swap). ----

    public bool TryAcquire()
    {
        while (true)
        {
            int current = Volatile.Read(ref _references);
            if (current == 0) return false;
            if (Interlocked.CompareExchange(ref _references, current + 1, current) == current) return true;
        }
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) != 0) return;
        // The last reference: no call is running, so nothing takes or returns an instance meanwhile.
        for (int i = 0; i < _idle.Length; i++) Interlocked.Exchange(ref _idle[i], null)?.Dispose();
        Volatile.Write(ref _live, 0);
        foreach (var t in _tables) t.Dispose();
        Host.ReleaseModule(Sha256);
        Host.Logger.LogInformation("plugin {Plugin} version {Version} freed after its last call", Definition.Name, Number);
    }

    // ---- Calls. ----

    /// <summary>
    /// Runs this plugin's callbacks for the phase on one leased instance, in registration order, stopping at the
    /// first that does not continue. Faults become <see cref="PluginVerdict.Continue"/>. Completes synchronously
    /// (without allocating) unless an instance must be waited for or a callback awaits a host operation.
    /// </summary>
    public async ValueTask<PluginVerdict> RunAsync(PluginPhase phase, PluginCallContext context, CancellationToken cancellationToken, int onlyCallback = -1)
    {
        if (!_leases.TryTake() && !await _leases.TakeAsync(cancellationToken).ConfigureAwait(false)) return PluginVerdict.Continue;
        PluginInstance? instance = null;
        int callbackId = -1;
        string? fault = null;
        bool discard = false;
        var verdict = PluginVerdict.Continue;
        long started = Stopwatch.GetTimestamp();
        try
        {
            instance = TakeIdleOrCreate();
            foreach (int id in _callbacks[(int)phase])
            {
                if (onlyCallback >= 0 && id != onlyCallback) continue;
                callbackId = id;
                int result = instance.BeginCall(id, phase, context, cancellationToken);
                if (result == PluginInstance.Pending)
                {
                    int? woken = await instance.AwaitPendingAsync().ConfigureAwait(false);
                    if (woken is null)
                    {
                        // The query was abandoned or its deadline passed: no fault (a slow upstream is not the guest's
                        // doing), but its task is left waiting inside it.
                        discard = true;
                        verdict = PluginVerdict.Continue;
                        break;
                    }
                    result = woken.Value;
                }
                if (instance.HostWorkOverrun is { } overrun)
                {
                    fault = overrun;
                    break;
                }
                if (!IsAllowed(phase, result))
                {
                    fault = result < 0 ? $"returned error {result}" : $"returned {result}, not a valid result in phase {PluginHost.PhaseName(phase)}";
                    break;
                }
                Commit(instance, phase, context, result);
                instance.EndCall();
                if (result != 0)
                {
                    verdict = (PluginVerdict)result;
                    break;
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            fault = Describe(e);
            if (instance is not null && e is TrapException { Type: TrapCode.Unreachable })
                fault += $" (memory {instance.Memory.GetLength() / 1024} KiB of the {Definition.MemoryLimitBytes / 1024} KiB limit)";
            if (e is not (WasmtimeException or HostcallFault or PluginLoadException))
                Host.Logger.LogError(e, "plugin {Plugin}: unexpected host error in a callback", Definition.Name);
        }
        finally
        {
            Interlocked.Add(ref _ticks, Stopwatch.GetTimestamp() - started);
            Interlocked.Increment(ref _calls);
            if (instance is not null) instance.EndCall();
            if (instance is not null && (fault is not null || discard)) DiscardInstance(instance);
            else if (instance is not null) ReturnInstance(instance);
            _leases.Return();
        }
        if (fault is not null)
        {
            RecordFault(phase, callbackId, fault);
            return PluginVerdict.Continue;
        }
        if (Volatile.Read(ref _faultsInARow) != 0) Volatile.Write(ref _faultsInARow, 0);
        return verdict;
    }

    private static bool IsAllowed(PluginPhase phase, int result) => phase switch
    {
        PluginPhase.Request => (uint)result <= 3,
        PluginPhase.CacheLookup => result is 0 or 1,
        PluginPhase.BeforeRecursion => (uint)result <= 2,
        PluginPhase.Upstream => result is 0 or 2,
        PluginPhase.Resolved => result is 0 or 1,
        PluginPhase.Frame => result is 0 or 1,
        PluginPhase.Background => result == 0,
        _ => result == 0,
    };

    /// <summary>Phases 1–3: a response built by an answering callback; phases 5–6: any edits. Faults commit nothing.</summary>
    private static void Commit(PluginInstance instance, PluginPhase phase, PluginCallContext context, int result)
    {
        if (phase <= PluginPhase.BeforeRecursion)
        {
            if (result == (int)PluginVerdict.Answer) context.Response = instance.EditableResponse();
        }
        else if (instance.Working is { } edited)
        {
            context.Response = edited;
        }
    }

    private PluginInstance TakeIdleOrCreate()
    {
        for (int i = 0; i < _idle.Length; i++)
        {
            if (Volatile.Read(ref _idle[i]) is not null && Interlocked.Exchange(ref _idle[i], null) is { } idle) return idle;
        }
        Interlocked.Increment(ref _live);
        try
        {
            var instance = new PluginInstance(this, Host.Engine, Host.Linker, _module);
            if (!SameRegistrations(instance))
            {
                instance.Dispose();
                throw new PluginLoadException("a new instance registered different callbacks than the first (every instance must register the same)");
            }
            return instance;
        }
        catch (Exception e) when (e is PluginLoadException or WasmtimeException)
        {
            Interlocked.Decrement(ref _live);
            throw new PluginLoadException($"a new instance failed to start: {Describe(e)}", e);
        }
        catch
        {
            Interlocked.Decrement(ref _live);
            throw;
        }
    }

    private bool SameRegistrations(PluginInstance instance)
    {
        int n = 0;
        foreach (var (phase, id) in instance.Registrations)
        {
            var ids = _callbacks[(int)phase];
            if (Array.IndexOf(ids, id) < 0) return false;
            n++;
        }
        int expected = 0;
        foreach (var ids in _callbacks) expected += ids.Length;
        return n == expected;
    }

    private void ReturnInstance(PluginInstance instance)
    {
        for (int i = 0; i < _idle.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _idle[i], instance, null) is null) return;
        }
        // Unreachable while leases bound the instances; freeing it keeps the count right if it ever happens.
        DiscardInstance(instance);
    }

    private void DiscardInstance(PluginInstance instance)
    {
        Interlocked.Decrement(ref _live);
        instance.Dispose();
    }

    // ---- Faults, quarantine, logging. ----

    private void RecordFault(PluginPhase phase, int callbackId, string reason)
    {
        Interlocked.Increment(ref _faults);
        int inARow = Interlocked.Increment(ref _faultsInARow);
        bool quarantine = inARow >= Definition.QuarantineAfter && !_quarantined;
        string phaseName = PluginHost.PhaseName(phase);
        if (quarantine)
        {
            _quarantined = true;
            Host.Logger.LogError("plugin {Plugin} quarantined after {Faults} faults in a row: last fault: {Reason} in callback {Callback} (phase {Phase})",
                Definition.Name, inARow, reason, callbackId, phaseName);
        }
        else
        {
            Host.Logger.LogWarning("plugin {Plugin} version {Version} fault ({Faults} in a row): {Reason} in callback {Callback} (phase {Phase}); the query continues without it",
                Definition.Name, Number, inARow, reason, callbackId, phaseName);
        }
        Host.OnFault(this, new PluginFault(Definition.Name, Number, phase, reason, inARow, quarantine));
    }

    public void GuestLog(LogLevel level, ReadOnlySpan<byte> message)
    {
        if (!Host.Logger.IsEnabled(level)) return;
        long window = Host.MonotonicMilliseconds / 1000;
        if (Interlocked.Exchange(ref _logWindow, window) != window)
        {
            long dropped = Interlocked.Exchange(ref _logDropped, 0);
            Interlocked.Exchange(ref _logCount, 0);
            if (dropped > 0) Host.Logger.LogWarning("plugin {Plugin}: {Dropped} log lines dropped (rate limit {Limit}/s)", Definition.Name, dropped, Host.Options.LogLinesPerSecond);
        }
        if (Interlocked.Increment(ref _logCount) > Host.Options.LogLinesPerSecond)
        {
            Interlocked.Increment(ref _logDropped);
            return;
        }
        string text = Encoding.UTF8.GetString(message[..Math.Min(message.Length, 1024)]);
        Host.Logger.Log(level, "plugin {Plugin}: {Message}", Definition.Name, text);
    }

    internal static string Describe(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is HostcallFault h) return "bad hostcall: " + h.Message;
        }
        return e switch
        {
            TrapException { Type: TrapCode.OutOfFuel } => "out of fuel (CPU budget exceeded)",
            TrapException { Type: TrapCode.Interrupt } => "interrupted (CPU budget exceeded)",
            TrapException { Type: TrapCode.Unreachable } => "trap: unreachable (a guest panic or abort, such as a failed allocation)",
            TrapException { Type: TrapCode.MemoryOutOfBounds } => "trap: out-of-bounds memory access",
            TrapException { Type: TrapCode.StackOverflow } => "trap: stack overflow",
            TrapException t => $"trap: {t.Type}: {FirstLine(t.Message)}",
            PluginLoadException l => l.Message,
            _ => FirstLine(e.Message),
        };
    }

    private static string FirstLine(string text)
    {
        int newline = text.IndexOf('\n');
        return (newline < 0 ? text : text[..newline]).Trim();
    }

    public PluginStatus Status()
    {
        int live = Volatile.Read(ref _live);
        return new PluginStatus(Definition.Name, Number, Sha256, live, Interlocked.Read(ref _calls), Interlocked.Read(ref _faults),
            _quarantined, Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _ticks)), Counters.Snapshot());
    }
}

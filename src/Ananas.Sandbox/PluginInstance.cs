using System.Diagnostics;
using System.Text;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Wasmtime;

namespace Ananas.Sandbox;

/// <summary>
/// One instance of a plugin version: its own Wasmtime Store (memory limit, CPU budget) and linear memory. It
/// serves one callback at a time (the lease), so the request region and the per-call state below are never
/// shared. After a fault it is discarded: a trap can leave the guest's own state (its executor, its heap)
/// half-updated.
/// </summary>
internal sealed partial class PluginInstance : IDisposable
{
    public const int Pending = 4;
    public const int MaxPendingOperations = 16;

    // The instance whose guest code runs on this thread: hostcalls find their instance here rather than through
    // the store's data (a Wasmtime `Caller` costs two more native calls and a GC handle lookup per hostcall).
    // Set around every entry into the guest (start, trampoline, wake); entries do not nest across instances.
    [ThreadStatic]
    private static PluginInstance? t_running;

    private readonly Store _store;
    private readonly Func<int, int, int> _trampoline;
    private readonly Func<int, int> _wake;
    private readonly int _regionAddress;

    public PluginVersion Version { get; }

    public Memory Memory { get; }

    /// <summary>Callbacks registered by the start function, in order: (phase, callback id).</summary>
    public List<(PluginPhase Phase, int CallbackId)> Registrations { get; } = [];

    // ---- State of the callback being served (valid between BeginCall and EndCall). ----

    public bool Starting { get; private set; }

    public PluginPhase Phase { get; private set; }

    public PluginCallContext? Context { get; private set; }

    /// <summary>The response guests edit in this callback; committed to the context only if the callback does not fault.</summary>
    public DnsMessage? Working { get; set; }

    private readonly Task?[] _operations = new Task?[MaxPendingOperations];
    private readonly int[] _wakeTasks = new int[MaxPendingOperations];
    private CancellationTokenSource? _operationsCancel;
    private bool _operationsStarted;   // whether this call started any (most do not: then there is nothing to clear)
    private CancellationToken _callToken;

    /// <summary>Elements a guest's function table may hold (a Rust guest's has one per address-taken function: tens).</summary>
    public const uint MaxTableElements = 10_000;

    /// <summary>Instantiates, checks the ABI version and the request region, and runs the start function.</summary>
    public PluginInstance(PluginVersion version, Engine engine, Linker linker, Module module)
    {
        Version = version;
        _store = new Store(engine);
        // Tables and instances are memory outside the linear memory limit: a module declaring a table of millions of
        // elements would otherwise cost the host that much per instance. One module, one memory, one table.
        _store.SetLimits(memorySize: version.Definition.MemoryLimitBytes, tableElements: MaxTableElements, instances: 1, tables: 1, memories: 1);
        var previous = t_running;
        t_running = this;
        try
        {
            // The start function may build tables from its arguments: it gets a hundred callback budgets.
            SetBudget(100);
            var instance = linker.Instantiate(_store, module);
            Memory = instance.GetMemory("memory") ?? throw new PluginLoadException("export 'memory' is missing");
            var abiVersion = instance.GetFunction<int>("ananas_abi_version")!;
            var alloc = instance.GetFunction<int, int>("ananas_alloc")!;
            var region = instance.GetFunction<int>("ananas_request_region")!;
            var start = instance.GetFunction<int, int, int>("ananas_start")!;
            _trampoline = instance.GetFunction<int, int, int>("ananas_trampoline")!;
            _wake = instance.GetFunction<int, int>("ananas_wake")!;

            int abi = abiVersion();
            if (abi != AbiCheck.Version)
                throw new PluginLoadException($"ananas_abi_version() returned {abi}; this host speaks ABI version {AbiCheck.Version}");
            _regionAddress = region();
            if (!InBounds(_regionAddress, RequestRegion.MinimumSize))
                throw new PluginLoadException($"ananas_request_region() returned {_regionAddress}: {RequestRegion.MinimumSize} bytes there are not inside the guest's memory ({Memory.GetLength()} bytes)");

            byte[] args = Encoding.UTF8.GetBytes(version.Definition.Args);
            int argsAddress = 0;
            if (args.Length > 0)
            {
                argsAddress = alloc(args.Length);
                if (argsAddress == 0 || !InBounds(argsAddress, args.Length))
                    throw new PluginLoadException($"ananas_alloc({args.Length}) for the arguments returned {argsAddress}, not a usable address");
                args.CopyTo(Memory.GetSpan(argsAddress, args.Length));
            }
            Starting = true;
            int started = start(argsAddress, args.Length);
            Starting = false;
            if (started != 0) throw new PluginLoadException($"ananas_start returned {started} (non-zero: the guest refused its arguments or failed to start)");
        }
        catch
        {
            _store.Dispose();
            throw;
        }
        finally
        {
            t_running = previous;
        }
    }

    /// <summary>The instance whose guest code is running on this thread (for hostcalls), or a fault.</summary>
    public static PluginInstance Running => t_running ?? throw new HostcallFault("a hostcall outside a guest entry");

    private void SetBudget(int multiplier)
    {
        if (Version.Host.Options.CpuLimiter == CpuLimiter.Fuel)
            _store.Fuel = (ulong)(Version.FuelPerCallback * multiplier);
        else
            _store.SetEpochDeadline((ulong)(Version.EpochTicksPerCallback * multiplier));
    }

    public bool InBounds(int address, int length) => GuestMemory.InBounds(address, length, Memory.GetLength());

    /// <summary>
    /// The guest's whole linear memory, read once per hostcall (each read is three native calls); valid until the
    /// guest runs again, since the guest's code can grow (and so move) its memory.
    /// </summary>
    public GuestMemory View() => new(Memory.GetSpan(0, (int)Math.Min(Memory.GetLength(), Array.MaxLength)));

    /// <summary>Writes the request region and enters the guest's trampoline. Traps and hostcall faults throw.</summary>
    public int BeginCall(int callbackId, PluginPhase phase, PluginCallContext context, CancellationToken cancellationToken)
    {
        Phase = phase;
        Context = context;
        Working = null;
        _callToken = cancellationToken;
        ResetHostWork();
        if (!Version.Host.Options.FieldHostcallsForBenchmark)
            RequestRegion.Write(Memory.GetSpan(_regionAddress, RequestRegion.WrittenSize), phase, context);
        SetBudget(1);
        var previous = t_running;
        t_running = this;
        try { return _trampoline(callbackId, (int)phase); }
        finally { t_running = previous; }
    }

    /// <summary>Re-enters the guest for a task whose host operation completed; a fresh CPU budget per entry.</summary>
    public int Wake(int taskId)
    {
        SetBudget(1);
        var previous = t_running;
        t_running = this;
        try { return _wake(taskId); }
        finally { t_running = previous; }
    }

    /// <summary>Cancels the callback's pending host operations and forgets its state.</summary>
    public void EndCall()
    {
        if (_operationsCancel is { } cancel)
        {
            cancel.Cancel();
            cancel.Dispose();
            _operationsCancel = null;
        }
        if (_operationsStarted)
        {
            Array.Clear(_operations);
            Array.Clear(_wakeTasks);
            Array.Clear(_results);
            _operationsStarted = false;
        }
        EndCryptoCall();
        EndSocketCall();
        Context = null;
        Working = null;
        _callToken = default;
    }

    // ---- Async host operations (docs/plugins.md, "Asynchronous host operations"). ----

    public int StartTimer(int delayMs)
    {
        if (Context is null) return -4;
        if (delayMs < 0 || delayMs > Version.Host.Options.MaxTimer.TotalMilliseconds) return -2;
        if (!ChargeTimer()) return LimitReached;
        return StartOperation(token => Task.Delay(delayMs, token));
    }

    /// <summary>Starts a host operation tied to this callback (cancelled when it ends); its handle, or -4 when 16 are pending.</summary>
    public int StartOperation(Func<CancellationToken, Task> start)
    {
        int handle = Array.IndexOf(_operations, null);
        if (handle < 0) return -4;
        _operationsCancel ??= CancellationTokenSource.CreateLinkedTokenSource(_callToken);
        _results[handle] = null;
        _operations[handle] = start(_operationsCancel.Token);
        _operationsStarted = true;
        return handle;
    }

    public int PollOperation(int handle)
    {
        if ((uint)handle >= MaxPendingOperations || _operations[handle] is not { } operation) return -2;
        if (!operation.IsCompleted) return 0;
        // A result (resolve, HTTP) outlives the handle until the slot is reused, so the guest can read it with op_result.
        _results[handle] = operation is Task<byte[]?> { IsCompletedSuccessfully: true } withResult ? withResult.Result : null;
        _operations[handle] = null;
        _wakeTasks[handle] = 0;
        return operation.IsCompletedSuccessfully ? 1 : -1;
    }

    public int WakeOn(int handle, int taskId)
    {
        if ((uint)handle >= MaxPendingOperations || _operations[handle] is null) return -2;
        if (taskId <= 0) return -2;
        _wakeTasks[handle] = taskId;
        return 0;
    }

    /// <summary>
    /// After the guest returned PENDING: waits (without a thread) for an operation it asked to be woken on, then
    /// wakes its task, until the guest returns something else. Returns null when the call was abandoned (cancelled,
    /// or its context's deadline passed).
    /// </summary>
    public async ValueTask<int?> AwaitPendingAsync()
    {
        var waiting = new List<Task>(3);
        // The deadline's timer is tied to the call's operations: EndCall cancels it with them.
        Task? deadline = null;
        if (Context is { Deadline: not 0 } context)
        {
            var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), context.Deadline);
            if (remaining <= TimeSpan.Zero) return null;
            _operationsCancel ??= CancellationTokenSource.CreateLinkedTokenSource(_callToken);
            deadline = Task.Delay(remaining, _operationsCancel.Token);
        }
        int result = Pending;
        while (result == Pending)
        {
            waiting.Clear();
            for (int i = 0; i < MaxPendingOperations; i++)
            {
                if (_wakeTasks[i] != 0 && _operations[i] is { } op) waiting.Add(op);
            }
            if (waiting.Count == 0)
                throw new HostcallFault("returned PENDING without op_wake_on for a pending operation (it would never be woken)");
            if (deadline is not null) waiting.Add(deadline);
            await Task.WhenAny(waiting).ConfigureAwait(false);
            if (_callToken.IsCancellationRequested || deadline is { IsCompleted: true }) return null;
            for (int i = 0; i < MaxPendingOperations && result == Pending; i++)
            {
                if (_wakeTasks[i] == 0 || _operations[i] is not { IsCompleted: true }) continue;
                int task = _wakeTasks[i];
                _wakeTasks[i] = 0;
                result = Wake(task);
            }
        }
        return result;
    }

    /// <summary>The response to edit: a new one for the query in phases 1–3, a copy of the current one in 5–6.</summary>
    public DnsMessage? EditableResponse()
    {
        if (Working is not null) return Working;
        if (Context is not { } context || Phase == PluginPhase.Upstream) return null;
        Working = Phase >= PluginPhase.Resolved && context.Response is { } current ? Copy(current) : NewResponse(context);
        return Working;
    }

    /// <summary>The response to read: the one being edited, else the current one.</summary>
    public DnsMessage? ReadableResponse() => Working ?? (Phase >= PluginPhase.Resolved ? Context?.Response : null);

    private static DnsMessage NewResponse(PluginCallContext context)
    {
        var flags = (HeaderFlags)(context.FlagsWord & (ushort)(HeaderFlags.RD | HeaderFlags.CD)) | HeaderFlags.QR;
        var response = new DnsMessage
        {
            Id = context.MessageId,
            Opcode = (Opcode)((context.FlagsWord >> 11) & 0xF),
            Flags = flags,
        };
        response.Questions.Add(new Question(context.QueryName, context.QueryType, context.QueryClass));
        if (context.HasEdns) response.Edns = new Edns { DnssecOk = context.DnssecOk };
        return response;
    }

    private static DnsMessage Copy(DnsMessage m)
    {
        var copy = new DnsMessage { Id = m.Id, Flags = m.Flags, Opcode = m.Opcode, Rcode = m.Rcode };
        copy.Questions.AddRange(m.Questions);
        copy.Answers.AddRange(m.Answers);
        copy.Authority.AddRange(m.Authority);
        copy.Additional.AddRange(m.Additional);
        if (m.Edns is { } e)
        {
            copy.Edns = new Edns { UdpPayloadSize = e.UdpPayloadSize, Version = e.Version, DnssecOk = e.DnssecOk, OtherFlags = e.OtherFlags };
            copy.Edns.Options.AddRange(e.Options);
        }
        return copy;
    }

    public void Dispose()
    {
        EndCall();
        _store.Dispose();
    }
}

/// <summary>A guest's linear memory as seen by one hostcall: ranges are checked here, without native calls.</summary>
internal readonly ref struct GuestMemory(Span<byte> bytes)
{
    private readonly Span<byte> _bytes = bytes;

    public static bool InBounds(int address, int length, long size) =>
        address >= 0 && length >= 0 && (ulong)(uint)address + (uint)length <= (ulong)size;

    /// <summary>The guest memory at [address, address + length), or a fault naming the hostcall.</summary>
    public Span<byte> Range(string hostcall, int address, int length)
    {
        if (!InBounds(address, length, _bytes.Length))
            throw new HostcallFault($"{hostcall}: range at {address} of length {length} is outside the guest's memory ({_bytes.Length} bytes)");
        return _bytes.Slice(address, length);
    }
}

/// <summary>ABI misuse detected in a hostcall (a bad pointer or length, an impossible request): faults the callback.</summary>
internal sealed class HostcallFault(string message) : Exception(message);

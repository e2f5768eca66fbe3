using System.Text;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Zones;
using Microsoft.Extensions.Logging;
using Wasmtime;

namespace Ananas.Sandbox;

/// <summary>
/// The hostcalls of ABI v1 (docs/plugins.md, "Hostcalls"), defined once per engine on the shared linker. Each
/// finds the instance whose guest is running on this thread (<see cref="PluginInstance.Running"/>) and checks
/// every pointer and length against the guest's memory (<see cref="GuestMemory.Range"/>); a bad range faults the
/// callback.
/// </summary>
internal static class Hostcalls
{
    private const int NotFound = -1;
    private const int InvalidArgument = -2;
    private const int BufferTooSmall = -3;
    private const int NotAllowed = -4;

    private static PluginInstance Of() => PluginInstance.Running;

    public static void Define(Linker linker)
    {
        const string m = AbiCheck.ImportModule;
        linker.DefineFunction(m, "register_callback", new Func<int, int, int>(RegisterCallback));
        linker.DefineFunction(m, "request_edns_option", new Func<int, int, int, int>(RequestEdnsOption));
        linker.DefineFunction(m, "request_message", new Func<int, int, int>(RequestMessage));
        linker.DefineFunction(m, "response_set_rcode", new Func<int, int>(ResponseSetRcode));
        linker.DefineFunction(m, "response_set_flag", new Func<int, int, int>(ResponseSetFlag));
        linker.DefineFunction(m, "response_clear", new Func<int, int>(ResponseClear));
        linker.DefineFunction(m, "response_add_record", new Func<int, int, int, int>(ResponseAddRecord));
        linker.DefineFunction(m, "response_set_ede", new Func<int, int, int, int>(ResponseSetEde));
        linker.DefineFunction(m, "response_record_count", new Func<int, int>(ResponseRecordCount));
        linker.DefineFunction(m, "response_read_record", new Func<int, int, int, int, int>(ResponseReadRecord));
        linker.DefineFunction(m, "data_match_suffix", new Func<int, int, int, int, int>(DataMatchSuffix));
        linker.DefineFunction(m, "data_get", new Func<int, int, int, int, int, int, int>(DataGet));
        linker.DefineFunction(m, "log", new Action<int, int, int>(Log));
        linker.DefineFunction(m, "counter_add", new Action<int, int, long>(CounterAdd));
        linker.DefineFunction(m, "now_unix_ms", new Func<long>(() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        linker.DefineFunction(m, "monotonic_ms", new Func<long>(() => Of().Version.Host.MonotonicMilliseconds));
        linker.DefineFunction(m, "timer_start", new Func<int, int>(delay => Of().StartTimer(delay)));
        linker.DefineFunction(m, "op_poll", new Func<int, int>(handle => Of().PollOperation(handle)));
        linker.DefineFunction(m, "op_wake_on", new Func<int, int, int>((handle, task) => Of().WakeOn(handle, task)));
    }

    /// <summary>Import module of the benchmark-only field hostcalls.</summary>
    public const string FieldModule = "ananas_fields";

    /// <summary>
    /// The alternative the request region replaces, for the benchmark that compares them: one hostcall per field.
    /// </summary>
    public static void DefineFieldHostcalls(Linker linker)
    {
        linker.DefineFunction(FieldModule, "message_id", new Func<int>(() => Of().Context?.MessageId ?? NotAllowed));
        linker.DefineFunction(FieldModule, "flags", new Func<int>(() => Of().Context?.FlagsWord ?? NotAllowed));
        linker.DefineFunction(FieldModule, "qtype", new Func<int>(() => (int?)Of().Context?.QueryType ?? NotAllowed));
        linker.DefineFunction(FieldModule, "qclass", new Func<int>(() => (int?)Of().Context?.QueryClass ?? NotAllowed));
        linker.DefineFunction(FieldModule, "qname", new Func<int, int, int>((buffer, capacity) =>
        {
            var instance = Of();
            var memory = instance.View();
            memory.Range("qname", buffer, capacity);
            if (instance.Context is not { } context) return NotAllowed;
            Span<byte> name = stackalloc byte[RequestRegion.QnameCapacity];
            int length = RequestRegion.WriteQname(context.QueryNameWire, name);
            return CopyOut(memory, "qname", name[..length], buffer, capacity);
        }));
        linker.DefineFunction(FieldModule, "client_address", new Func<int, int, int>((buffer, capacity) =>
        {
            var instance = Of();
            var memory = instance.View();
            memory.Range("client_address", buffer, capacity);
            if (instance.Context is not { } context) return NotAllowed;
            Span<byte> address = stackalloc byte[16];
            context.ClientAddress.TryWriteBytes(address, out int length);
            return CopyOut(memory, "client_address", address[..length], buffer, capacity);
        }));
    }

    private static int RegisterCallback(int phase, int callbackId)
    {
        var instance = Of();
        if (!instance.Starting) return NotAllowed;
        if (phase < (int)PluginPhase.Request || phase > (int)PluginPhase.Frame || callbackId < 0) return InvalidArgument;
        instance.Registrations.Add(((PluginPhase)phase, callbackId));
        return 0;
    }

    /// <summary>Copies <paramref name="source"/> into the guest buffer: its length, or -3 (nothing written) when it does not fit.</summary>
    private static int CopyOut(GuestMemory memory, string hostcall, ReadOnlySpan<byte> source, int buffer, int capacity)
    {
        var destination = memory.Range(hostcall, buffer, capacity);
        if (source.Length > capacity) return BufferTooSmall;
        source.CopyTo(destination);
        return source.Length;
    }

    private static int RequestEdnsOption(int code, int buffer, int capacity)
    {
        var instance = Of();
        var memory = instance.View();
        if (instance.Context is not { } context) return NotAllowed;
        memory.Range("request_edns_option", buffer, capacity);
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        if (!QueryReader.TryRead(context.QueryWire.Span, name, out var query, out _)) return NotFound;
        if (!query.TryGetOption((EdnsOptionCode)(ushort)code, out var data)) return NotFound;
        return CopyOut(memory, "request_edns_option", data, buffer, capacity);
    }

    private static int RequestMessage(int buffer, int capacity)
    {
        var instance = Of();
        var memory = instance.View();
        if (instance.Context is not { } context) return NotAllowed;
        return CopyOut(memory, "request_message", context.QueryWire.Span, buffer, capacity);
    }

    private static int ResponseSetRcode(int rcode)
    {
        if ((uint)rcode > 0xFFF) return InvalidArgument;
        if (Of().EditableResponse() is not { } response) return NotAllowed;
        response.Rcode = (Rcode)rcode;
        return 0;
    }

    private static int ResponseSetFlag(int flag, int value)
    {
        HeaderFlags? bit = flag switch
        {
            0 => HeaderFlags.AA,
            1 => HeaderFlags.TC,
            2 => HeaderFlags.RA,
            3 => HeaderFlags.AD,
            4 => HeaderFlags.CD,
            _ => null,
        };
        if (bit is not { } b) return InvalidArgument;
        if (Of().EditableResponse() is not { } response) return NotAllowed;
        response.Set(b, value != 0);
        return 0;
    }

    private static MessageSection? Section(int section) => section switch
    {
        1 => MessageSection.Answer,
        2 => MessageSection.Authority,
        3 => MessageSection.Additional,
        _ => null,
    };

    private static int ResponseClear(int section)
    {
        if (Section(section) is not { } s) return InvalidArgument;
        if (Of().EditableResponse() is not { } response) return NotAllowed;
        response.Section(s).Clear();
        return 0;
    }

    private static int ResponseAddRecord(int section, int text, int length)
    {
        var instance = Of();
        var memory = instance.View();
        var bytes = memory.Range("response_add_record", text, length);
        if (Section(section) is not { } s) return InvalidArgument;
        if (instance.EditableResponse() is not { } response) return NotAllowed;
        if (!instance.ChargeRecord()) return PluginInstance.LimitReached;
        try
        {
            var record = RecordText.Parse(Encoding.UTF8.GetString(bytes), DnsName.Root);
            response.Section(s).Add(record);
            return 0;
        }
        catch (DnsFormatException)
        {
            return InvalidArgument;
        }
    }

    private static int ResponseSetEde(int code, int text, int length)
    {
        var instance = Of();
        var memory = instance.View();
        var bytes = memory.Range("response_set_ede", text, length);
        if ((uint)code > ushort.MaxValue) return InvalidArgument;
        if (instance.EditableResponse() is not { } response) return NotAllowed;
        // Without EDNS in the query the response cannot carry an OPT record (RFC 6891 §7).
        if (response.Edns is not { } edns) return NotFound;
        edns.Options.RemoveAll(o => o is ExtendedErrorOption);
        edns.Options.Add(new ExtendedErrorOption((EdeCode)code, Encoding.UTF8.GetString(bytes)));
        return 0;
    }

    private static int ResponseRecordCount(int section)
    {
        if (Section(section) is not { } s) return InvalidArgument;
        var instance = Of();
        if (instance.Context is null || instance.Phase == PluginPhase.Upstream) return NotAllowed;
        return instance.ReadableResponse()?.Section(s).Count ?? 0;
    }

    private static int ResponseReadRecord(int section, int index, int buffer, int capacity)
    {
        var instance = Of();
        var memory = instance.View();
        memory.Range("response_read_record", buffer, capacity);
        if (Section(section) is not { } s) return InvalidArgument;
        if (instance.Context is null || instance.Phase == PluginPhase.Upstream) return NotAllowed;
        var records = instance.ReadableResponse()?.Section(s);
        if (records is null || (uint)index >= (uint)records.Count) return NotFound;
        return CopyOut(memory, "response_read_record", Encoding.UTF8.GetBytes(records[index].ToString()), buffer, capacity);
    }

    private static int DataMatchSuffix(int table, int tableLength, int name, int nameLength)
    {
        var instance = Of();
        var memory = instance.View();
        var tableName = memory.Range("data_match_suffix", table, tableLength);
        var nameBytes = memory.Range("data_match_suffix", name, nameLength);
        if (instance.Version.FindTable(tableName) is not { } found) return InvalidArgument;
        return found.Contents.MatchSuffix(nameBytes);
    }

    private static int DataGet(int table, int tableLength, int key, int keyLength, int buffer, int capacity)
    {
        var instance = Of();
        var memory = instance.View();
        var tableName = memory.Range("data_get", table, tableLength);
        var keyBytes = memory.Range("data_get", key, keyLength);
        memory.Range("data_get", buffer, capacity);
        if (instance.Version.FindTable(tableName) is not { } found) return InvalidArgument;
        if (!found.Contents.Entries.TryGetValue(keyBytes, out var value)) return NotFound;
        return CopyOut(memory, "data_get", value, buffer, capacity);
    }

    private static void Log(int level, int message, int length)
    {
        var instance = Of();
        var memory = instance.View();
        var bytes = memory.Range("log", message, length);
        var logLevel = level switch
        {
            <= 0 => LogLevel.Trace,
            1 => LogLevel.Debug,
            2 => LogLevel.Information,
            3 => LogLevel.Warning,
            _ => LogLevel.Error,
        };
        instance.Version.GuestLog(logLevel, bytes);
    }

    private static void CounterAdd(int name, int length, long delta)
    {
        var instance = Of();
        var memory = instance.View();
        instance.Version.Counters.Add(memory.Range("counter_add", name, length), delta);
    }
}

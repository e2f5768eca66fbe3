using System.Text;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Zones;
using Microsoft.Extensions.Logging;
using Wasmtime;

namespace Ananas.Sandbox;

/// <summary>
/// The hostcalls of ABI v1 (docs/plugins.md, "Hostcalls"), defined once per engine on the shared linker. Each
/// finds its instance through the store's data and checks every pointer and length against the guest's memory
/// (<see cref="PluginInstance.Guest"/>); a bad range faults the callback.
/// </summary>
internal static class Hostcalls
{
    private const int NotFound = -1;
    private const int InvalidArgument = -2;
    private const int BufferTooSmall = -3;
    private const int NotAllowed = -4;

    private static PluginInstance Of(Caller caller) => (PluginInstance)caller.GetData()!;

    public static void Define(Linker linker)
    {
        const string m = AbiCheck.ImportModule;
        linker.DefineFunction(m, "register_callback", new CallerFunc<int, int, int>(RegisterCallback));
        linker.DefineFunction(m, "request_edns_option", new CallerFunc<int, int, int, int>(RequestEdnsOption));
        linker.DefineFunction(m, "request_message", new CallerFunc<int, int, int>(RequestMessage));
        linker.DefineFunction(m, "response_set_rcode", new CallerFunc<int, int>(ResponseSetRcode));
        linker.DefineFunction(m, "response_set_flag", new CallerFunc<int, int, int>(ResponseSetFlag));
        linker.DefineFunction(m, "response_clear", new CallerFunc<int, int>(ResponseClear));
        linker.DefineFunction(m, "response_add_record", new CallerFunc<int, int, int, int>(ResponseAddRecord));
        linker.DefineFunction(m, "response_set_ede", new CallerFunc<int, int, int, int>(ResponseSetEde));
        linker.DefineFunction(m, "response_record_count", new CallerFunc<int, int>(ResponseRecordCount));
        linker.DefineFunction(m, "response_read_record", new CallerFunc<int, int, int, int, int>(ResponseReadRecord));
        linker.DefineFunction(m, "data_match_suffix", new CallerFunc<int, int, int, int, int>(DataMatchSuffix));
        linker.DefineFunction(m, "data_get", new CallerFunc<int, int, int, int, int, int, int>(DataGet));
        linker.DefineFunction(m, "log", new CallerAction<int, int, int>(Log));
        linker.DefineFunction(m, "counter_add", new CallerAction<int, int, long>(CounterAdd));
        linker.DefineFunction(m, "now_unix_ms", new CallerFunc<long>(_ => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        linker.DefineFunction(m, "monotonic_ms", new CallerFunc<long>(c => Of(c).Version.Host.MonotonicMilliseconds));
        linker.DefineFunction(m, "timer_start", new CallerFunc<int, int>((c, delay) => Of(c).StartTimer(delay)));
        linker.DefineFunction(m, "op_poll", new CallerFunc<int, int>((c, handle) => Of(c).PollOperation(handle)));
        linker.DefineFunction(m, "op_wake_on", new CallerFunc<int, int, int>((c, handle, task) => Of(c).WakeOn(handle, task)));
    }

    /// <summary>Import module of the benchmark-only field hostcalls.</summary>
    public const string FieldModule = "ananas_fields";

    /// <summary>
    /// The alternative the request region replaces, for the benchmark that compares them: one hostcall per field.
    /// </summary>
    public static void DefineFieldHostcalls(Linker linker)
    {
        linker.DefineFunction(FieldModule, "message_id", new CallerFunc<int>(c => Of(c).Context?.MessageId ?? NotAllowed));
        linker.DefineFunction(FieldModule, "flags", new CallerFunc<int>(c => Of(c).Context?.FlagsWord ?? NotAllowed));
        linker.DefineFunction(FieldModule, "qtype", new CallerFunc<int>(c => (int?)Of(c).Context?.QueryType ?? NotAllowed));
        linker.DefineFunction(FieldModule, "qclass", new CallerFunc<int>(c => (int?)Of(c).Context?.QueryClass ?? NotAllowed));
        linker.DefineFunction(FieldModule, "qname", new CallerFunc<int, int, int>((c, buffer, capacity) =>
        {
            var instance = Of(c);
            var destination = instance.Guest("qname", buffer, capacity);
            if (instance.Context is not { } context) return NotAllowed;
            Span<byte> name = stackalloc byte[RequestRegion.QnameCapacity];
            int length = RequestRegion.WriteQname(context.QueryNameWire, name);
            return CopyOut(instance, "qname", name[..length], buffer, capacity);
        }));
        linker.DefineFunction(FieldModule, "client_address", new CallerFunc<int, int, int>((c, buffer, capacity) =>
        {
            var instance = Of(c);
            instance.Guest("client_address", buffer, capacity);
            if (instance.Context is not { } context) return NotAllowed;
            Span<byte> address = stackalloc byte[16];
            context.ClientAddress.TryWriteBytes(address, out int length);
            return CopyOut(instance, "client_address", address[..length], buffer, capacity);
        }));
    }

    private static int RegisterCallback(Caller caller, int phase, int callbackId)
    {
        var instance = Of(caller);
        if (!instance.Starting) return NotAllowed;
        if (phase < (int)PluginPhase.Request || phase > (int)PluginPhase.Response || callbackId < 0) return InvalidArgument;
        instance.Registrations.Add(((PluginPhase)phase, callbackId));
        return 0;
    }

    /// <summary>Copies <paramref name="source"/> into the guest buffer: its length, or -3 (nothing written) when it does not fit.</summary>
    private static int CopyOut(PluginInstance instance, string hostcall, ReadOnlySpan<byte> source, int buffer, int capacity)
    {
        var destination = instance.Guest(hostcall, buffer, capacity);
        if (source.Length > capacity) return BufferTooSmall;
        source.CopyTo(destination);
        return source.Length;
    }

    private static int RequestEdnsOption(Caller caller, int code, int buffer, int capacity)
    {
        var instance = Of(caller);
        if (instance.Context is not { } context) return NotAllowed;
        instance.Guest("request_edns_option", buffer, capacity);
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        if (!QueryReader.TryRead(context.QueryWire.Span, name, out var query, out _)) return NotFound;
        if (!query.TryGetOption((EdnsOptionCode)(ushort)code, out var data)) return NotFound;
        return CopyOut(instance, "request_edns_option", data, buffer, capacity);
    }

    private static int RequestMessage(Caller caller, int buffer, int capacity)
    {
        var instance = Of(caller);
        if (instance.Context is not { } context) return NotAllowed;
        return CopyOut(instance, "request_message", context.QueryWire.Span, buffer, capacity);
    }

    private static int ResponseSetRcode(Caller caller, int rcode)
    {
        if ((uint)rcode > 0xFFF) return InvalidArgument;
        if (Of(caller).EditableResponse() is not { } response) return NotAllowed;
        response.Rcode = (Rcode)rcode;
        return 0;
    }

    private static int ResponseSetFlag(Caller caller, int flag, int value)
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
        if (Of(caller).EditableResponse() is not { } response) return NotAllowed;
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

    private static int ResponseClear(Caller caller, int section)
    {
        if (Section(section) is not { } s) return InvalidArgument;
        if (Of(caller).EditableResponse() is not { } response) return NotAllowed;
        response.Section(s).Clear();
        return 0;
    }

    private static int ResponseAddRecord(Caller caller, int section, int text, int length)
    {
        var instance = Of(caller);
        var bytes = instance.Guest("response_add_record", text, length);
        if (Section(section) is not { } s) return InvalidArgument;
        if (instance.EditableResponse() is not { } response) return NotAllowed;
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

    private static int ResponseSetEde(Caller caller, int code, int text, int length)
    {
        var instance = Of(caller);
        var bytes = instance.Guest("response_set_ede", text, length);
        if ((uint)code > ushort.MaxValue) return InvalidArgument;
        if (instance.EditableResponse() is not { } response) return NotAllowed;
        // Without EDNS in the query the response cannot carry an OPT record (RFC 6891 §7).
        if (response.Edns is not { } edns) return NotFound;
        edns.Options.RemoveAll(o => o is ExtendedErrorOption);
        edns.Options.Add(new ExtendedErrorOption((EdeCode)code, Encoding.UTF8.GetString(bytes)));
        return 0;
    }

    private static int ResponseRecordCount(Caller caller, int section)
    {
        if (Section(section) is not { } s) return InvalidArgument;
        var instance = Of(caller);
        if (instance.Context is null || instance.Phase == PluginPhase.Upstream) return NotAllowed;
        return instance.ReadableResponse()?.Section(s).Count ?? 0;
    }

    private static int ResponseReadRecord(Caller caller, int section, int index, int buffer, int capacity)
    {
        var instance = Of(caller);
        instance.Guest("response_read_record", buffer, capacity);
        if (Section(section) is not { } s) return InvalidArgument;
        if (instance.Context is null || instance.Phase == PluginPhase.Upstream) return NotAllowed;
        var records = instance.ReadableResponse()?.Section(s);
        if (records is null || (uint)index >= (uint)records.Count) return NotFound;
        return CopyOut(instance, "response_read_record", Encoding.UTF8.GetBytes(records[index].ToString()), buffer, capacity);
    }

    private static int DataMatchSuffix(Caller caller, int table, int tableLength, int name, int nameLength)
    {
        var instance = Of(caller);
        var tableName = instance.Guest("data_match_suffix", table, tableLength);
        var nameBytes = instance.Guest("data_match_suffix", name, nameLength);
        if (instance.Version.FindTable(tableName) is not { } found) return InvalidArgument;
        return found.Contents.MatchSuffix(nameBytes);
    }

    private static int DataGet(Caller caller, int table, int tableLength, int key, int keyLength, int buffer, int capacity)
    {
        var instance = Of(caller);
        var tableName = instance.Guest("data_get", table, tableLength);
        var keyBytes = instance.Guest("data_get", key, keyLength);
        instance.Guest("data_get", buffer, capacity);
        if (instance.Version.FindTable(tableName) is not { } found) return InvalidArgument;
        if (!found.Contents.Entries.TryGetValue(keyBytes, out var value)) return NotFound;
        return CopyOut(instance, "data_get", value, buffer, capacity);
    }

    private static void Log(Caller caller, int level, int message, int length)
    {
        var instance = Of(caller);
        var bytes = instance.Guest("log", message, length);
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

    private static void CounterAdd(Caller caller, int name, int length, long delta)
    {
        var instance = Of(caller);
        instance.Version.Counters.Add(instance.Guest("counter_add", name, length), delta);
    }
}

using Wasmtime;

namespace Ananas.Sandbox;

/// <summary>
/// The load-time check of a module against ABI v1 (docs/plugins.md, "Guest exports" and "Hostcalls"): every
/// required export with its exact signature, every import one of our hostcalls with its exact signature.
/// </summary>
internal static class AbiCheck
{
    public const int Version = 1;
    public const string ImportModule = "ananas";

    private const ValueKind I32 = ValueKind.Int32;
    private const ValueKind I64 = ValueKind.Int64;

    public static readonly IReadOnlyDictionary<string, (ValueKind[] Parameters, ValueKind[] Results)> Exports =
        new Dictionary<string, (ValueKind[], ValueKind[])>
        {
            ["ananas_abi_version"] = ([], [I32]),
            ["ananas_alloc"] = ([I32], [I32]),
            ["ananas_request_region"] = ([], [I32]),
            ["ananas_start"] = ([I32, I32], [I32]),
            ["ananas_trampoline"] = ([I32, I32], [I32]),
            ["ananas_wake"] = ([I32], [I32]),
        };

    public static readonly IReadOnlyDictionary<string, (ValueKind[] Parameters, ValueKind[] Results)> Hostcalls =
        new Dictionary<string, (ValueKind[], ValueKind[])>
        {
            ["register_callback"] = ([I32, I32], [I32]),
            ["request_edns_option"] = ([I32, I32, I32], [I32]),
            ["request_message"] = ([I32, I32], [I32]),
            ["response_set_rcode"] = ([I32], [I32]),
            ["response_set_flag"] = ([I32, I32], [I32]),
            ["response_clear"] = ([I32], [I32]),
            ["response_add_record"] = ([I32, I32, I32], [I32]),
            ["response_set_ede"] = ([I32, I32, I32], [I32]),
            ["response_record_count"] = ([I32], [I32]),
            ["response_read_record"] = ([I32, I32, I32, I32], [I32]),
            ["data_match_suffix"] = ([I32, I32, I32, I32], [I32]),
            ["data_get"] = ([I32, I32, I32, I32, I32, I32], [I32]),
            ["log"] = ([I32, I32, I32], []),
            ["counter_add"] = ([I32, I32, I64], []),
            ["now_unix_ms"] = ([], [I64]),
            ["monotonic_ms"] = ([], [I64]),
            ["timer_start"] = ([I32], [I32]),
            ["op_poll"] = ([I32], [I32]),
            ["op_wake_on"] = ([I32, I32], [I32]),
        };

    /// <summary>Every mismatch between the module and the ABI, each naming the export or import; empty when it conforms.</summary>
    public static List<string> Problems(Module module, bool allowFieldHostcalls = false)
    {
        var problems = new List<string>();
        var exports = new Dictionary<string, Export>();
        foreach (var e in module.Exports) exports[e.Name] = e;

        if (!exports.TryGetValue("memory", out var memory) || memory is not MemoryExport)
            problems.Add("export 'memory' (the linear memory) is missing");
        else if (((MemoryExport)memory).Is64Bit)
            problems.Add("export 'memory' is a 64-bit memory; ABI v1 needs a 32-bit one");

        foreach (var (name, (parameters, results)) in Exports)
        {
            if (!exports.TryGetValue(name, out var export))
                problems.Add($"export '{name}' is missing (expected {Describe(parameters, results)})");
            else if (export is not FunctionExport f)
                problems.Add($"export '{name}' is not a function (expected {Describe(parameters, results)})");
            else if (!Same(f.Parameters, parameters) || !Same(f.Results, results))
                problems.Add($"export '{name}' has signature {Describe(f.Parameters, f.Results)}, expected {Describe(parameters, results)}");
        }

        foreach (var import in module.Imports)
        {
            if (allowFieldHostcalls && import.ModuleName == Ananas.Sandbox.Hostcalls.FieldModule) continue;
            if (import.ModuleName != ImportModule)
                problems.Add($"import '{import.ModuleName}.{import.Name}' is not from module '{ImportModule}' (the only import module of ABI v1)");
            else if (!Hostcalls.TryGetValue(import.Name, out var signature) && !HpkeHostcalls.Signatures.TryGetValue(import.Name, out signature)
                && !FrameHostcalls.Signatures.TryGetValue(import.Name, out signature) && !SocketHostcalls.Signatures.TryGetValue(import.Name, out signature)
                && !BackgroundHostcalls.Signatures.TryGetValue(import.Name, out signature) && !TraceHostcalls.Signatures.TryGetValue(import.Name, out signature))
                problems.Add($"import '{ImportModule}.{import.Name}' is not a hostcall of ABI v1");
            else if (import is not FunctionImport f)
                problems.Add($"import '{ImportModule}.{import.Name}' must be a function {Describe(signature.Parameters, signature.Results)}");
            else if (!Same(f.Parameters, signature.Parameters) || !Same(f.Results, signature.Results))
                problems.Add($"import '{ImportModule}.{import.Name}' has signature {Describe(f.Parameters, f.Results)}, expected {Describe(signature.Parameters, signature.Results)}");
        }
        return problems;
    }

    private static bool Same(IReadOnlyList<ValueKind> actual, ValueKind[] expected)
    {
        if (actual.Count != expected.Length) return false;
        for (int i = 0; i < expected.Length; i++)
        {
            if (actual[i] != expected[i]) return false;
        }
        return true;
    }

    private static string Describe(IReadOnlyList<ValueKind> parameters, IReadOnlyList<ValueKind> results) =>
        $"({string.Join(", ", parameters.Select(Name))}) -> ({string.Join(", ", results.Select(Name))})";

    private static string Name(ValueKind kind) => kind switch
    {
        ValueKind.Int32 => "i32",
        ValueKind.Int64 => "i64",
        ValueKind.Float32 => "f32",
        ValueKind.Float64 => "f64",
        _ => kind.ToString(),
    };
}

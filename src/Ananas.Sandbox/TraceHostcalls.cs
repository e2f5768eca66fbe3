using System.Diagnostics;
using System.Text;
using Wasmtime;

namespace Ananas.Sandbox;

/// <summary>One tracing span a guest opened while handling a query: Stopwatch timestamps; <see cref="End"/> 0 while open.</summary>
public readonly record struct GuestSpan(string Plugin, string Name, long Start, long End);

/// <summary>
/// Tracing hostcalls (docs/plugins.md, "Tracing"): a guest brackets work inside a query callback with
/// <c>span_start</c>/<c>span_end</c>; the host keeps the spans with the query (<see cref="PluginCallContext.Spans"/>)
/// and the server writes them into that query's query-log line. Bounded per query and per plugin version.
/// </summary>
internal static class TraceHostcalls
{
    private const ValueKind I32 = ValueKind.Int32;

    public static readonly IReadOnlyDictionary<string, (ValueKind[] Parameters, ValueKind[] Results)> Signatures =
        new Dictionary<string, (ValueKind[], ValueKind[])>
        {
            ["span_start"] = ([I32, I32], [I32]),
            ["span_end"] = ([I32], [I32]),
        };

    public static void Define(Linker linker)
    {
        const string m = AbiCheck.ImportModule;
        linker.DefineFunction(m, "span_start", new Func<int, int, int>((name, length) =>
        {
            var instance = PluginInstance.Running;
            var bytes = instance.View().Range("span_start", name, length);
            if (instance.Context is not { } context) return -4;   // the start function or a background task: no query
            if (instance.Version.SpanNames.Intern(bytes) is not { } text) return -2;
            return context.StartSpan(instance.Version.Definition.Name, text, Stopwatch.GetTimestamp());
        }));
        linker.DefineFunction(m, "span_end", new Func<int, int>(handle =>
        {
            var instance = PluginInstance.Running;
            if (instance.Context is not { } context) return -4;
            return context.EndSpan(handle, Stopwatch.GetTimestamp()) ? 0 : -1;
        }));
    }
}

/// <summary>
/// The span names one plugin version used, as strings made once (a span then allocates nothing). Bounded like the
/// counters, so a guest cannot grow host memory with made-up names.
/// </summary>
internal sealed class SpanNames
{
    public const int MaxNames = 64;
    public const int MaxNameLength = 64;

    private readonly Lock _gate = new();
    private volatile (byte[] Bytes, string Text)[] _names = [];

    /// <summary>The name as a string; null when it is empty, too long, not UTF-8, or new while the table is full.</summary>
    public string? Intern(ReadOnlySpan<byte> name)
    {
        foreach (var (bytes, text) in _names)
            if (name.SequenceEqual(bytes)) return text;
        if (name.IsEmpty || name.Length > MaxNameLength) return null;
        string decoded;
        try
        {
            decoded = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(name);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        lock (_gate)
        {
            var names = _names;
            foreach (var (bytes, text) in names)
                if (name.SequenceEqual(bytes)) return text;
            if (names.Length >= MaxNames) return null;
            _names = [.. names, (name.ToArray(), decoded)];
            return decoded;
        }
    }
}

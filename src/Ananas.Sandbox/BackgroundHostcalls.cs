using System.Text;
using Wasmtime;

namespace Ananas.Sandbox;

/// <summary>
/// Hostcalls of background tasks (docs/plugins.md, "Background tasks"): register a periodic callback in the start
/// function, and refresh a host data table from an allow-listed URL (the list goes from the network into the host's
/// table, never through guest memory).
/// </summary>
internal static class BackgroundHostcalls
{
    /// <summary>Largest list a data_fetch_start may load.</summary>
    public const int MaxFetchBytes = 64 << 20;

    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(100);

    private const ValueKind I32 = ValueKind.Int32;

    public static readonly IReadOnlyDictionary<string, (ValueKind[] Parameters, ValueKind[] Results)> Signatures =
        new Dictionary<string, (ValueKind[], ValueKind[])>
        {
            ["register_periodic"] = ([I32, I32], [I32]),
            ["data_fetch_start"] = ([I32, I32, I32, I32], [I32]),
        };

    public static void Define(Linker linker)
    {
        const string m = AbiCheck.ImportModule;
        linker.DefineFunction(m, "register_periodic", new Func<int, int, int>((intervalMs, callbackId) =>
        {
            var instance = PluginInstance.Running;
            if (!instance.Starting) return -4;
            if (intervalMs < MinInterval.TotalMilliseconds || callbackId < 0) return -2;
            instance.Periodic.Add((TimeSpan.FromMilliseconds(intervalMs), callbackId));
            instance.Registrations.Add((PluginPhase.Background, callbackId));
            return 0;
        }));
        linker.DefineFunction(m, "data_fetch_start", new Func<int, int, int, int, int>(DataFetchStart));
    }

    /// <summary>GETs <c>url</c> (its origin on the http allow-list) and replaces table's contents; the result is the HTTP status (2 bytes).</summary>
    private static int DataFetchStart(int table, int tableLength, int url, int urlLength)
    {
        var instance = PluginInstance.Running;
        var memory = instance.View();
        var name = memory.Range("data_fetch_start", table, tableLength);
        var text = Encoding.UTF8.GetString(memory.Range("data_fetch_start", url, urlLength));
        if (instance.Context is null) return -4;
        if (instance.Version.FindTable(name) is not { } found) return -2;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")) return -2;
        if (!FrameHostcalls.Allowed(instance, uri)) return -4;
        if (!instance.ChargeTableRefresh()) return PluginInstance.LimitReached;
        var client = instance.Version.Host.HttpClient;
        var timeout = instance.Version.Host.Options.MaxTimer;
        return instance.StartOperation(token => FetchAsync(client, uri, found, timeout, token));
    }

    private static async Task<byte[]?> FetchAsync(HttpClient client, Uri uri, Data.WatchedDataTable table, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancel.CancelAfter(timeout);
        using var response = await client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancel.Token).ConfigureAwait(false);
        int status = (int)response.StatusCode;
        if (status == 200)
        {
            if (response.Content.Headers.ContentLength > MaxFetchBytes) return [0x01, 0xF5];   // 501: refused, table kept
            using var body = new MemoryStream();
            await using var stream = await response.Content.ReadAsStreamAsync(cancel.Token).ConfigureAwait(false);
            var buffer = new byte[81920];
            int n;
            while ((n = await stream.ReadAsync(buffer, cancel.Token).ConfigureAwait(false)) > 0)
            {
                if (body.Length + n > MaxFetchBytes) return [0x01, 0xF5];
                body.Write(buffer, 0, n);
            }
            table.Replace(body.ToArray(), uri.ToString());
        }
        return [(byte)(status >> 8), (byte)status];
    }
}

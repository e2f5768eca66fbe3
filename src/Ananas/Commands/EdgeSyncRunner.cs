using Ananas.Authoritative;
using Ananas.Authoritative.Store;
using Ananas.Authoritative.Sync;
using Ananas.Server.Configuration;
using Microsoft.Extensions.Logging;

namespace Ananas.Cli;

/// <summary>
/// <c>auth serve</c> with <c>authoritative.sync</c>: the edge follows the pipeline's change stream in the
/// background while it serves, and the server reloads its zone index when a change adds or re-heads a zone.
/// </summary>
internal static class EdgeSyncRunner
{
    public static NatsEdgeSync? Start(EdgeStore edge, ServerConfig settings, AuthoritativeSource source, ILoggerFactory loggerFactory,
        out (Task Running, CancellationTokenSource Stop)? syncing, CancellationToken cancellationToken)
    {
        syncing = null;
        if (settings.AuthoritativeSync.Length == 0) return null;
        string id = settings.AuthoritativeEdgeId.Length > 0 ? settings.AuthoritativeEdgeId : EdgeIdFromHostName();
        var snapshots = settings.AuthoritativeSnapshotApi.Length == 0 ? null
            : new HttpEdgeSnapshotSource(new Uri(settings.AuthoritativeSnapshotApi), settings.AuthoritativeSnapshotToken);
        var sync = new NatsEdgeSync(edge, settings.AuthoritativeSync, id, snapshots, loggerFactory.CreateLogger("Ananas.Authoritative.Sync"))
        {
            ZonesChanged = () => source.Answerer.Refresh(),
        };
        source.Sync = sync;
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        syncing = (sync.RunAsync(stop.Token), stop);
        return sync;
    }

    public static async Task StopAsync((Task Running, CancellationTokenSource Stop)? syncing)
    {
        if (syncing is not { } s) return;
        s.Stop.Cancel();
        await s.Running;
        s.Stop.Dispose();
    }

    /// <summary>The default edge id: the host name with every character a consumer name cannot hold as '-'.</summary>
    public static string EdgeIdFromHostName() =>
        new([.. System.Net.Dns.GetHostName().Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').Take(64)]);
}

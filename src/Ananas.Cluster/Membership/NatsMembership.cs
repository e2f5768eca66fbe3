using System.Net;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using NATS.Net;

namespace Ananas.Cluster.Membership;

/// <summary>
/// Membership from a NATS JetStream key-value bucket: this node puts <c>id → cluster.listen</c> every third of the
/// lease, and reads the bucket as often; a member whose entry is older than the lease (by the NATS server's clock,
/// compared with our own latest put, so node clocks do not matter) has stopped renewing and drops out. The bucket
/// keeps entries for the lease (<c>MaxAge</c>), so it never grows with nodes long gone. A fleet grows without a
/// configuration change. When NATS is unreachable the last known members stay.
/// </summary>
internal sealed class NatsMembership : IAsyncDisposable
{
    private readonly ClusterOptions _options;
    private readonly string _address;
    private readonly Func<IReadOnlyList<(string Id, IPEndPoint Address)>, Task> _apply;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private string _last = "";

    private NatsMembership(ClusterOptions options, IPEndPoint address, Func<IReadOnlyList<(string, IPEndPoint)>, Task> apply, ILogger logger)
    {
        _options = options;
        _address = address.ToString();
        _apply = apply;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    public static NatsMembership Start(ClusterOptions options, IPEndPoint address, Func<IReadOnlyList<(string, IPEndPoint)>, Task> apply, ILogger logger) =>
        new(options, address, apply, logger);

    private async Task RunAsync()
    {
        var period = _options.Lease / 3;
        bool reported = false;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await using var nats = new NatsClient(new NatsOpts { Url = _options.NatsUrl, Name = $"ananas-{_options.NodeId}", ConnectTimeout = TimeSpan.FromSeconds(2) });
                var kv = nats.CreateKeyValueStoreContext();
                var store = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(_options.NatsBucket) { History = 1, MaxAge = _options.Lease }, _stop.Token).ConfigureAwait(false);
                reported = false;
                while (!_stop.IsCancellationRequested)
                {
                    await store.PutAsync(_options.NodeId, _address, cancellationToken: _stop.Token).ConfigureAwait(false);
                    var mine = await store.GetEntryAsync<string>(_options.NodeId, cancellationToken: _stop.Token).ConfigureAwait(false);
                    var members = new List<(string, IPEndPoint)>();
                    await foreach (var key in store.GetKeysAsync(cancellationToken: _stop.Token).ConfigureAwait(false))
                    {
                        NatsKVEntry<string> entry;
                        try
                        {
                            entry = await store.GetEntryAsync<string>(key, cancellationToken: _stop.Token).ConfigureAwait(false);
                        }
                        catch (NatsKVKeyNotFoundException)
                        {
                            continue;
                        }
                        catch (NatsKVKeyDeletedException)
                        {
                            continue;
                        }
                        if (mine.Created - entry.Created > _options.Lease) continue;
                        if (entry.Value is { } text && IPEndPoint.TryParse(text, out var endPoint) && endPoint.Port != 0) members.Add((key, endPoint));
                    }
                    string view = string.Join(",", members.OrderBy(m => m.Item1, StringComparer.Ordinal));
                    if (view != _last)
                    {
                        _last = view;
                        await _apply(members).ConfigureAwait(false);
                    }
                    await Task.Delay(period, _stop.Token).ConfigureAwait(false);
                }
                await store.DeleteAsync(_options.NodeId).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NatsException or TimeoutException or OperationCanceledException or IOException)
            {
                if (!reported) _logger.LogWarning(ClusterEvents.MembershipFailed, "cluster membership: NATS at {Url} failed ({Error}); the last known members stay, retrying", _options.NatsUrl, e.Message);
                reported = true;
                try
                {
                    await Task.Delay(period, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
    }
}

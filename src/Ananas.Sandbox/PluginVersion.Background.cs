namespace Ananas.Sandbox;

/// <summary>
/// Background tasks (docs/plugins.md, "Background tasks"): callbacks the start function registered with
/// register_periodic run once when the version becomes current and then every interval, each on a leased
/// instance like a query's callback (same CPU budget, faults and quarantine), until the version is replaced or
/// unloaded, which cancels them (a running one is abandoned).
/// </summary>
internal sealed partial class PluginVersion
{
    private CancellationTokenSource? _background;

    /// <summary>(interval, callback id) registered by the first instance's start function.</summary>
    public IReadOnlyList<(TimeSpan Interval, int CallbackId)> Periodic { get; private set; } = [];

    public void StartBackground()
    {
        if (Periodic.Count == 0 || _background is not null) return;
        _background = new CancellationTokenSource();
        foreach (var (interval, id) in Periodic) _ = RunPeriodicAsync(interval, id, _background.Token);
    }

    public void StopBackground() => _background?.Cancel();

    private async Task RunPeriodicAsync(TimeSpan interval, int callbackId, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (!_quarantined && TryAcquire())
                {
                    try
                    {
                        await RunAsync(PluginPhase.Background, new PluginCallContext(), cancellationToken, callbackId).ConfigureAwait(false);
                    }
                    finally
                    {
                        Release();
                    }
                }
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}

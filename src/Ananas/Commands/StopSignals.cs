using System.Runtime.InteropServices;

namespace Ananas.Cli;

/// <summary>
/// Waits for Ctrl-C or SIGTERM (or the caller's token) so a service can stop gracefully: the default handling would
/// end the process at once, dropping the queries in flight.
/// </summary>
internal static class StopSignals
{
    public static async Task WaitAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

namespace Ananas.Sandbox;

/// <summary>
/// The host-side work one callback may cause (docs/SECURITY.md, "Sandbox"): its CPU is budgeted inside the guest,
/// but each record added, timer armed or data table refreshed costs host memory and time outside it. Counted per callback (reset by
/// <see cref="BeginCall"/>, not by a wake); beyond a bound the hostcall returns <see cref="LimitReached"/> and the
/// callback is a fault.
/// </summary>
internal sealed partial class PluginInstance
{
    /// <summary>Hostcall result when a per-callback host-work bound is reached.</summary>
    public const int LimitReached = -5;

    /// <summary>Records one callback may add to a response (a 64 KiB message holds about 5,000 of the smallest).</summary>
    public const int MaxRecordsPerCallback = 1_000;

    /// <summary>Timers one callback may start, re-arms included (each is a host timer and task).</summary>
    public const int MaxTimersPerCallback = 64;

    /// <summary>Data-table refreshes one callback may start: each writes at most <see cref="BackgroundHostcalls.MaxFetchBytes"/>.</summary>
    public const int MaxTableRefreshesPerCallback = 4;

    private int _recordsAdded;
    private int _timersStarted;
    private int _tableRefreshes;

    /// <summary>The bound this callback overran first, for the fault; null while within every bound.</summary>
    public string? HostWorkOverrun { get; private set; }

    private void ResetHostWork()
    {
        _recordsAdded = 0;
        _timersStarted = 0;
        _tableRefreshes = 0;
        HostWorkOverrun = null;
    }

    /// <summary>Charges one added record; false (and an overrun) beyond <see cref="MaxRecordsPerCallback"/>.</summary>
    public bool ChargeRecord() => Charge(ref _recordsAdded, MaxRecordsPerCallback, "records added");

    /// <summary>Charges one started timer; false (and an overrun) beyond <see cref="MaxTimersPerCallback"/>.</summary>
    public bool ChargeTimer() => Charge(ref _timersStarted, MaxTimersPerCallback, "timers started");

    /// <summary>Charges one data-table refresh; false (and an overrun) beyond <see cref="MaxTableRefreshesPerCallback"/>.</summary>
    public bool ChargeTableRefresh() => Charge(ref _tableRefreshes, MaxTableRefreshesPerCallback, "data-table refreshes started");

    private bool Charge(ref int used, int bound, string what)
    {
        if (used >= bound)
        {
            HostWorkOverrun ??= $"more than {bound} {what} in one callback (host-work bound)";
            return false;
        }
        used++;
        return true;
    }
}

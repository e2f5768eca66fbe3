using System.Globalization;
using Ananas.Resolver;

namespace Ananas.Scenarios.Replay;

/// <summary>The scenario's fake clock: starts at the configured instant and moves only with <c>TIME_PASSES</c>.</summary>
public sealed class VirtualClock(DateTimeOffset start) : IClock
{
    /// <summary>Start time when a scenario sets none (deckard would use real time; a fixed instant keeps runs reproducible).</summary>
    public static readonly DateTimeOffset DefaultEpoch = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private long _ticks = start.UtcTicks;

    public DateTimeOffset UtcNow => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    /// <summary>
    /// Never fires on its own: time moves only between queries (<c>TIME_PASSES</c>), so within a query the serve-stale
    /// client timer does not expire; cancelling it ends it.
    /// </summary>
    public Task Delay(TimeSpan delay, CancellationToken cancellationToken) => Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);

    public void Advance(TimeSpan by)
    {
        if (by < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(by), "time does not go backwards");
        Interlocked.Add(ref _ticks, by.Ticks);
    }

    /// <summary>Parses <c>val-override-date</c> (<c>YYYYMMDDHHMMSS</c>, UTC).</summary>
    public static bool TryParseOverrideDate(string text, out DateTimeOffset instant) =>
        DateTimeOffset.TryParseExact(text.Trim(), "yyyyMMddHHmmss", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out instant);

    /// <summary>Parses <c>val-override-timestamp</c> (POSIX seconds).</summary>
    public static bool TryParseTimestamp(string text, out DateTimeOffset instant)
    {
        instant = default;
        if (!long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long seconds)) return false;
        instant = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
    }
}

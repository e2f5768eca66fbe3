using Ananas.Resolver;

namespace Ananas.Server.Tests.Fakes;

/// <summary>A clock that moves only when told to.</summary>
public sealed class VirtualClock : IClock
{
    private long _ticks = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks;

    public DateTimeOffset UtcNow => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

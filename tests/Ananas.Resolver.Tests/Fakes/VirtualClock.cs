using Ananas.Resolver;

namespace Ananas.Resolver.Tests.Fakes;

/// <summary>A clock that moves only when told to.</summary>
public sealed class VirtualClock(DateTimeOffset start) : IClock
{
    public VirtualClock() : this(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)) { }

    public DateTimeOffset UtcNow { get; private set; } = start;

    public void Advance(TimeSpan by) => UtcNow += by;
}

using Ananas.Resolver;

namespace Ananas.Resolver.Tests.Fakes;

/// <summary>A clock that moves only when told to.</summary>
public sealed class VirtualClock : IClock
{
    public DateTimeOffset UtcNow { get; private set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public void Advance(TimeSpan by) => UtcNow += by;
}

namespace Ananas.Resolver.Tests.Cache;

/// <summary>A virtual clock the test moves by hand.</summary>
internal sealed class FakeClock(DateTimeOffset start) : IClock
{
    public FakeClock() : this(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero)) { }

    public DateTimeOffset UtcNow { get; private set; } = start;

    public void Advance(TimeSpan by) => UtcNow += by;
}

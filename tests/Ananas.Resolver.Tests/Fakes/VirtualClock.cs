using Ananas.Resolver;

namespace Ananas.Resolver.Tests.Fakes;

/// <summary>A clock that moves only when told to.</summary>
public sealed class VirtualClock(DateTimeOffset start) : IClock
{
    public VirtualClock() : this(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)) { }

    public DateTimeOffset UtcNow { get; private set; } = start;

    public void Advance(TimeSpan by) => UtcNow += by;

    /// <summary>What <see cref="Delay"/> does (the serve-stale client timer); real time unless a test decides when it fires.</summary>
    public Func<TimeSpan, CancellationToken, Task> Timer { get; set; } = Task.Delay;

    public Task Delay(TimeSpan delay, CancellationToken cancellationToken) => Timer(delay, cancellationToken);

    /// <summary>A timer that never fires on its own (cancelling it ends it).</summary>
    public static Task NeverFires(TimeSpan delay, CancellationToken cancellationToken) => Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
}

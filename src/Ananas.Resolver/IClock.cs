namespace Ananas.Resolver;

/// <summary>The time, injected so that scenarios and tests can run on a virtual clock.</summary>
public interface IClock
{
    DateTimeOffset UtcNow { get; }

    /// <summary>
    /// Completes after <paramref name="delay"/> of this clock's time (the serve-stale client response timer); real time
    /// unless a virtual clock decides otherwise.
    /// </summary>
    Task Delay(TimeSpan delay, CancellationToken cancellationToken) => Task.Delay(delay, cancellationToken);
}

/// <summary>The real wall clock.</summary>
public sealed class SystemClock : IClock
{
    public static readonly SystemClock Instance = new();

    public DateTimeOffset UtcNow => DateTimeOffset.UtcNow;
}

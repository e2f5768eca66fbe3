namespace Ananas.Resolver;

/// <summary>The time, injected so that scenarios and tests can run on a virtual clock.</summary>
public interface IClock
{
    DateTimeOffset UtcNow { get; }
}

/// <summary>The real wall clock.</summary>
public sealed class SystemClock : IClock
{
    public static readonly SystemClock Instance = new();

    public DateTimeOffset UtcNow => DateTimeOffset.UtcNow;
}

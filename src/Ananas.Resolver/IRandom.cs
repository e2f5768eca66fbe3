using System.Security.Cryptography;

namespace Ananas.Resolver;

/// <summary>Randomness, injected so that scenarios replay deterministically.</summary>
public interface IRandom
{
    /// <summary>A value in [0, maxExclusive).</summary>
    int Next(int maxExclusive);
}

/// <summary>Cryptographically strong randomness (IDs and ports must not be predictable).</summary>
public sealed class SecureRandom : IRandom
{
    public static readonly SecureRandom Instance = new();

    public int Next(int maxExclusive) => RandomNumberGenerator.GetInt32(maxExclusive);
}

/// <summary>Seeded randomness for tests and scenario replay.</summary>
public sealed class SeededRandom(int seed) : IRandom
{
    private readonly Random _random = new(seed);

    public int Next(int maxExclusive)
    {
        lock (_random) return _random.Next(maxExclusive);
    }
}

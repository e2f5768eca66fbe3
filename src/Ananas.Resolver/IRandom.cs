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

    public int Next(int maxExclusive) => SecureRandomBytes.NextInt32(maxExclusive);
}

/// <summary>
/// Bytes of the system's cryptographically strong generator (<see cref="RandomNumberGenerator"/>), drawn a block at a
/// time per thread and each handed out once: every upstream exchange needs a few (ID, 0x20 case, server choice), and
/// one call into the generator per need cost more than the bytes.
/// </summary>
public static class SecureRandomBytes
{
    private const int BlockSize = 512;

    [ThreadStatic] private static byte[]? t_block;
    [ThreadStatic] private static int t_used;

    /// <summary>Fills <paramref name="destination"/> with random bytes.</summary>
    public static void Fill(Span<byte> destination)
    {
        if (destination.Length > BlockSize / 4)
        {
            RandomNumberGenerator.Fill(destination);
            return;
        }
        var block = t_block ??= new byte[BlockSize];
        if (t_used == 0 || t_used + destination.Length > BlockSize)
        {
            RandomNumberGenerator.Fill(block);
            t_used = 0;
        }
        var taken = block.AsSpan(t_used, destination.Length);
        taken.CopyTo(destination);
        taken.Clear(); // used once: not left behind to be read again
        t_used += destination.Length;
    }

    /// <summary>A uniform value in [0, <paramref name="maxExclusive"/>).</summary>
    public static int NextInt32(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        if (maxExclusive == 1) return 0;
        // Rejection sampling over the smallest power-of-two range that holds the bound: no modulo bias.
        uint mask = uint.MaxValue >> System.Numerics.BitOperations.LeadingZeroCount((uint)(maxExclusive - 1));
        Span<byte> bytes = stackalloc byte[4];
        while (true)
        {
            Fill(bytes);
            uint value = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes) & mask;
            if (value < (uint)maxExclusive) return (int)value;
        }
    }
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

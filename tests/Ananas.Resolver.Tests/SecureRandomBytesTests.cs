namespace Ananas.Resolver.Tests;

/// <summary>The block-buffered strong generator hands out each byte once, covers ranges without bias and serves any size.</summary>
public sealed class SecureRandomBytesTests
{
    [Fact]
    public void Consecutive_draws_do_not_repeat_the_bytes_of_the_block()
    {
        // 2,000 two-byte IDs (several blocks): a byte handed out twice would show as runs of equal IDs.
        var ids = new HashSet<ushort>();
        Span<byte> id = stackalloc byte[2];
        int repeats = 0;
        for (int i = 0; i < 2000; i++)
        {
            SecureRandomBytes.Fill(id);
            if (!ids.Add((ushort)(id[0] | id[1] << 8))) repeats++;
        }
        // Birthday bound for 2,000 draws of 65,536 values: about 30 collisions expected; 100 is far beyond chance.
        Assert.InRange(repeats, 0, 100);
    }

    [Fact]
    public void Values_below_a_bound_that_is_not_a_power_of_two_are_spread_evenly_over_it()
    {
        const int bound = 3, draws = 30_000;
        var counts = new int[bound];
        for (int i = 0; i < draws; i++) counts[SecureRandomBytes.NextInt32(bound)]++;
        // A modulo over 2^32 would be off by far less; a wrong mask or range check leaves a value out or doubles one.
        foreach (int c in counts) Assert.InRange(c, draws / bound - 600, draws / bound + 600);
        Assert.Equal(0, SecureRandomBytes.NextInt32(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SecureRandomBytes.NextInt32(0));
    }

    [Fact]
    public void A_fill_larger_than_the_block_and_fills_that_cross_block_ends_are_random_throughout()
    {
        var large = new byte[4096];
        SecureRandomBytes.Fill(large);
        Assert.True(large.Distinct().Count() > 200);
        for (int i = 0; i < 100; i++)
        {
            var odd = new byte[37];
            SecureRandomBytes.Fill(odd);
            Assert.True(odd.Distinct().Count() > 20, "a fill taken across a block end came back mostly zero");
        }
    }

    [Fact]
    public async Task Threads_draw_from_blocks_of_their_own()
    {
        var values = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            var bytes = new byte[64];
            SecureRandomBytes.Fill(bytes);
            return Convert.ToHexString(bytes);
        })));
        Assert.Equal(values.Length, values.Distinct().Count());
    }
}

namespace Ananas.Cluster.Tests;

/// <summary>Rendezvous hashing: every node agrees on a key's owners, load spreads evenly, and a node leaving moves only its own keys.</summary>
public sealed class RendezvousTests
{
    private static int Owner(string key, string[] nodes)
    {
        Span<int> order = stackalloc int[1];
        Rendezvous.Rank(Rendezvous.HashKey(key), nodes.Select(Rendezvous.HashNode).ToArray(), order, 1);
        return order[0];
    }

    [Fact]
    public void Keys_spread_evenly_over_four_nodes()
    {
        string[] nodes = ["n1", "n2", "n3", "n4"];
        var counts = new int[4];
        for (int i = 0; i < 20_000; i++) counts[Owner($"d{i}.test", nodes)]++;
        foreach (var count in counts) Assert.InRange(count, 4_600, 5_400); // 25 % ± 2 points
    }

    [Fact]
    public void A_node_leaving_moves_only_the_keys_it_owned()
    {
        string[] four = ["n1", "n2", "n3", "n4"];
        string[] three = ["n1", "n2", "n4"];
        int moved = 0;
        for (int i = 0; i < 10_000; i++)
        {
            var key = $"d{i}.test";
            var before = four[Owner(key, four)];
            var after = three[Owner(key, three)];
            if (before != "n3") Assert.Equal(before, after);
            else moved++;
        }
        Assert.InRange(moved, 2_000, 3_000);
    }

    [Fact]
    public void The_ranking_lists_distinct_nodes_best_first_and_does_not_depend_on_their_order()
    {
        string[] nodes = ["a", "b", "c", "d", "e"];
        var hashes = nodes.Select(Rendezvous.HashNode).ToArray();
        var reversed = hashes.Reverse().ToArray();
        ulong key = Rendezvous.HashKey("example.com");
        Span<int> order = stackalloc int[3];
        Span<int> orderReversed = stackalloc int[3];
        Assert.Equal(3, Rendezvous.Rank(key, hashes, order, 3));
        Rendezvous.Rank(key, reversed, orderReversed, 3);
        for (int i = 0; i < 3; i++) Assert.Equal(nodes[order[i]], nodes[nodes.Length - 1 - orderReversed[i]]);
        Assert.Equal(3, new HashSet<int>(order.ToArray()).Count);
        Assert.True(Rendezvous.Score(key, hashes[order[0]]) > Rendezvous.Score(key, hashes[order[1]]));
        Assert.True(Rendezvous.Score(key, hashes[order[1]]) > Rendezvous.Score(key, hashes[order[2]]));
    }
}

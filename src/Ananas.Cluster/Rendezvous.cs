using System.Text;

namespace Ananas.Cluster;

/// <summary>
/// Rendezvous (highest random weight) hashing: a key's owners are the nodes with the highest scores
/// <c>mix(hash(key) ^ hash(node))</c>. Every node computes the same order from the same ids, a node leaving moves
/// only its own keys (to each key's next node), and no ring of virtual nodes is needed. The hash is fixed (FNV-1a
/// with a SplitMix64 finaliser), not per-process seeded, because every node must agree on it.
/// </summary>
public static class Rendezvous
{
    /// <summary>The key's hash (of its text's UTF-8 bytes).</summary>
    public static ulong HashKey(string key) => Mix(Fnv1a(Encoding.UTF8.GetBytes(key)));

    /// <summary>A node's seed from its id.</summary>
    public static ulong HashNode(string id) => Fnv1a(Encoding.UTF8.GetBytes(id)) * 0x9E3779B97F4A7C15UL;

    public static ulong Score(ulong keyHash, ulong nodeHash) => Mix(keyHash ^ nodeHash);

    /// <summary>
    /// Writes the indexes of the <paramref name="count"/> best-scoring of <paramref name="nodeHashes"/> (highest first)
    /// into <paramref name="order"/>; returns how many were written (fewer when there are fewer nodes).
    /// </summary>
    public static int Rank(ulong keyHash, ReadOnlySpan<ulong> nodeHashes, Span<int> order, int count)
    {
        count = Math.Min(count, Math.Min(nodeHashes.Length, order.Length));
        Span<ulong> best = stackalloc ulong[count];
        int filled = 0;
        for (int i = 0; i < nodeHashes.Length; i++)
        {
            ulong score = Score(keyHash, nodeHashes[i]);
            // Insertion into the short sorted top list (replicas are few).
            int at = filled;
            while (at > 0 && best[at - 1] < score) at--;
            if (at >= count) continue;
            int last = Math.Min(filled, count - 1);
            for (int j = last; j > at; j--)
            {
                best[j] = best[j - 1];
                order[j] = order[j - 1];
            }
            best[at] = score;
            order[at] = i;
            if (filled < count) filled++;
        }
        return filled;
    }

    private static ulong Fnv1a(ReadOnlySpan<byte> bytes)
    {
        ulong hash = 0xCBF29CE484222325UL;
        foreach (var b in bytes)
        {
            hash ^= b;
            hash *= 0x100000001B3UL;
        }
        return hash;
    }

    /// <summary>SplitMix64's finaliser: every input bit affects every output bit.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

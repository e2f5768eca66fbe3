using System.Security.Cryptography;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Resolver.Dnssec;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>
/// The DS × DNSKEY digest loop (a KeyTrap variant): keys sharing one tag times DS records sharing it would cost a
/// digest per pair; at most <see cref="DnssecLimits.MaxDsDigestFailures"/> failed digests per query are allowed, and the
/// next failure ends the digests (Unbound's MAX_DS_MATCH_FAILURES).
/// </summary>
public sealed class DsDigestBoundTests
{
    private static readonly DnsName Zone = DnsName.Parse("dstrap.");

    [Fact]
    public void Five_hundred_keys_with_one_tag_and_a_thousand_DS_cost_at_most_five_failed_digests()
    {
        var keys = new List<DnskeyData>();
        var first = new DnskeyData(256, 3, 13, RandomNumberGenerator.GetBytes(64));
        for (int i = 0; keys.Count < 500; i++)
        {
            // Same tag as the first key: change the last two octets until the tag agrees (each pair of octets is one
            // 16-bit word of the tag's sum, so one value of it always does).
            var key = RandomNumberGenerator.GetBytes(64);
            for (int word = 0; word <= 0xFFFF; word++)
            {
                key[62] = (byte)(word >> 8);
                key[63] = (byte)word;
                var candidate = new DnskeyData(256, 3, 13, key);
                if (candidate.KeyTag != first.KeyTag) continue;
                keys.Add(candidate);
                break;
            }
        }
        var dsSet = new List<DsData>();
        for (int i = 0; i < 1000; i++) dsSet.Add(new DsData(RRType.DS, first.KeyTag, 13, DsMatcher.Sha256, RandomNumberGenerator.GetBytes(32)));
        var budget = new ValidationBudget();

        var selection = DsMatcher.SelectKeys(Zone, keys, dsSet, DnssecAlgorithmRegistry.Default, budget);

        Assert.Equal(DsSelectionStatus.NoMatchingKey, selection.Status);
        Assert.Equal(DnssecLimits.Default.MaxDsDigestFailures + 1, budget.DsDigestFailures);
        Assert.Contains(Limits.Describe("DS digest failure", DnssecLimits.Default.MaxDsDigestFailures), selection.Reason);
        Assert.True(budget.DigestBoundReachedByOneKeySet);
    }

    [Fact]
    public void A_key_set_within_the_bound_still_finds_its_matching_key()
    {
        var real = new DnskeyData(257, 3, 13, RandomNumberGenerator.GetBytes(64));
        var realDs = new DsData(RRType.DS, real.KeyTag, 13, DsMatcher.Sha256, DsMatcher.ComputeDigest(Zone, real, DsMatcher.Sha256)!);
        // Three stale DS with the same tag ahead of the real one: three failures, under the bound.
        var dsSet = new List<DsData>();
        for (int i = 0; i < 3; i++) dsSet.Add(new DsData(RRType.DS, real.KeyTag, 13, DsMatcher.Sha256, RandomNumberGenerator.GetBytes(32)));
        dsSet.Add(realDs);
        var budget = new ValidationBudget();

        var selection = DsMatcher.SelectKeys(Zone, [real], dsSet, DnssecAlgorithmRegistry.Default, budget);

        Assert.Equal(DsSelectionStatus.KeysMatched, selection.Status);
        Assert.Equal(3, budget.DsDigestFailures);
        Assert.Null(budget.Exhausted);
    }

    [Fact]
    public void Four_keys_sharing_the_real_keys_tag_ahead_of_it_still_let_its_DS_find_it()
    {
        // A DNSKEY RRset in the order a server may send it: four keys colliding with the real one's tag first. Unbound
        // and Knot Resolver validate this zone (bench/lab/dnssec-mutations, keytrap 4 keys): four failed digests are allowed.
        var real = new DnskeyData(257, 3, 13, RandomNumberGenerator.GetBytes(64));
        var keys = new List<DnskeyData>();
        for (int seed = 0; keys.Count < 4; seed++) keys.Add(KeyWithTag(real.KeyTag, seed));
        keys.Add(real);
        var ds = new DsData(RRType.DS, real.KeyTag, 13, DsMatcher.Sha256, DsMatcher.ComputeDigest(Zone, real, DsMatcher.Sha256)!);
        var budget = new ValidationBudget();

        var selection = DsMatcher.SelectKeys(Zone, keys, [ds], DnssecAlgorithmRegistry.Default, budget);

        Assert.Equal(DsSelectionStatus.KeysMatched, selection.Status);
        Assert.Equal([real], selection.Keys);
        Assert.Equal(4, budget.DsDigestFailures);
        Assert.Null(budget.Exhausted);

        // A fifth colliding key ahead of it is one failure too many: the digests stop before the real key.
        keys.Insert(0, KeyWithTag(real.KeyTag, 99));
        var hostile = DsMatcher.SelectKeys(Zone, keys, [ds], DnssecAlgorithmRegistry.Default, new ValidationBudget());
        Assert.Equal(DsSelectionStatus.NoMatchingKey, hostile.Status);
    }

    /// <summary>An ECDSA P-256 zone key (random octets: only digested here) whose key tag is <paramref name="tag"/>.</summary>
    private static DnskeyData KeyWithTag(ushort tag, int seed)
    {
        var bytes = new byte[64];
        new Random(seed).NextBytes(bytes);
        for (int word = 0; word <= 0xFFFF; word++)
        {
            bytes[62] = (byte)(word >> 8);
            bytes[63] = (byte)word;
            var key = new DnskeyData(257, 3, 13, (byte[])bytes.Clone());
            if (key.KeyTag == tag) return key;
        }
        throw new InvalidOperationException("no such key");
    }
}

using System.Security.Cryptography;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Resolver.Dnssec;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>
/// The DS × DNSKEY digest loop (a KeyTrap variant): keys sharing one tag times DS records sharing it would cost a
/// digest per pair; at most <see cref="DnssecLimits.MaxDsDigestFailures"/> failed digests per query are computed.
/// </summary>
public sealed class DsDigestBoundTests
{
    private static readonly DnsName Zone = DnsName.Parse("dstrap.");

    [Fact]
    public void Five_hundred_keys_with_one_tag_and_a_thousand_DS_cost_at_most_four_failed_digests()
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
        Assert.Equal(DnssecLimits.Default.MaxDsDigestFailures, budget.DsDigestFailures);
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
}
